/** The report of an aggregation: totals, top lists, per-day and per-hour tables. */
import { MergeableAggregate } from './aggregate-merge';
import { DomStat, RcptStat, UserStat } from './aggregate-state';
import { formatStamp } from './line-fields';
import { byCountThenKey } from './tree';
import { AddressStat, LogReport, PerDay, PerHour, RecipientDomainStat, TrafficCounts } from './types';

export abstract class ReportingAggregate extends MergeableAggregate {
  /** The report for everything fed so far. */
  report(): LogReport {
    const top = this.top;
    // top lists straight from the maps: only the entries listed become objects
    const counted = (v: UserStat) => v.count > 0;
    const all = () => true;
    const stat = (key: string, v: UserStat): AddressStat => ({ key, count: v.count, bytes: v.bytes });
    const domStat = (key: string, v: DomStat): RecipientDomainStat => ({
      key,
      count: v.count,
      bytes: v.bytes,
      deferrals: v.deferrals,
      maxDelay: v.maxDelay,
    });
    const lists = <V extends UserStat, T>(m: Map<string, V>, keep: (v: V) => boolean, make: (key: string, v: V) => T) => ({
      byCount: topOfMap(m, top, keep, entryByCount, make),
      bySize: topOfMap(m, top, keep, entryByBytes, make),
    });
    const total = this.msgsDlvrd + this.msgsRjctd + this.msgsDscrdd;
    const pct = (x: number) => (total > 0 ? Math.floor((x / total) * 100) : 0);
    let recipients = 0;
    for (const v of this.recipUser.values()) if (v.count > 0) recipients++;
    let recipientDomains = 0;
    for (const v of this.recipDom.values()) if (v.count > 0) recipientDomains++;
    const perDay: PerDay[] = [...this.perDay.keys()].sort().map((date) => ({ date, ...(this.perDay.get(date) as TrafficCounts) }));
    const perHour: PerHour[] = this.perHour.map((c, hour) => ({ hour, ...c }));
    let toDomain: LogReport['toDomain'] = null;
    if (this.toDomain !== null) {
      const addresses = [...this.toDomainStats.values()].sort(
        (a, b) => b.mails - a.mails || b.deferrals - a.deferrals || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0),
      );
      toDomain = { domain: this.toDomain, mails: addresses.reduce((s, a) => s + a.mails, 0), addresses };
    }
    return {
      grandTotals: {
        received: this.msgsRcvd,
        delivered: this.msgsDlvrd,
        forwarded: this.msgsFwdd,
        deferred: this.msgsDfrd,
        deferrals: this.msgsDfrdCnt,
        bounced: this.msgsBncd,
        rejected: this.msgsRjctd,
        rejectedPercent: pct(this.msgsRjctd),
        rejectWarnings: this.msgsWrnd,
        held: this.msgsHld,
        discarded: this.msgsDscrdd,
        discardedPercent: pct(this.msgsDscrdd),
        bytesReceived: this.sizeRcvd,
        bytesDelivered: this.sizeDlvrd,
        senders: this.sendgUser.size,
        sendingHostsDomains: this.sendgDom.size,
        recipients,
        recipientHostsDomains: recipientDomains,
      },
      events: {
        expired: this.expired,
        removed: this.removed,
        postsuperDeleted: this.postsuperDeleted,
        postsuperRequeued: this.postsuperRequeued,
        warnings: this.warningCount,
        errors: this.errorCount,
        fatals: this.fatalCount,
        panics: this.panicCount,
        deliveriesWithoutSize: this.noSize,
      },
      perDay,
      perHour,
      senders: lists(this.sendgUser, counted, stat),
      recipients: lists(this.recipUser, counted, stat),
      senderDomains: lists(this.sendgDom, counted, stat),
      recipientDomains: lists(this.recipDom, all, domStat),
      sentPerRecipient: topOfMap(
        this.recipUser,
        top,
        (v) => v.sent > 0,
        entryBySent,
        (key, v) => ({ key, count: v.sent }),
      ),
      toDomain,
      deferralDetail: this.deferrals.tallies(),
      bounceDetail: this.bounces.tallies(),
      rejectDetail: this.rejects.tallies(),
      rejectWarningDetail: this.warns.tallies(),
      holdDetail: this.holds.tallies(),
      discardDetail: this.discards.tallies(),
      warningDetail: this.warnings.tallies(),
      fatalDetail: this.fatals.tallies(),
      panicDetail: this.panics.tallies(),
      instances: [...(this.mainInstance > 0 ? [['postfix', this.mainInstance] as [string, number]] : []), ...this.instances]
        .map(([key, count]) => ({ key, count }))
        .sort(byCountThenKey),
      input: {
        sources: [...this.sources],
        lines: this.lines,
        postfixLines: this.postfixLines,
        outsideWindow: this.outside,
        skipped: this.skipped,
        longLines: this.longLines,
        first: this.firstStamp ? formatStamp(this.firstStamp) : null,
        last: this.lastStamp ? formatStamp(this.lastStamp) : null,
      },
      unparsed: {
        garbage: { count: this.garbage.count, samples: [...this.garbage.samples] },
        nonPostfix: { count: this.nonPostfix.count, samples: [...this.nonPostfix.samples] },
        unrecognisedPostfix: { count: this.unrecognised.count, samples: [...this.unrecognised.samples] },
      },
    };
  }
}

function keyOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function entryByCount(ak: string, a: UserStat, bk: string, b: UserStat): number {
  return b.count - a.count || keyOrder(ak, bk);
}

function entryByBytes(ak: string, a: UserStat, bk: string, b: UserStat): number {
  return b.bytes - a.bytes || b.count - a.count || keyOrder(ak, bk);
}

function entryBySent(ak: string, a: RcptStat, bk: string, b: RcptStat): number {
  return b.sent - a.sent || keyOrder(ak, bk);
}

/**
 * The k best entries of a map by cmp (all of them, sorted, when k <= 0), made into objects by
 * `make` only for the entries returned.
 */
function topOfMap<V, T>(
  m: Map<string, V>,
  k: number,
  keep: (v: V) => boolean,
  cmp: (ak: string, av: V, bk: string, bv: V) => number,
  make: (key: string, v: V) => T,
): T[] {
  const keys: string[] = [];
  const vals: V[] = [];
  if (k <= 0) {
    const idx: number[] = [];
    for (const [key, v] of m) {
      if (!keep(v)) continue;
      idx.push(keys.length);
      keys.push(key);
      vals.push(v);
    }
    idx.sort((a, b) => cmp(keys[a], vals[a], keys[b], vals[b]));
    return idx.map((i) => make(keys[i], vals[i]));
  }
  for (const [key, v] of m) {
    if (!keep(v)) continue;
    const n = keys.length;
    if (n === k && cmp(key, v, keys[k - 1], vals[k - 1]) >= 0) continue;
    let i = n === k ? k - 1 : n;
    if (n === k) {
      keys.pop();
      vals.pop();
    }
    while (i > 0 && cmp(key, v, keys[i - 1], vals[i - 1]) < 0) i--;
    keys.splice(i, 0, key);
    vals.splice(i, 0, v);
  }
  return keys.map((key, i) => make(key, vals[i]));
}

/** The k best items by cmp (all of them, sorted, when k <= 0), without sorting the whole array. */
export function topK<T>(items: T[], k: number, cmp: (a: T, b: T) => number): T[] {
  if (k <= 0 || items.length <= k) return [...items].sort(cmp);
  const best: T[] = [];
  for (const it of items) {
    if (best.length === k && cmp(it, best[k - 1]) >= 0) continue;
    let i = best.length === k ? k - 1 : best.length;
    if (best.length === k) best.pop();
    while (i > 0 && cmp(it, best[i - 1]) < 0) i--;
    best.splice(i, 0, it);
  }
  return best;
}
