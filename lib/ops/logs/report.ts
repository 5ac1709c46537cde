/** Human (pflogsumm-like) and JSON renderings of a LogReport. */
import { AddressStat, LogReport, Tally, UnparsedKind } from './types';

/** The report as JSON; key order is fixed by the LogReport construction, so output is stable. */
export function reportToJson(report: LogReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

function title(out: string[], text: string): void {
  out.push('', text, '-'.repeat(text.length));
}

function n(v: number, w = 8): string {
  return String(v).padStart(w);
}

function tallyLines(out: string[], items: Tally[], indent: number): void {
  for (const t of items) {
    out.push(`${' '.repeat(indent)}${n(t.count, 6)}   ${t.key === '' ? '(none)' : t.key}`);
    if (t.items) tallyLines(out, t.items, indent + 3);
  }
}

function tallySection(out: string[], name: string, items: Tally[]): void {
  title(out, name);
  if (items.length === 0) out.push('  none');
  else tallyLines(out, items, 2);
}

function statSection(out: string[], name: string, items: AddressStat[], bytes: boolean): void {
  title(out, name);
  if (items.length === 0) {
    out.push('  none');
    return;
  }
  for (const s of items) out.push(`  ${n(bytes ? s.bytes : s.count, 12)}   ${s.key}`);
}

function unparsedLines(out: string[], name: string, u: UnparsedKind): void {
  out.push(`  ${n(u.count, 8)}  ${name}`);
  for (const s of u.samples) out.push(`              e.g. ${s}`);
}

/** A plain-text report with pflogsumm's sections. */
export function formatReport(r: LogReport): string {
  const out: string[] = [];
  const g = r.grandTotals;
  out.push('Postfix log summary');
  if (r.input.first !== null) out.push(`from ${r.input.first} to ${r.input.last}`);
  title(out, 'Grand Totals');
  out.push('messages', '');
  out.push(`${n(g.received)}   received`);
  out.push(`${n(g.delivered)}   delivered`);
  out.push(`${n(g.forwarded)}   forwarded`);
  out.push(`${n(g.deferred)}   deferred${g.deferrals ? `  (${g.deferrals} deferrals)` : ''}`);
  out.push(`${n(g.bounced)}   bounced`);
  out.push(`${n(g.rejected)}   rejected (${g.rejectedPercent}%)`);
  out.push(`${n(g.rejectWarnings)}   reject warnings`);
  out.push(`${n(g.held)}   held`);
  out.push(`${n(g.discarded)}   discarded (${g.discardedPercent}%)`);
  out.push('');
  out.push(`${n(g.bytesReceived)}   bytes received`);
  out.push(`${n(g.bytesDelivered)}   bytes delivered`);
  out.push(`${n(g.senders)}   senders`);
  out.push(`${n(g.sendingHostsDomains)}   sending hosts/domains`);
  out.push(`${n(g.recipients)}   recipients`);
  out.push(`${n(g.recipientHostsDomains)}   recipient hosts/domains`);
  const e = r.events;
  out.push('');
  out.push(`${n(e.expired)}   expired`);
  out.push(`${n(e.removed)}   removed from the queue`);
  out.push(`${n(e.postsuperDeleted)}   deleted by postsuper`);
  out.push(`${n(e.warnings)}   warnings`);
  out.push(`${n(e.errors)}   errors`);
  out.push(`${n(e.fatals)}   fatal errors`);
  out.push(`${n(e.panics)}   panics`);

  if (r.toDomain !== null) {
    title(out, `Mails to addresses at ${r.toDomain.domain}`);
    out.push(`      mails      sent  forwarded  bounced  deferrals   address`);
    for (const a of r.toDomain.addresses) {
      out.push(`  ${n(a.mails, 9)} ${n(a.sent, 9)} ${n(a.forwarded, 10)} ${n(a.bounced, 8)} ${n(a.deferrals, 10)}   ${a.address}`);
    }
    out.push(`  ${n(r.toDomain.mails, 9)}   total`);
  }

  title(out, 'Per-Day Traffic Summary');
  out.push('    date          received  delivered   deferred    bounced     rejected');
  out.push('    --------------------------------------------------------------------');
  for (const d of r.perDay) {
    out.push(`    ${d.date}  ${n(d.received, 10)} ${n(d.delivered, 10)} ${n(d.deferred, 10)} ${n(d.bounced, 10)} ${n(d.rejected, 12)}`);
  }
  title(out, `Per-Hour Traffic (totals over ${r.perDay.length} day${r.perDay.length === 1 ? '' : 's'})`);
  out.push('    time          received  delivered   deferred    bounced     rejected');
  out.push('    --------------------------------------------------------------------');
  for (const h of r.perHour) {
    const hh = String(h.hour).padStart(2, '0');
    const h2 = String(h.hour + 1).padStart(2, '0');
    out.push(
      `    ${hh}00-${h2}00   ${n(h.received, 10)} ${n(h.delivered, 10)} ${n(h.deferred, 10)} ${n(h.bounced, 10)} ${n(h.rejected, 12)}`,
    );
  }

  title(out, 'Host/Domain Summary: Message Delivery');
  out.push('   sent cnt      bytes   defers   max delay   host/domain');
  out.push('   --------   --------  -------   ---------   -----------');
  for (const d of r.recipientDomains.byCount) {
    out.push(`   ${n(d.count)}   ${n(d.bytes)}  ${n(d.deferrals, 7)}   ${n(d.maxDelay, 9)}   ${d.key}`);
  }
  title(out, 'Host/Domain Summary: Messages Received');
  out.push('   msg cnt       bytes   host/domain');
  out.push('   --------   --------   -----------');
  for (const d of r.senderDomains.byCount) out.push(`   ${n(d.count)}   ${n(d.bytes)}   ${d.key}`);

  statSection(out, 'Senders by message count', r.senders.byCount, false);
  statSection(out, 'Recipients by message count', r.recipients.byCount, false);
  statSection(out, 'Senders by message size', r.senders.bySize, true);
  statSection(out, 'Recipients by message size', r.recipients.bySize, true);
  title(out, 'Sent mails per recipient (status=sent)');
  if (r.sentPerRecipient.length === 0) out.push('  none');
  for (const s of r.sentPerRecipient) out.push(`  ${n(s.count, 12)}   ${s.key}`);

  tallySection(out, 'message deferral detail', r.deferralDetail);
  tallySection(out, 'message bounce detail (by relay)', r.bounceDetail);
  tallySection(out, 'message reject detail', r.rejectDetail);
  tallySection(out, 'message reject warning detail', r.rejectWarningDetail);
  tallySection(out, 'message hold detail', r.holdDetail);
  tallySection(out, 'message discard detail', r.discardDetail);
  tallySection(out, 'Warnings', r.warningDetail);
  tallySection(out, 'Fatal Errors', r.fatalDetail);
  tallySection(out, 'Panics', r.panicDetail);

  title(out, 'Input');
  out.push(`  sources: ${r.input.sources.join(', ')}`);
  out.push(`  ${n(r.input.lines)}  lines read`);
  out.push(
    `  ${n(r.input.postfixLines)}  postfix lines${r.instances.length > 1 ? ` (${r.instances.map((i) => `${i.key}: ${i.count}`).join(', ')})` : ''}`,
  );
  out.push(`  ${n(r.input.outsideWindow)}  outside --since/--until`);
  out.push(`  ${n(r.input.skipped)}  empty or journal marker lines`);
  out.push(`  ${n(r.input.longLines)}  over-long lines (cut)`);
  unparsedLines(out, 'lines not parsed: no syslog header', r.unparsed.garbage);
  unparsedLines(out, 'lines not parsed: not from postfix', r.unparsed.nonPostfix);
  unparsedLines(out, 'lines not parsed: postfix structure not recognised', r.unparsed.unrecognisedPostfix);
  return out.join('\n') + '\n';
}
