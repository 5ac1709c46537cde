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
import {
  LINE_FOREIGN, LINE_GARBAGE, LINE_POSTFIX, LineParser, LogTimestamp, ParsedLogLine, PostfixLogLine, YearState, dayKey,
  timestampToEpochMs,
} from './parse';
import {
  addressDomain, cleanupCheck, gimmeDomain, normalizeAddress, own, perlTrue, saidStringTrimmer, smtpdRejectDetail,
  stringTrimmer,
} from './pflogsumm-compat';
import {
  AddressStat, LogReport, LogReportOptions, PerDay, PerHour, RecipientDomainStat, Tally, ToDomainAddress,
  TrafficCounts, UnparsedKind,
} from './types';

/** A Tree as it crosses a worker boundary (structured clone keeps the fields, not the class). */
export interface TreeData {
  count: number;
  children: Map<string, TreeData> | null;
}

class Tree implements TreeData {
  count = 0;
  children: Map<string, Tree> | null = null;

  /** Adds another tree's counts into this one. */
  merge(src: TreeData): void {
    this.count += src.count;
    if (src.children === null) return;
    if (this.children === null) this.children = new Map();
    for (const [k, c] of src.children) {
      let child = this.children.get(k);
      if (child === undefined) {
        child = new Tree();
        this.children.set(k, child);
      }
      child.merge(c);
    }
  }

  add(...keys: string[]): void {
    this.count++;
    let node: Tree = this;
    for (const k of keys) {
      if (node.children === null) node.children = new Map();
      let child = node.children.get(k);
      if (child === undefined) {
        child = new Tree();
        node.children.set(own(k), child);
      }
      child.count++;
      node = child;
    }
  }

  tallies(): Tally[] {
    if (this.children === null) return [];
    const out: Tally[] = [];
    for (const [key, child] of this.children) {
      const t: Tally = { key, count: child.count };
      if (child.children !== null) t.items = child.tallies();
      out.push(t);
    }
    return out.sort(byCountThenKey);
  }
}

function byCountThenKey(a: { key: string; count: number }, b: { key: string; count: number }): number {
  if (a.count !== b.count) return b.count - a.count;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}


function newCounts(): TrafficCounts {
  return { received: 0, delivered: 0, deferred: 0, bounced: 0, rejected: 0 };
}

interface UserStat { count: number; bytes: number }
/** What is known about one queue ID until its `removed` line. */
interface MsgState {
  /** From the first `from=<>, size=` line; 0 = not seen (pflogsumm treats size 0 the same way). */
  size: number;
  /** Where it was received from (client domain or "pickup"), until its sender was counted. */
  whence: string | undefined;
  deferred: boolean;
  /**
   * Partial mode only (a piece of a log read from its middle): the queue ID's state before the
   * piece is not known yet. It is taken to have none (a new message; the effects are applied as
   * usual), and the effects that depend on that assumption are recorded here, in order, so that
   * settle() can correct them once the real state is known. null = state known.
   */
  ops: MsgOp | null;
}

/**
 * State-dependent effects on one queue ID, recorded in partial mode as a flat list (no object per
 * effect): OP_RECEIVED whence | OP_SENDER address size | OP_SENT recipient-stat domain-stat |
 * OP_DEFERRED.
 */
type MsgOp = Array<number | string | RcptStat | DomStat>;
const OP_RECEIVED = 1;
const OP_SENDER = 2;
const OP_SENT = 3;
const OP_DEFERRED = 4;

/** A queue ID's state as handed from one piece to the next: [qid, size, whence, deferred]. */
export type CarriedState = [string, number, string | undefined, boolean];

/** One map's entries as they cross a worker boundary: keys joined by newlines, fields in a flat array. */
export interface PackedMap {
  keys: string;
  fields: number;
  values: Float64Array;
}

/**
 * What one piece of a log contributed, in a form that crosses a worker boundary (structured
 * clone), to be merged in log order with LogAggregator.merge().
 */
export interface PartialAggregate {
  counters: number[];
  sendgUser: PackedMap;
  sendgDom: PackedMap;
  recipUser: PackedMap;
  recipDom: PackedMap;
  toDomainStats: Map<string, ToDomainAddress>;
  trees: TreeData[];
  instances: Map<string, number>;
  perDay: Map<string, TrafficCounts>;
  perHour: TrafficCounts[];
  garbage: UnparsedKind;
  nonPostfix: UnparsedKind;
  unrecognised: UnparsedKind;
  firstStamp: LogTimestamp | null;
  lastStamp: LogTimestamp | null;
  /** Year inference state at the end of the piece. */
  yearState: YearState;
}

