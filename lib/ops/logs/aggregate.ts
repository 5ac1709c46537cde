/**
 * Aggregation of parsed Postfix log lines into a pflogsumm-like report.
 *
 * The grand totals follow pflogsumm 1.1.5 (Debian 12's /usr/sbin/pflogsumm) definition by
 * definition, because the benchmark and a unit test compare them with the real program:
 *
 *  - received: smtpd/postscreen `QID: client=...` lines plus pickup `QID: uid=|sender=` lines.
 *  - bytes received, senders, sending hosts/domains: from the first `QID: from=<s>, size=N` line of a
 *    message that was received in the log (later repeats of that line, logged each time a deferred
 *    message re-enters the active queue, are ignored). The sender domain is the address's domain,
 *    or the client's domain (pflogsumm's gimme_domain) for `<>` and bare local senders, or the
 *    address itself for local submissions.
 *  - delivered, recipients, recipient hosts/domains, bytes delivered: `status=sent` lines, except
 *    those whose text says `forwarded as` (counted as forwarded instead).
 *  - deferred: queue IDs with at least one `status=deferred` line; deferrals: every such line.
 *  - bounced: `status=bounced` lines.
 *  - rejected / reject warnings / held / discarded: `reject:` / `reject_warning:` / `hold:` /
 *    `discard:` lines from smtpd and postscreen (NOQUEUE or QID), and cleanup header/body checks
 *    (reject and milter-reject / warning / hold / discard).
 *
 * Differences from pflogsumm, all outside its input or deliberate:
 *  - The daemon is the last part of the syslog name, so `postfix/amavis/smtpd` counts as smtpd, and
 *    multi-instance names (`postfix-out/smtp`) are included (pflogsumm skips both by default).
 *  - Per-message state (size, sender, deferred flag) is dropped at `QID: removed`, which keeps
 *    memory bounded by the messages in flight; pflogsumm keeps it forever, which only differs when
 *    a short queue ID is reused within one report.
 *  - RFC 3339 offsets without a colon (journalctl -o short-iso) and fractional seconds on
 *    traditional stamps are accepted.
 *  - Per-day rows are keyed by the real date; the per-hour table holds totals, not averages.
 */
import { MsgState, OP_DEFERRED, OP_RECEIVED, OP_SENDER, OP_SENT, bump } from './aggregate-state';
import { ReportingAggregate } from './aggregate-report';
import {
  ToLine,
  after,
  delayValue,
  has,
  isQueueId,
  isWord,
  knownQidEvent,
  parseFromSize,
  parseToLine,
  rebuild,
  statusIs,
} from './line-fields';
import { LINE_FOREIGN, LINE_GARBAGE, LINE_POSTFIX, LogTimestamp, ParsedLogLine } from './parse';
import {
  addressDomain,
  cleanupCheck,
  gimmeDomain,
  normalizeAddress,
  own,
  perlTrue,
  rejectDetailAfterQid,
  saidStringTrimmer,
  smtpdRejectDetail,
  stringTrimmer,
} from './pflogsumm-compat';
import { Tree } from './tree';
import { ToDomainAddress } from './types';

const REJECT_KEYWORDS = ['reject: ', 'reject_warning: ', 'hold: ', 'discard: '];

/** Streaming aggregator: feed lines in log order, then call report(). */
export class LogAggregator extends ReportingAggregate {
  /** Note the name of the input about to be fed (for the report). */
  beginSource(name: string): void {
    this.sources.push(name);
  }

  /** One line without its newline. `truncated` marks a line cut to maxLineLength. */
  addLine(line: string, truncated = false): void {
    this.lines++;
    if (truncated) this.longLines++;
    const parser = this.parser;
    const kind = parser.parseFields(line);
    if (kind === LINE_POSTFIX) {
      if (!this.enterStamp(parser.stamp as LogTimestamp)) return;
      this.postfixLines++;
      const inst = parser.instance;
      if (inst === 'postfix') this.mainInstance++;
      else this.instances.set(own(inst), (this.instances.get(inst) ?? 0) + 1);
      if (!this.consume(parser.message, parser.program, parser.pid)) this.sample(this.unrecognised, line);
    } else if (kind === LINE_FOREIGN) {
      if (this.enterStamp(parser.stamp as LogTimestamp)) this.sample(this.nonPostfix, line);
    } else if (kind === LINE_GARBAGE) this.sample(this.garbage, line);
    else this.skipped++;
  }

