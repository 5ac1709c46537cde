/**
 * sudo -n refuses rather than prompt (sudo(8): -n, non-interactive): "a password is required" when
 * the SSH user has no NOPASSWD grant. That refusal, said with the fix, instead of reported as the
 * command's own failure.
 */
export function sudoRefusal(
  target: { readonly label: string; readonly user: string; readonly sudo: boolean },
  code: number,
  stderr: string,
): string | undefined {
  if (!target.sudo || code === 0) return undefined;
  const said = /^sudo: (a password is required|a terminal is required[^\n]*)$/m.exec(stderr)?.[0];
  if (!said) return undefined;
  const user = target.user;
  return (
    `${target.label}: sudo refused to run commands for ${user} without a password ("${said}"): a non-root user runs every command through \`sudo -n\`, which never prompts. ` +
    `Fix: allow it on the host (echo '${user} ALL=(root) NOPASSWD: ALL' > /etc/sudoers.d/${user}; chmod 0440 /etc/sudoers.d/${user}), or connect as root (connection.user)`
  );
}