/** The numeric fields summed when pieces are merged (order = PartialAggregate.counters). */
const COUNTERS = [
  'msgsRcvd', 'msgsDlvrd', 'msgsFwdd', 'msgsDfrd', 'msgsDfrdCnt', 'msgsBncd', 'msgsRjctd', 'msgsWrnd', 'msgsHld',
  'msgsDscrdd', 'sizeRcvd', 'sizeDlvrd', 'expired', 'removed', 'postsuperDeleted', 'postsuperRequeued', 'warningCount',
  'errorCount', 'fatalCount', 'panicCount', 'noSize', 'mainInstance', 'lines', 'postfixLines', 'outside', 'skipped',
  'longLines',
] as const;
interface RcptStat { count: number; bytes: number; sent: number }
interface DomStat { count: number; bytes: number; deferrals: number; maxDelay: number }

// Byte totals outgrow small integers and delays are fractions: give these shapes double fields
// before any of them is made, so optimized code is not thrown away when the first large value comes.
const primed: unknown[] = [
  { count: 0, bytes: 0.5 },
  { count: 0, bytes: 0.5, sent: 0 },
  { count: 0, bytes: 0.5, deferrals: 0, maxDelay: 0.5 },
];
void primed;

const LONG_QID = /^[0-9BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz]{10,}$/;
const SHORT_QID = /^[0-9A-F]{5,}$/;

/** True for a Postfix queue ID (short hex or long base-52 form) or NOQUEUE. */
export function isQueueId(token: string): boolean {
  if (token === 'NOQUEUE') return true;
  return SHORT_QID.test(token) || (token.indexOf('z') > 0 && LONG_QID.test(token));
}

function isWord(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95)) return false;
  }
  return true;
}

/** What may follow `QID: ` in a line this parser understands (informational ones included). */
const KNOWN_QID_EVENTS = [
  'client=', 'message-id=', 'resent-message-id=', 'from=', 'to=', 'orig_to=', 'removed', 'reject:',
  'reject_warning:', 'hold:', 'discard:', 'milter-', 'warning:', 'info:', 'filter:', 'redirect:', 'replace:',
  'prepend:', 'bcc:', 'uid=', 'sender=', 'sender non-delivery notification', 'sender delivery status notification',
  'sender delay notification', 'host ', 'lost connection', 'conversation with', 'enabling PIX', 'Cannot start TLS',
  'SASL ', 'header ', 'body ', 'END-OF-MESSAGE', 'postponed', 'skipped', 'cancelled', 'passing ', 'client=',
  'Server certificate', 'TLS ', 'connect to ', 'status=', 'size=',
];

/** `lit` at index `at` of `s` (startsWith without the builtin call, for short literals on hot paths). */
function has(s: string, at: number, lit: string): boolean {
  const n = lit.length;
  if (at < 0 || at + n > s.length) return false;
  for (let k = 0; k < n; k++) if (s.charCodeAt(at + k) !== lit.charCodeAt(k)) return false;
  return true;
}

function knownQidEvent(msg: string, at: number): boolean {
  for (const p of KNOWN_QID_EVENTS) if (msg.startsWith(p, at)) return true;
  return false;
}

interface ToLine {
  addr: string;
  /** The relay, delay and status values as [start, end) indexes into the message (no substrings). */
  relayAt: number;
  relayEnd: number;
  delayAt: number;
  delayEnd: number;
  statusAt: number;
  /** Index in the message just after the status word. */
  restAt: number;
}

/** True when the status word is exactly `word`. */
function statusIs(msg: string, to: ToLine, word: string): boolean {
  return to.restAt - to.statusAt === word.length && has(msg, to.statusAt, word);
}

/**
 * `parseFloat(value) || 0` for the delay value at [at, end), without a substring for the usual
 * `123` / `0.45` forms: digits over a power of ten is the correctly rounded quotient, the same
 * double parseFloat gives for those digits.
 */