  addParsed(p: ParsedLogLine): void {
    switch (p.kind) {
      case 'skipped':
        this.skipped++;
        return;
      case 'garbage':
        this.sample(this.garbage, p.line);
        return;
      case 'nonPostfix':
        if (!this.enterStamp(p.timestamp)) return;
        this.sample(this.nonPostfix, p.line);
        return;
      case 'postfix':
        if (!this.enterStamp(p.timestamp)) return;
        this.postfixLines++;
        if (p.instance === 'postfix') this.mainInstance++;
        else this.instances.set(own(p.instance), (this.instances.get(p.instance) ?? 0) + 1);
        if (!this.consume(p.message, p.program, p.pid)) this.sample(this.unrecognised, rebuild(p));
        return;
    }
  }

  /** Applies one Postfix line; false when its structure was not recognised. */
  private consume(msg: string, prog: string, pid: number | null): boolean {
    const n = msg.length;
    let k = 0;
    while (k < n) {
      const c = msg.charCodeAt(k);
      if (c === 58 || c === 32 || c === 9) break;
      k++;
    }
    const qid = msg.slice(0, k);
    const bodyAt = k + 2;
    const hasBody = k > 0 && msg.charCodeAt(k) === 58 && msg.charCodeAt(k + 1) === 32;

    if (
      prog === 'cleanup' &&
      pid !== null &&
      hasBody &&
      (msg.indexOf(': header ') >= 0 || msg.indexOf(': body ') >= 0 || msg.indexOf(': END-OF-MESSAGE ') >= 0)
    ) {
      const c = cleanupCheck(msg);
      if (c !== null) {
        if (c.action === 'reject' || c.action === 'milter-reject') {
          this.rejects.add(prog, c.where, c.detail);
          this.msgsRjctd++;
        } else if (c.action === 'warning') {
          this.warns.add(prog, c.where, c.detail);
          this.msgsWrnd++;
        } else if (c.action === 'hold') {
          this.holds.add(prog, c.where, c.detail);
          this.msgsHld++;
        } else {
          this.discards.add(prog, c.where, c.detail);
          this.msgsDscrdd++;
        }
        this.curHour.rejected++;
        this.curDay.rejected++;
        return true;
      }
    }
    switch (qid) {
      case 'warning':
        this.warningCount++;
        this.warnings.add(prog, stringTrimmer(after(msg, 'warning: '), 66));
        return true;
      case 'fatal':
        this.fatalCount++;
        this.fatals.add(prog, stringTrimmer(after(msg, 'fatal: '), 66));
        return true;
      case 'panic':
        this.panicCount++;
        this.panics.add(prog, stringTrimmer(after(msg, 'panic: '), 66));
        return true;
      case 'reject':
      case 'reject_warning':
      case 'hold':
      case 'discard':
        this.rejectLike(qid, msg);
        return true;
      default:
        break;
    }
    if (prog === 'master') return true;
    if (prog === 'smtpd' || prog === 'postscreen') {
      if (hasBody && pid !== null && isWord(qid)) {
        if (has(msg, bodyAt, 'client=')) {
          let e = msg.indexOf(',', bodyAt + 7);
          if (e < 0) e = n;
          this.msgsRcvd++;
          this.curHour.received++;
          this.curDay.received++;
          this.received(qid, gimmeDomain(msg.slice(bodyAt + 7, e)));
          return true;
        }
        for (const kw of REJECT_KEYWORDS) {
          if (msg.startsWith(kw, bodyAt)) {
            this.rejectLike(kw.slice(0, -2), msg, k);
            return true;
          }
        }
      }
      return !hasBody || !isQueueId(qid) || knownQidEvent(msg, bodyAt);
    }

    const fs = parseFromSize(msg);
    if (fs !== null) {
      this.senderLine(qid, fs.addr, fs.size);
      return true;
    }
    const to = parseToLine(msg);
    if (to !== null) {
      this.recipientLine(qid, prog, msg, to);
      return true;
    }
    if (prog === 'pickup' && (msg.indexOf(': uid=') >= 0 || msg.indexOf(': sender=') >= 0)) {
      this.msgsRcvd++;
      this.curHour.received++;
      this.curDay.received++;
      this.received(qid, 'pickup');
      return true;
    }
    // extras pflogsumm leaves out of its totals
    if (hasBody) {
      if (qid === 'error') {
        this.errorCount++;
        return true;
      }
      if (has(msg, bodyAt, 'removed') && bodyAt + 7 === n) {
        this.removed++;
        if (this.partial) {
          // a second removal in this piece adds nothing: the state after the first was known
          if (!this.removedInPiece.has(qid)) this.removedInPiece.set(own(qid), this.msgs.get(qid)?.ops ?? []);
        }
        this.msgs.delete(qid);
        if (this.lastQid === qid) {
          this.lastQid = '';
          this.lastMsg = undefined;
        }
        return true;
      }
      if (has(msg, bodyAt, 'from=<')) {
        if (msg.indexOf(', status=expired', bodyAt) > 0) {
          this.expired++;
          return true;
        }
        return false;
      }
      if (has(msg, bodyAt, 'to=<')) return false; // a recipient line without the usual fields
      if (prog === 'postsuper' && (qid === 'Deleted' || qid === 'Requeued')) {
        const v = parseInt(msg.slice(bodyAt), 10);
        if (Number.isFinite(v)) {
          if (qid === 'Deleted') this.postsuperDeleted += v;
          else this.postsuperRequeued += v;
        }
        return true;
      }
      if (isQueueId(qid)) return knownQidEvent(msg, bodyAt);
    }
    return true; // informational (connect from, statistics, daemon started, ...)
  }

