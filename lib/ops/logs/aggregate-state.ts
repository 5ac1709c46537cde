/** The state of a log aggregation: what every part of the aggregator reads and writes. */
import { LineParser, LogTimestamp, YearState, dayKey, timestampToEpochMs } from './parse';
import { own } from './pflogsumm-compat';
import { Tree } from './tree';
import { LogReportOptions, ToDomainAddress, TrafficCounts, UnparsedKind } from './types';

export function newCounts(): TrafficCounts {
  return { received: 0, delivered: 0, deferred: 0, bounced: 0, rejected: 0 };
}

export interface UserStat {
  count: number;
  bytes: number;
}
/** What is known about one queue ID until its `removed` line. */
export interface MsgState {
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
export type MsgOp = Array<number | string | RcptStat | DomStat>;
export const OP_RECEIVED = 1;
export const OP_SENDER = 2;
export const OP_SENT = 3;
export const OP_DEFERRED = 4;

/** A queue ID's state as handed from one piece to the next: [qid, size, whence, deferred]. */
export type CarriedState = [string, number, string | undefined, boolean];

/** The numeric fields summed when pieces are merged (order = PartialAggregate.counters). */
export const COUNTERS = [
  'msgsRcvd',
  'msgsDlvrd',
  'msgsFwdd',
  'msgsDfrd',
  'msgsDfrdCnt',
  'msgsBncd',
  'msgsRjctd',
  'msgsWrnd',
  'msgsHld',
  'msgsDscrdd',
  'sizeRcvd',
  'sizeDlvrd',
  'expired',
  'removed',
  'postsuperDeleted',
  'postsuperRequeued',
  'warningCount',
  'errorCount',
  'fatalCount',
  'panicCount',
  'noSize',
  'mainInstance',
  'lines',
  'postfixLines',
  'outside',
  'skipped',
  'longLines',
] as const;
export interface RcptStat {
  count: number;
  bytes: number;
  sent: number;
}
export interface DomStat {
  count: number;
  bytes: number;
  deferrals: number;
  maxDelay: number;
}

// Byte totals outgrow small integers and delays are fractions: give these shapes double fields
// before any of them is made, so optimized code is not thrown away when the first large value comes.
const primed: unknown[] = [
  { count: 0, bytes: 0.5 },
  { count: 0, bytes: 0.5, sent: 0 },
  { count: 0, bytes: 0.5, deferrals: 0, maxDelay: 0.5 },
];
void primed;

/** Adds to (or, with negative numbers, takes from) an entry; an entry left with no count is dropped. */
export function addStat(m: Map<string, UserStat>, key: string, count: number, bytes: number): void {
  const s = m.get(key);
  if (s === undefined) m.set(own(key), { count, bytes });
  else {
    s.count += count;
    s.bytes += bytes;
    if (s.count === 0) m.delete(key);
  }
}

export function bump(m: Map<string, UserStat>, key: string, bytes: number): void {
  const s = m.get(key);
  if (s === undefined) m.set(own(key), { count: 1, bytes });
  else {
    s.count++;
    s.bytes += bytes;
  }
}

/**
 * The counters, maps and per-message states an aggregator keeps, and the bookkeeping every line
 * goes through (time window, day/hour buckets, samples). Built on it, one job a file: merging
 * pieces (aggregate-merge.ts), the report (aggregate-report.ts), reading lines (aggregate.ts).
 */
export abstract class AggregateState {
  protected readonly parser: LineParser;
  protected readonly sinceMs: number;
  protected readonly untilMs: number;
  protected readonly maxSamples: number;
  protected readonly top: number;
  protected readonly toDomain: string | null;

  // per-message state (dropped at "removed")
  protected readonly msgs = new Map<string, MsgState>();
  protected lastQid = '';
  protected lastMsg: MsgState | undefined = undefined;

