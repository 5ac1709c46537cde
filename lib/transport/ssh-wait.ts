/**
 * Wait for SSH on a host that is still booting (e.g. a VM created earlier in the same deploy):
 * retry with backoff until a time limit, one progress line per failed attempt, and fail with the
 * last error. Only errors the caller calls retryable are retried: a host key refusal is a security
 * failure, never a boot delay.
 */

/** Delay before retry n (0-based): 1, 2, 4, 8 s, then every 10 s. */
export function backoffMs(attempt: number): number {
  return Math.min(1000 * 2 ** attempt, 10000);
}

/**
 * Run attempt() until it resolves, it throws something retryable() returns undefined for, or
 * target.waitTimeoutMs has passed since the first attempt (then the last error is thrown).
 */
export async function withSshWait<T>(
  target: { readonly label: string; readonly hostName: string; readonly port: number; readonly waitTimeoutMs: number },
  attempt: () => Promise<T>,
  retryable: (e: unknown) => string | undefined,
  progress: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<T> {
  const started = Date.now();
  const limitS = Math.round(target.waitTimeoutMs / 1000);
  const where = target.hostName.includes(':') ? `[${target.hostName}]:${target.port}` : `${target.hostName}:${target.port}`;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      const reason = retryable(e);
      const elapsed = Date.now() - started;
      const delay = Math.min(backoffMs(n), target.waitTimeoutMs - elapsed);
      if (reason === undefined) throw e;
      if (delay <= 0) {
        if (n > 0 && e instanceof Error)
          e.message += ` (gave up after ${n + 1} attempts in ${Math.round(elapsed / 1000)} s of waiting for SSH; if the host needs longer to boot, raise connection.waitTimeoutSeconds or CDKTF_POSTFIX_SSH_WAIT)`;
        throw e;
      }
      progress(`waiting for ssh on ${where} (${reason}), ${Math.round(elapsed / 1000)} s of ${limitS} s`);
      await sleep(delay);
    }
  }
}