  private received(qid: string, whence: string): void {
    const st = this.msgState(qid, true) as MsgState;
    if (st.ops !== null) st.ops.push(OP_RECEIVED, whence);
    st.whence = whence;
  }

  /** `qidLen`: length of the queue ID (a word, not a keyword) the message starts with, 0 for none. */
  private rejectLike(kind: string, msg: string, qidLen = 0): void {
    const d = qidLen > 0 ? rejectDetailAfterQid(msg, qidLen) : smtpdRejectDetail(msg);
    let tree: Tree;
    if (kind === 'reject') {
      this.msgsRjctd++;
      tree = this.rejects;
    } else if (kind === 'reject_warning') {
      this.msgsWrnd++;
      tree = this.warns;
    } else if (kind === 'hold') {
      this.msgsHld++;
      tree = this.holds;
    } else {
      this.msgsDscrdd++;
      tree = this.discards;
    }
    tree.add(d.type, d.reason, d.data);
    this.curHour.rejected++;
    this.curDay.rejected++;
  }

  private senderLine(qid: string, rawAddr: string, sizeStr: string): void {
    const st = this.msgState(qid, true) as MsgState;
    const addr = rawAddr === '' ? 'from=<>' : normalizeAddress(rawAddr);
    const size = Number(sizeStr);
    if (st.ops !== null) st.ops.push(OP_SENDER, own(addr), size);
    if (st.size !== 0) return; // a repeat (the message re-entered the active queue)
    this.sender(st, addr, size);
  }

  private sender(st: MsgState, addr: string, size: number): void {
    if (st.size !== 0) return;
    st.size = size;
    const whence = st.whence;
    if (!perlTrue(whence)) return;
    let dom = addressDomain(addr);
    if (dom === null) dom = whence === 'pickup' ? addr : (whence as string);
    bump(this.sendgDom, dom, size);
    bump(this.sendgUser, addr, size);
    this.sizeRcvd += size;
    st.whence = undefined;
  }