  // totals
  protected msgsRcvd = 0;
  protected msgsDlvrd = 0;
  protected msgsFwdd = 0;
  protected msgsDfrd = 0;
  protected msgsDfrdCnt = 0;
  protected msgsBncd = 0;
  protected msgsRjctd = 0;
  protected msgsWrnd = 0;
  protected msgsHld = 0;
  protected msgsDscrdd = 0;
  protected sizeRcvd = 0;
  protected sizeDlvrd = 0;
  protected expired = 0;
  protected removed = 0;
  protected postsuperDeleted = 0;
  protected postsuperRequeued = 0;
  protected warningCount = 0;
  protected errorCount = 0;
  protected fatalCount = 0;
  protected panicCount = 0;
  protected noSize = 0;

  protected readonly sendgUser = new Map<string, UserStat>();
  protected readonly sendgDom = new Map<string, UserStat>();
  protected readonly recipUser = new Map<string, RcptStat>();
  protected readonly recipDom = new Map<string, DomStat>();
  protected readonly toDomainStats = new Map<string, ToDomainAddress>();

  protected readonly deferrals = new Tree();
  protected readonly bounces = new Tree();
  protected readonly rejects = new Tree();
  protected readonly warns = new Tree();
  protected readonly holds = new Tree();
  protected readonly discards = new Tree();
  protected readonly warnings = new Tree();
  protected readonly fatals = new Tree();
  protected readonly panics = new Tree();
  protected readonly instances = new Map<string, number>();
  protected mainInstance = 0;

  protected readonly perDay = new Map<string, TrafficCounts>();
  protected readonly perHour: TrafficCounts[] = Array.from({ length: 24 }, newCounts);

  // input accounting
  protected lines = 0;
  protected postfixLines = 0;
  protected outside = 0;
  protected skipped = 0;
  protected longLines = 0;
  protected readonly garbage: UnparsedKind = { count: 0, samples: [] };
  protected readonly nonPostfix: UnparsedKind = { count: 0, samples: [] };
  protected readonly unrecognised: UnparsedKind = { count: 0, samples: [] };
  protected readonly sources: string[] = [];
  protected firstStamp: LogTimestamp | null = null;
  protected lastStamp: LogTimestamp | null = null;

  // caches keyed by timestamp object identity (the parser reuses one object per distinct stamp)
  protected curStamp: LogTimestamp | null = null;
  protected curInWindow = true;
  protected curDay: TrafficCounts = newCounts();
  protected curHour: TrafficCounts = this.perHour[0];
  protected curY = 0;
  protected curM = 0;
  protected curD = 0;
  protected readonly windowed: boolean;

  /** Partial mode: see MsgState.ops. */
  protected readonly partial: boolean;
  /**
   * Partial mode: every queue ID with a `removed` line in this piece, with the effects recorded
   * until its first removal (null when its state before that was known). One entry a message, the
   * only thing a piece keeps of a message after its removal until settle().
   */
  protected readonly removedInPiece = new Map<string, MsgOp | null>();

  /**
   * `piece` makes an aggregator for a piece of a log that does not start at its beginning: year
   * inference starts from `yearState`, and per-message effects that depend on lines before the
   * piece are recorded (see exportPartial) instead of applied.
   */
  constructor(
    protected readonly options: LogReportOptions = {},
    piece?: { yearState: YearState },
  ) {
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

  protected sample(kind: UnparsedKind, line: string): void {
    kind.count++;
    if (kind.samples.length < this.maxSamples) kind.samples.push(own(line.length > 300 ? line.slice(0, 297) + '...' : line));
  }

  /** Updates time caches; false when the line is outside the since/until window. */
  protected enterStamp(t: LogTimestamp): boolean {
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

  protected msgState(qid: string, create: boolean): MsgState | undefined {
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

  protected trees(): Tree[] {
    return [this.deferrals, this.bounces, this.rejects, this.warns, this.holds, this.discards, this.warnings, this.fatals, this.panics];
  }
}
