import { ApplyError } from '../errors';
import { SshError } from '../transport/ssh';
import { HostReport } from './apply';

/** One host's report for people: what changed, what ran, how long it took. */
export function formatReport(r: HostReport): string {
  const head = `${r.host} (${r.target}): ${r.result} in ${r.durationMs} ms`;
  const lines = [head];
  for (const c of r.changed) lines.push(`  ~ ${c.kind === 'main' ? 'main.cf' : c.kind === 'master' ? 'master.cf' : 'file'} ${c.name}`);
  for (const cmd of r.ran) lines.push(`  $ ${cmd}`);
  for (const t of r.tlsChecks ?? []) {
    lines.push(
      `  tls :${t.target.port} ${t.ok ? 'ok' : 'FAILED'} ${t.protocol ?? '-'} ${t.cipher ?? '-'}${t.keyExchange ? ` ${t.keyExchange.group ?? ''} ${t.keyExchange.bits ?? ''}`.trimEnd() : ''}`,
    );
  }
  if (r.error) lines.push(`  ! ${r.error}`);
  return lines.join('\n');
}

/** The transaction's steps in order (lib/apply/remote/transaction.sh says `step NAME` after each). */
const TRANSACTION_STEPS = ['lock', 'plan', 'backup', 'validate', 'files', 'swap', 'reload'];

/** What was thrown behind a failed report (the report itself stays plain JSON). */
const causes = new WeakMap<HostReport, unknown>();

/** A report made from a thrown error: keep the error, so applyErrorOf can chain it as `cause`. */
export function withCause(report: HostReport, cause: unknown): HostReport {
  causes.set(report, cause);
  return report;
}

/** Where a failed report stopped: the first transaction step it did not finish, or before/after them. */
export function failedStep(r: HostReport): string {
  const cause = causes.get(r);
  if (cause instanceof ApplyError) return cause.step;
  if (cause instanceof SshError) return 'connect';
  if (cause !== undefined) return 'prepare';
  if (r.error?.startsWith('refused before any change')) return 'relay-preflight';
  return TRANSACTION_STEPS.find((s) => !(s in r.steps)) ?? 'after-check';
}

/**
 * A failed report as an error to throw: host, step and the host's own words (e.g. `postfix
 * check`'s), with what was thrown, if anything, as `cause`. Undefined for a report that succeeded.
 */
export function applyErrorOf(r: HostReport): ApplyError | undefined {
  if (!r.error) return undefined;
  const cause = causes.get(r);
  return new ApplyError(r.host, failedStep(r), r.error, cause === undefined ? undefined : { cause });
}