function delayValue(msg: string, at: number, end: number): number {
  let n = 0;
  let scale = 1;
  let dot = false;
  let digits = 0;
  for (let i = at; i < end; i++) {
    const c = msg.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      n = n * 10 + (c - 48);
      if (dot) scale *= 10;
      digits++;
    } else if (c === 46 && !dot) dot = true;
    else return parseFloat(msg.slice(at, end)) || 0;
  }
  if (digits === 0 || digits > 15) return parseFloat(msg.slice(at, end)) || 0;
  return n / scale;
}

/** `to=<r>, [orig_to=<o>, ]relay=R, [conn_use=N, ]delay=D, [delays=..., ][dsn=X, ]status=S rest` */
function parseToLine(msg: string): ToLine | null {
  let start = msg.indexOf('to=<');
  while (start >= 0) {
    const r = parseToAt(msg, start + 4);
    if (r !== null) return r;
    start = msg.indexOf('to=<', start + 1);
  }
  return null;
}

function field(msg: string, at: number, name: string): number {
  // returns the index of the ", " ending `name=value` at `at`, or -1
  if (!has(msg, at, name)) return -1;
  const comma = msg.indexOf(',', at + name.length);
  if (comma <= at + name.length || msg.charCodeAt(comma + 1) !== 32) return -1;
  return comma;
}

function parseToAt(msg: string, addrAt: number): ToLine | null {
  const gt = msg.indexOf('>', addrAt);
  if (gt < 0 || !has(msg, gt + 1, ', ')) return null;
  const addr = msg.slice(addrAt, gt);
  let i = gt + 3;
  if (has(msg, i, 'orig_to=<')) {
    const gt2 = msg.indexOf('>', i + 9);
    if (gt2 >= 0 && has(msg, gt2 + 1, ', ')) i = gt2 + 3;
  }
  let e = field(msg, i, 'relay=');
  if (e < 0) return null;
  const relayAt = i + 6;
  const relayEnd = e;
  i = e + 2;
  e = field(msg, i, 'conn_use=');
  if (e >= 0) i = e + 2;
  e = field(msg, i, 'delay=');
  if (e < 0) return null;
  const delayAt = i + 6;
  const delayEnd = e;
  i = e + 2;
  e = field(msg, i, 'delays=');
  if (e >= 0) i = e + 2;
  e = field(msg, i, 'dsn=');
  if (e >= 0) i = e + 2;
  if (!has(msg, i, 'status=')) return null;
  i += 7;
  let j = i;
  const n = msg.length;
  while (j < n) {
    const c = msg.charCodeAt(j);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12) break;
    j++;
  }
  if (j === i) return null;
  return { addr, relayAt, relayEnd, delayAt, delayEnd, statusAt: i, restAt: j };
}

/** `from=<s>, size=N` anywhere in the message. */
function parseFromSize(msg: string): { addr: string; size: string } | null {
  let start = msg.indexOf('from=<');
  while (start >= 0) {
    const gt = msg.indexOf('>', start + 6);
    if (gt < 0) return null;
    if (has(msg, gt + 1, ', size=')) {
      let j = gt + 8;
      while (j < msg.length) {
        const c = msg.charCodeAt(j);
        if (c < 48 || c > 57) break;
        j++;
      }
      if (j > gt + 8) return { addr: msg.slice(start + 6, gt), size: msg.slice(gt + 8, j) };
    }
    start = msg.indexOf('from=<', start + 1);
  }
  return null;
}

function formatStamp(t: LogTimestamp): string {
  const p = (n: number) => (n < 10 ? '0' : '') + n;
  let s = `${t.year}-${p(t.month)}-${p(t.day)}T${p(t.hour)}:${p(t.minute)}:${p(t.second)}`;
  if (t.offsetMinutes !== null) {
    const o = Math.abs(t.offsetMinutes);
    s += `${t.offsetMinutes < 0 ? '-' : '+'}${p((o / 60) | 0)}:${p(o % 60)}`;
  }
  return s;
}

/** Streaming aggregator: feed lines in log order, then call report(). */
export class LogAggregator {
  private readonly parser: LineParser;
  private readonly sinceMs: number;
  private readonly untilMs: number;
  private readonly maxSamples: number;
  private readonly top: number;
  private readonly toDomain: string | null;

  // per-message state (dropped at "removed")
  private readonly msgs = new Map<string, MsgState>();
  private lastQid = '';
  private lastMsg: MsgState | undefined = undefined;

