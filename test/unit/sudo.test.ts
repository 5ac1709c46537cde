import { sudoRefusal } from '../../lib/transport/sudo';

describe('sudo -n refusing for want of a password', () => {
  const target = { label: 'mx1.example.org', user: 'deploy', sudo: true };

  it("is said with the user, sudo's words and the fix", () => {
    const m = sudoRefusal(target, 1, 'sudo: a password is required\n');
    expect(m).toBe(
      'mx1.example.org: sudo refused to run commands for deploy without a password ("sudo: a password is required"): a non-root user runs every command through `sudo -n`, which never prompts. ' +
        "Fix: allow it on the host (echo 'deploy ALL=(root) NOPASSWD: ALL' > /etc/sudoers.d/deploy; chmod 0440 /etc/sudoers.d/deploy), or connect as root (connection.user)",
    );
    expect(
      sudoRefusal(
        target,
        1,
        'sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\n',
      ),
    ).toContain('("sudo: a terminal is required to read the password;');
  });

  it("is not claimed for anything else: success, no sudo, or the command's own failure", () => {
    expect(sudoRefusal(target, 0, 'sudo: a password is required\n')).toBeUndefined();
    expect(sudoRefusal({ ...target, sudo: false }, 1, 'sudo: a password is required\n')).toBeUndefined();
    expect(sudoRefusal(target, 1, 'postfix/postfix-script: fatal: the Postfix mail system is not running\n')).toBeUndefined();
    expect(sudoRefusal(target, 1, 'warning: message mentions sudo: a password is required inside\n')).toBeUndefined();
  });
});