  private recipientLine(qid: string, prog: string, msg: string, to: ToLine): void {
    const addr = normalizeAddress(to.addr);
    const at = addr.indexOf('@');
    const dom = at > 0 ? addr.slice(at + 1) : addr;
    let td: ToDomainAddress | undefined;
    if (this.toDomain !== null) {
      const last = addr.lastIndexOf('@');
      if (last >= 0 && addr.length - last - 1 === this.toDomain.length && addr.slice(last + 1).toLowerCase() === this.toDomain) {
        // counted case-insensitively, as the seed page's `uniq -ci` does
        const key = addr.toLowerCase();
        td = this.toDomainStats.get(key);
        if (td === undefined) {
          td = { address: own(key), mails: 0, sent: 0, forwarded: 0, bounced: 0, deferrals: 0 };
          this.toDomainStats.set(td.address, td);
        }
      }
    }
    if (statusIs(msg, to, 'sent')) {
      let u = this.recipUser.get(addr);
      if (u === undefined) {
        u = { count: 0, bytes: 0, sent: 0 };
        this.recipUser.set(own(addr), u);
      }
      u.sent++;
      if (msg.indexOf('forwarded as ', to.restAt) >= 0) {
        this.msgsFwdd++;
        if (td) {
          td.forwarded++;
          td.mails++;
        }
        return;
      }
      if (td) {
        td.sent++;
        td.mails++;
      }
      const delay = delayValue(msg, to.delayAt, to.delayEnd);
      const st = this.msgState(qid, false);
      let d = this.recipDom.get(dom);
      if (d === undefined) {
        d = { count: 0, bytes: 0, deferrals: 0, maxDelay: 0 };
        this.recipDom.set(own(dom), d);
      }
      d.count++;
      if (delay > d.maxDelay) d.maxDelay = delay;
      u.count++;
      if (st !== undefined && st.ops !== null) st.ops.push(OP_SENT, u, d);
      const bytes = st?.size ?? 0;
      if (bytes === 0) this.noSize++;
      d.bytes += bytes;
      u.bytes += bytes;
      this.sizeDlvrd += bytes;
      this.msgsDlvrd++;
      this.curHour.delivered++;
      this.curDay.delivered++;
    } else if (statusIs(msg, to, 'deferred')) {
      if (td) td.deferrals++;
      const m = /, status=deferred \(([^)]+)/.exec(msg.length > 4096 ? msg.slice(0, 4096) : msg);
      let reason = saidStringTrimmer(m ? m[1] : '', 65);
      reason = reason.replace(/^\d{3} /, '').replace(/^connect to /, '');
      this.deferrals.add(prog, reason);
      this.msgsDfrdCnt++;
      const st = this.msgState(qid, true) as MsgState;
      if (st.ops !== null) st.ops.push(OP_DEFERRED);
      if (!st.deferred) {
        st.deferred = true;
        this.msgsDfrd++;
      }
      this.curHour.deferred++;
      this.curDay.deferred++;
      let d = this.recipDom.get(dom);
      if (d === undefined) {
        d = { count: 0, bytes: 0, deferrals: 0, maxDelay: 0 };
        this.recipDom.set(own(dom), d);
      }
      d.deferrals++;
      const delay = delayValue(msg, to.delayAt, to.delayEnd);
      if (delay > d.maxDelay) d.maxDelay = delay;
    } else if (statusIs(msg, to, 'bounced')) {
      if (td) {
        td.bounced++;
        td.mails++;
      }
      const capped = msg.length > 4096 ? msg.slice(0, 4096) : msg;
      const open = capped.indexOf(', status=bounced (');
      const close = capped.lastIndexOf(')');
      let reason = open >= 0 && close > open + 18 ? capped.slice(open + 18, close) : '';
      reason = saidStringTrimmer(reason, 66).replace(/^\d{3} /, '');
      this.bounces.add(msg.slice(to.relayAt, to.relayEnd), reason);
      this.msgsBncd++;
      this.curHour.bounced++;
      this.curDay.bounced++;
    } else if (statusIs(msg, to, 'expired')) {
      if (td) td.mails++;
      this.expired++;
    }
  }
}