  // totals
  private msgsRcvd = 0; private msgsDlvrd = 0; private msgsFwdd = 0; private msgsDfrd = 0; private msgsDfrdCnt = 0;
  private msgsBncd = 0; private msgsRjctd = 0; private msgsWrnd = 0; private msgsHld = 0; private msgsDscrdd = 0;
  private sizeRcvd = 0; private sizeDlvrd = 0;
  private expired = 0; private removed = 0; private postsuperDeleted = 0; private postsuperRequeued = 0;
  private warningCount = 0; private errorCount = 0; private fatalCount = 0; private panicCount = 0;
  private noSize = 0;

  private readonly sendgUser = new Map<string, UserStat>();
  private readonly sendgDom = new Map<string, UserStat>();
  private readonly recipUser = new Map<string, RcptStat>();
  private readonly recipDom = new Map<string, DomStat>();
  private readonly toDomainStats = new Map<string, ToDomainAddress>();

  private readonly deferrals = new Tree();
  private readonly bounces = new Tree();
  private readonly rejects = new Tree();
  private readonly warns = new Tree();
  private readonly holds = new Tree();
  private readonly discards = new Tree();
  private readonly warnings = new Tree();
  private readonly fatals = new Tree();
  private readonly panics = new Tree();
  private readonly instances = new Map<string, number>();
  private mainInstance = 0;

  private readonly perDay = new Map<string, TrafficCounts>();
  private readonly perHour: TrafficCounts[] = Array.from({ length: 24 }, newCounts);

  // input accounting
  private lines = 0; private postfixLines = 0; private outside = 0; private skipped = 0; private longLines = 0;
  private readonly garbage: UnparsedKind = { count: 0, samples: [] };
  private readonly nonPostfix: UnparsedKind = { count: 0, samples: [] };
  private readonly unrecognised: UnparsedKind = { count: 0, samples: [] };
  private readonly sources: string[] = [];
  private firstStamp: LogTimestamp | null = null; private lastStamp: LogTimestamp | null = null;

  // caches keyed by timestamp object identity (the parser reuses one object per distinct stamp)
  private curStamp: LogTimestamp | null = null;
  private curInWindow = true;
  private curDay: TrafficCounts = newCounts();
  private curHour: TrafficCounts = this.perHour[0];
  private curY = 0; private curM = 0; private curD = 0;
  private readonly windowed: boolean;

  /** Partial mode: see MsgState.ops. */
  private readonly partial: boolean;
  /** Partial mode: queue IDs removed in this piece whose earlier state was unknown, with their effects. */
  private readonly pendingDone: Array<[string, MsgOp]> = [];
  /** Partial mode: every queue ID with a `removed` line in this piece. */
  private readonly removedInPiece = new Set<string>();

  /**
   * `piece` makes an aggregator for a piece of a log that does not start at its beginning: year
   * inference starts from `yearState`, and per-message effects that depend on lines before the
   * piece are recorded (see exportPartial) instead of applied.
   */
  constructor(private readonly options: LogReportOptions = {}, piece?: { yearState: YearState }) {
    this.parser = new LineParser({ year: options.year, now: options.now, yearState: piece?.yearState });
    // the byte totals become doubles anyway: make them so now rather than in optimized code
    this.sizeRcvd = 0.5;
    this.sizeRcvd = 0;
    this.sizeDlvrd = 0.5;
    this.sizeDlvrd = 0;
    this.partial = piece !== undefined;
    this.sinceMs = options.since ? options.since.getTime() : -Infinity;
    this.untilMs = options.until ? options.until.getTime() : Infinity;
    this.windowed = options.since !== undefined || options.until !== undefined;
    this.maxSamples = options.samples ?? 5;
    this.top = options.top ?? 10;
    this.toDomain = options.toDomain ? options.toDomain.replace(/^@/, '').replace(/\.$/, '').toLowerCase() : null;
  }

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

  private sample(kind: UnparsedKind, line: string): void {
    kind.count++;
    if (kind.samples.length < this.maxSamples) kind.samples.push(own(line.length > 300 ? line.slice(0, 297) + '...' : line));
  }

