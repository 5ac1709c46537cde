import { HostReport } from './apply';

/** One host's report for people: what changed, what ran, how long it took. */
export function formatReport(r: HostReport): string {
  const head = `${r.host} (${r.target}): ${r.result} in ${r.durationMs} ms`;
  const lines = [head];
  for (const c of r.changed) lines.push(`  ~ ${c.kind === 'main' ? 'main.cf' : c.kind === 'master' ? 'master.cf' : 'file'} ${c.name}`);
  for (const cmd of r.ran) lines.push(`  $ ${cmd}`);
  for (const t of r.tlsChecks ?? []) {
    lines.push(`  tls :${t.target.port} ${t.ok ? 'ok' : 'FAILED'} ${t.protocol ?? '-'} ${t.cipher ?? '-'}${t.keyExchange ? ` ${t.keyExchange.group ?? ''} ${t.keyExchange.bits ?? ''}`.trimEnd() : ''}`);
  }
  if (r.error) lines.push(`  ! ${r.error}`);
  return lines.join('\n');
}