  /** Updates time caches; false when the line is outside the since/until window. */
  private enterStamp(t: LogTimestamp): boolean {
    if (t === this.curStamp) {
      if (!this.curInWindow) this.outside++;
      return this.curInWindow;
    }
    this.curStamp = t;
    if (this.windowed) {
      const ms = timestampToEpochMs(t);
      this.curInWindow = ms >= this.sinceMs && ms < this.untilMs;
    }
    if (!this.curInWindow) {
      this.outside++;
      return false;
    }
    if (this.firstStamp === null) this.firstStamp = t;
    this.lastStamp = t;
    if (t.day !== this.curD || t.month !== this.curM || t.year !== this.curY) {
      this.curD = t.day;
      this.curM = t.month;
      this.curY = t.year;
      const key = dayKey(t);
      let d = this.perDay.get(key);
      if (d === undefined) {
        d = newCounts();
        this.perDay.set(key, d);
      }
      this.curDay = d;
    }
    this.curHour = this.perHour[t.hour];
    return true;
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

    if (prog === 'cleanup' && pid !== null && hasBody &&
        (msg.indexOf(': header ') >= 0 || msg.indexOf(': body ') >= 0 || msg.indexOf(': END-OF-MESSAGE ') >= 0)) {
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
        for (const kw of ['reject: ', 'reject_warning: ', 'hold: ', 'discard: ']) {
          if (msg.startsWith(kw, bodyAt)) {
            this.rejectLike(kw.slice(0, -2), msg);
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
          const st = this.msgs.get(qid);
          if (st === undefined || st.ops !== null) this.pendingDone.push([own(qid), st === undefined ? [] : st.ops as MsgOp]);
          this.removedInPiece.add(own(qid));
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

  private msgState(qid: string, create: boolean): MsgState | undefined {
    if (qid === this.lastQid) return this.lastMsg;
    let st = this.msgs.get(qid);
    if (st === undefined) {
      if (!create && !this.partial) return undefined;
      st = { size: 0, whence: undefined, deferred: false, ops: this.partial && !this.removedInPiece.has(qid) ? [] : null };
      this.msgs.set(own(qid), st);
    }
    this.lastQid = qid;
    this.lastMsg = st;
    return st;
  }

  private received(qid: string, whence: string): void {
    const st = this.msgState(qid, true) as MsgState;
    if (st.ops !== null) st.ops.push(OP_RECEIVED, whence);
    st.whence = whence;
  }

  private rejectLike(kind: string, msg: string): void {
    const d = smtpdRejectDetail(msg);
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
    if (st.ops !== null) st.ops.push(OP_SENDER, own(rawAddr === '' ? 'from=<>' : normalizeAddress(rawAddr)), Number(sizeStr));
    if (st.size !== 0) return; // a repeat (the message re-entered the active queue)
    const addr = rawAddr === '' ? 'from=<>' : normalizeAddress(rawAddr);
    this.sender(st, addr, Number(sizeStr));
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

  /**
   * Partial mode, after the piece was read: corrects the effects that assumed no earlier state,
   * now that `carried` (the states every queue ID had at the piece's start; absent = none) is
   * known, and returns the states at the piece's end (for the next piece; skipped when `last`).
   */
  settle(carried: CarriedState[], last: boolean): CarriedState[] {
    const before = new Map<string, CarriedState>();
    for (const c of carried) before.set(c[0], c);
    const fix = (qid: string, ops: MsgOp): MsgState | undefined => {
      const had = before.get(qid);
      if (had === undefined) return undefined; // the assumption held
      const assumed: MsgState = { size: 0, whence: undefined, deferred: false, ops: null };
      this.applyOps(assumed, ops, -1);
      const real: MsgState = { size: had[1], whence: had[2], deferred: had[3], ops: null };
      this.applyOps(real, ops, 1);
      return real;
    };
    for (const [qid, ops] of this.pendingDone) fix(qid, ops);
    for (const [qid, st] of this.msgs) {
      if (st.ops === null) continue;
      const real = fix(qid, st.ops);
      if (real !== undefined) {
        st.size = real.size;
        st.whence = real.whence;
        st.deferred = real.deferred;
      }
    }
    if (last) return [];
    const after = new Map(before);
    for (const qid of this.removedInPiece) after.delete(qid);
    for (const [qid, st] of this.msgs) after.set(qid, [qid, st.size, st.whence, st.deferred]);
    return [...after.values()];
  }

  /** The per-message states held now (what the next piece starts from). */
  carriedStates(): CarriedState[] {
    const out: CarriedState[] = [];
    for (const [qid, st] of this.msgs) out.push([qid, st.size, st.whence, st.deferred]);
    return out;
  }

  /** Partial mode: everything this piece contributed (after settle()), for merge(); structured-clone friendly. */
  exportPartial(): PartialAggregate {
    const self = this as unknown as Record<string, number>;
    return {
      counters: COUNTERS.map((k) => self[k]),
      sendgUser: pack(this.sendgUser, ['count', 'bytes']),
      sendgDom: pack(this.sendgDom, ['count', 'bytes']),
      recipUser: pack(this.recipUser, ['count', 'bytes', 'sent']),
      recipDom: pack(this.recipDom, ['count', 'bytes', 'deferrals', 'maxDelay']),
      toDomainStats: this.toDomainStats,
      trees: this.trees(),
      instances: this.instances, perDay: this.perDay, perHour: this.perHour,
      garbage: this.garbage, nonPostfix: this.nonPostfix, unrecognised: this.unrecognised,
      firstStamp: this.firstStamp, lastStamp: this.lastStamp,
      yearState: this.parser.yearState(),
    };
  }

  /** Year inference state after the lines fed so far (the entry state the next piece must have been read with). */
  yearState(): YearState {
    return this.parser.yearState();
  }

  private trees(): Tree[] {
    return [this.deferrals, this.bounces, this.rejects, this.warns, this.holds, this.discards, this.warnings, this.fatals, this.panics];
  }

  /**
   * Adds the next piece of the log (the one following everything fed or merged so far, settled
   * with the states this log had reached) into this aggregator. The result equals reading both in
   * one sequence, provided the piece was read starting from this aggregator's yearState() (the
   * caller checks that). Per-message states are not taken over (the caller carries them).
   */
  merge(p: PartialAggregate): void {
    const self = this as unknown as Record<string, number>;
    COUNTERS.forEach((k, i) => {
      self[k] += p.counters[i];
    });
    unpack(p.sendgUser, (k, v, i) => addStat(this.sendgUser, k, v[i], v[i + 1]));
    unpack(p.sendgDom, (k, v, i) => addStat(this.sendgDom, k, v[i], v[i + 1]));
    unpack(p.recipUser, (k, v, i) => {
      const u = this.recipUser.get(k);
      if (u === undefined) this.recipUser.set(k, { count: v[i], bytes: v[i + 1], sent: v[i + 2] });
      else {
        u.count += v[i];
        u.bytes += v[i + 1];
        u.sent += v[i + 2];
      }
    });
    unpack(p.recipDom, (k, v, i) => {
      const d = this.recipDom.get(k);
      if (d === undefined) this.recipDom.set(k, { count: v[i], bytes: v[i + 1], deferrals: v[i + 2], maxDelay: v[i + 3] });
      else {
        d.count += v[i];
        d.bytes += v[i + 1];
        d.deferrals += v[i + 2];
        if (v[i + 3] > d.maxDelay) d.maxDelay = v[i + 3];
      }
    });
    for (const [k, v] of p.toDomainStats) {
      const t = this.toDomainStats.get(k);
      if (t === undefined) this.toDomainStats.set(k, v);
      else {
        t.mails += v.mails;
        t.sent += v.sent;
        t.forwarded += v.forwarded;
        t.bounced += v.bounced;
        t.deferrals += v.deferrals;
      }
    }
    const trees = this.trees();
    p.trees.forEach((t, i) => trees[i].merge(t));
    for (const [k, v] of p.instances) this.instances.set(k, (this.instances.get(k) ?? 0) + v);
    for (const [k, v] of p.perDay) {
      const d = this.perDay.get(k);
      if (d === undefined) this.perDay.set(k, v);
      else addCounts(d, v);
    }
    p.perHour.forEach((c, h) => addCounts(this.perHour[h], c));
    this.mergeSamples(this.garbage, p.garbage);
    this.mergeSamples(this.nonPostfix, p.nonPostfix);
    this.mergeSamples(this.unrecognised, p.unrecognised);
    if (this.firstStamp === null) this.firstStamp = p.firstStamp;
    if (p.lastStamp !== null) this.lastStamp = p.lastStamp;
    this.parser.setYearState(p.yearState);
    this.curStamp = null;
    this.curD = 0;
  }

  /** Applies (sign 1) or takes back (sign -1) recorded effects on a message in state `st`. */
  private applyOps(st: MsgState, ops: MsgOp, sign: number): void {
    let i = 0;
    while (i < ops.length) {
      switch (ops[i]) {
        case OP_RECEIVED:
          st.whence = ops[i + 1] as string;
          i += 2;
          break;
        case OP_SENDER: {
          const addr = ops[i + 1] as string;
          const size = ops[i + 2] as number;
          i += 3;
          if (st.size !== 0) break;
          st.size = size;
          const whence = st.whence;
          if (!perlTrue(whence)) break;
          let dom = addressDomain(addr);
          if (dom === null) dom = whence === 'pickup' ? addr : (whence as string);
          addStat(this.sendgDom, dom, sign, sign * size);
          addStat(this.sendgUser, addr, sign, sign * size);
          this.sizeRcvd += sign * size;
          st.whence = undefined;
          break;
        }
        case OP_SENT: {
          const bytes = st.size;
          if (bytes === 0) this.noSize += sign;
          (ops[i + 1] as RcptStat).bytes += sign * bytes;
          (ops[i + 2] as DomStat).bytes += sign * bytes;
          this.sizeDlvrd += sign * bytes;
          i += 3;
          break;
        }
        default: // OP_DEFERRED
          if (!st.deferred) {
            st.deferred = true;
            this.msgsDfrd += sign;
          }
          i += 1;
      }
    }
  }

  private mergeSamples(dst: UnparsedKind, src: UnparsedKind): void {
    dst.count += src.count;
    for (const s of src.samples) if (dst.samples.length < this.maxSamples) dst.samples.push(s);
  }

  /** The report for everything fed so far. */
  report(): LogReport {
    const top = this.top;
    // top lists straight from the maps: only the entries listed become objects
    const counted = (v: UserStat) => v.count > 0;
    const all = () => true;
    const stat = (key: string, v: UserStat): AddressStat => ({ key, count: v.count, bytes: v.bytes });
    const domStat = (key: string, v: DomStat): RecipientDomainStat => ({
      key, count: v.count, bytes: v.bytes, deferrals: v.deferrals, maxDelay: v.maxDelay,
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
      const addresses = [...this.toDomainStats.values()].sort((a, b) =>
        b.mails - a.mails || b.deferrals - a.deferrals || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
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
      sentPerRecipient: topOfMap(this.recipUser, top, (v) => v.sent > 0, entryBySent, (key, v) => ({ key, count: v.sent })),
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
        .map(([key, count]) => ({ key, count })).sort(byCountThenKey),
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

/** Adds to (or, with negative numbers, takes from) an entry; an entry left with no count is dropped. */
function addStat(m: Map<string, UserStat>, key: string, count: number, bytes: number): void {
  const s = m.get(key);
  if (s === undefined) m.set(own(key), { count, bytes });
  else {
    s.count += count;
    s.bytes += bytes;
    if (s.count === 0) m.delete(key);
  }
}

function pack<T>(m: Map<string, T>, fields: Array<keyof T>): PackedMap {
  const keys: string[] = [];
  const values = new Float64Array(m.size * fields.length);
  let i = 0;
  for (const [k, v] of m) {
    keys.push(k);
    for (const f of fields) values[i++] = v[f] as unknown as number;
  }
  return { keys: keys.join('\n'), fields: fields.length, values };
}

function unpack(p: PackedMap, each: (key: string, values: Float64Array, at: number) => void): void {
  if (p.values.length === 0) return;
  const keys = p.keys.split('\n');
  for (let j = 0; j < keys.length; j++) each(keys[j], p.values, j * p.fields);
}

function addCounts(d: TrafficCounts, s: TrafficCounts): void {
  d.received += s.received;
  d.delivered += s.delivered;
  d.deferred += s.deferred;
  d.bounced += s.bounced;
  d.rejected += s.rejected;
}

function bump(m: Map<string, UserStat>, key: string, bytes: number): void {
  const s = m.get(key);
  if (s === undefined) m.set(own(key), { count: 1, bytes });
  else {
    s.count++;
    s.bytes += bytes;
  }
}

/** Text after the last `marker` (pflogsumm's `s/^.*warning: //`), or all of it. */
function after(msg: string, marker: string): string {
  const i = msg.lastIndexOf(marker);
  return i < 0 ? msg : msg.slice(i + marker.length);
}

function rebuild(p: PostfixLogLine): string {
  return `${formatStamp(p.timestamp)} ${p.host} ${p.syslogName}${p.pid === null ? '' : `[${p.pid}]`}: ${p.message}`;
}
