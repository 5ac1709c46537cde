/**
 * Line-level parsing of Postfix mail logs: the timestamp, host and syslog tag in front of every
 * line, in each of the forms Postfix logs reach disk in:
 *
 *  - traditional syslog            `Nov 29 18:24:39 host postfix/smtpd[123]: text`
 *    (also journalctl `-o short`, and Postfix's own maillog_file written by postlogd, checked on
 *    3.7.11: `Nov 29 19:03:48 vm postfix/smtpd[5664]: connect from ...`; day may be space- or
 *    zero-padded, seconds may carry a fraction as in `-o short-precise`)
 *  - traditional with a year       `Nov 29 2026 18:24:39 host ...` or `Nov 29 18:24:39 2026 host ...`
 *  - RFC 3339 (rsyslog, Debian 12) `2026-11-29T18:24:39.123456+00:00 host postfix/submission/smtpd[123]: text`
 *  - journalctl `-o short-iso`     `2026-11-29T18:24:39+0000 host ...` (offset without a colon)
 *
 * Everything here is allocation-light and regex-free: it runs once per line.
 */
import { LogTimestamp, YearState, YearTracker, parseTime, scratch, skipFraction } from './timestamp';

export { YearTracker, dayKey, peekTimestamp, timestampToEpochMs } from './timestamp';
export type { LogTimestamp, YearState } from './timestamp';

/** One Postfix log line split into its parts. */
export interface PostfixLogLine {
  kind: 'postfix';
  timestamp: LogTimestamp;
  host: string;
  /** The whole syslog name, e.g. `postfix/submission/smtpd` or `postfix-out/smtp`. */
  syslogName: string;
  /** First part of the syslog name: `postfix`, or `postfix-NAME` for a multi-instance setup. */
  instance: string;
  /** Last part of the syslog name: the daemon, e.g. `smtpd`, `qmgr`, `cleanup`. */
  program: string;
  pid: number | null;
  /** Text after `tag[pid]: `. */
  message: string;
}

/** A well-formed syslog line from a program that is not Postfix (dovecot, opendkim, ...). */
export interface ForeignLogLine {
  kind: 'nonPostfix';
  timestamp: LogTimestamp;
  host: string;
  syslogName: string;
  message: string;
  line: string;
}

/** A line without a recognisable timestamp/host/tag header. */
export interface GarbageLogLine {
  kind: 'garbage';
  line: string;
}

/** Empty lines and journalctl markers (`-- Boot ... --`, `-- No entries --`). */
export interface SkippedLogLine {
  kind: 'skipped';
  line: string;
}

export type ParsedLogLine = PostfixLogLine | ForeignLogLine | GarbageLogLine | SkippedLogLine;

/** Postfix's daemons and tools as they appear in syslog names (shared strings: no copy per line). */
const PROGRAMS: string[][] = [];
for (const p of [
  'smtpd',
  'smtp',
  'qmgr',
  'cleanup',
  'local',
  'pickup',
  'bounce',
  'postscreen',
  'master',
  'postsuper',
  'lmtp',
  'virtual',
  'pipe',
  'anvil',
  'scache',
  'trivial-rewrite',
  'error',
  'discard',
  'postfix-script',
  'tlsmgr',
  'verify',
  'proxymap',
  'postlogd',
  'sendmail',
  'postdrop',
  'dnsblog',
  'tlsproxy',
  'flush',
  'showq',
  'spawn',
  'oqmgr',
  'qmqpd',
  'postqueue',
  'postmap',
  'postalias',
  'postconf',
  'postmulti',
  'postkick',
  'postlog',
  'retry',
  'defer',
  'trace',
])
  (PROGRAMS[p.length] ??= []).push(p);

/** line[start, end) as a string, taken from PROGRAMS when it is one of them. */
function programName(line: string, start: number, end: number): string {
  const names = PROGRAMS[end - start];
  if (names !== undefined) {
    for (const name of names) {
      let k = 0;
      while (k < name.length && line.charCodeAt(start + k) === name.charCodeAt(k)) k++;
      if (k === name.length) return name;
    }
  }
  return line.slice(start, end);
}

interface StampSlot {
  /** The line's text up to the end of the seconds. */
  prefix: string;
  /** prefix without the two digits of the seconds. */
  minute: string;
  /** What follows the seconds and any fraction, up to the space before the host (zone, year). */
  tail: string;
  stamp: LogTimestamp;
  /** YearTracker.version after the stamp was made. */
  version: number;
}

/** Set by matchSlot: the line's second when it differs from the slot's (same minute), else -1. */
let otherSecond = -1;

/**
 * Where the timestamp of a line ends when its text equals a cached one up to the minute (and in
 * zone/year suffix), or -1. When only the seconds differ, otherSecond holds the line's.
 */
function matchSlot(line: string, slot: StampSlot): number {
  const p = slot.prefix;
  const n = p.length;
  if (line.length <= n) return -1;
  // the seconds first: they differ most often
  const s1 = line.charCodeAt(n - 2);
  const s2 = line.charCodeAt(n - 1);
  if (!line.startsWith(slot.minute)) return -1;
  otherSecond = -1;
  if (s1 !== p.charCodeAt(n - 2) || s2 !== p.charCodeAt(n - 1)) {
    const sec = (s1 - 48) * 10 + (s2 - 48);
    if (s1 < 48 || s1 > 54 || s2 < 48 || s2 > 57 || sec > 60) return -1;
    otherSecond = sec;
  }
  const j = skipFraction(line, n);
  const tail = slot.tail;
  if ((tail.length === 0 || line.startsWith(tail, j)) && line.charCodeAt(j + tail.length) === 32) return j + tail.length;
  return -1;
}

/**
 * Stateful line parser. Keep one per logical stream (all rotated files of one log, in order), so
 * year inference carries across file boundaries.
 */
export class LineParser {
  private readonly years: YearTracker;
  // The last two distinct timestamp texts (two, so logs mixing the traditional and RFC 3339 forms
  // line by line stay on the fast path), most recent first.
  private slotA: StampSlot | null = null;
  private slotB: StampSlot | null = null;

  constructor(options: { year?: number; now?: Date; yearState?: YearState } = {}) {
    this.years = new YearTracker(options.year, options.now);
    if (options.yearState) this.years.setState(options.yearState);
  }

  /** State of the year inference after the lines parsed so far. */
  yearState(): YearState {
    return this.years.getState();
  }

  /** Continues year inference from `state` (the state after the lines that came before). */
  setYearState(state: YearState): void {
    this.years.setState(state);
    this.slotA = null;
    this.slotB = null;
  }

  // Fields of the last line parsed by parseFields() (kept on the parser to avoid an object per line).
  /** Timestamp of the last line (shared by lines with the same timestamp text). */
  stamp: LogTimestamp | null = null;
  instance = '';
  program = '';
  pid: number | null = null;
  message = '';
  private cur = '';
  private hostStart = 0;
  private hostEnd = 0;
  private tagStart = 0;
  private nameEnd = 0;

  /** Host of the last line parsed by parseFields(). */
  get host(): string {
    return this.cur.slice(this.hostStart, this.hostEnd);
  }

  /** Whole syslog name of the last line parsed by parseFields(). */
  get syslogName(): string {
    return this.cur.slice(this.tagStart, this.nameEnd);
  }

  /**
   * Whether a cached stamp stands for its text now: a stamp with its own year always does (the
   * tracker is synced as parsing it would); a year-less one while the year state is unchanged.
   */
  private reusable(slot: StampSlot): boolean {
    const st = slot.stamp;
    if (st.yearInferred) return slot.version === this.years.version;
    this.years.sync(st.year, st.month);
    return true;
  }

  /** Parses a line, returning it as an object. */
  parse(line: string): ParsedLogLine {
    const kind = this.parseFields(line);
    switch (kind) {
      case LINE_POSTFIX:
        return {
          kind: 'postfix',
          timestamp: this.stamp as LogTimestamp,
          host: this.host,
          syslogName: this.syslogName,
          instance: this.instance,
          program: this.program,
          pid: this.pid,
          message: this.message,
        };
      case LINE_FOREIGN:
        return {
          kind: 'nonPostfix',
          timestamp: this.stamp as LogTimestamp,
          host: this.host,
          syslogName: this.syslogName,
          message: this.message,
          line,
        };
      case LINE_GARBAGE:
        return { kind: 'garbage', line };
      default:
        return { kind: 'skipped', line };
    }
  }

  /**
   * Parses a line into this parser's fields (stamp, host, syslogName, instance, program, pid,
   * message) and returns its kind: LINE_POSTFIX, LINE_FOREIGN, LINE_GARBAGE or LINE_SKIPPED.
   */
  parseFields(line: string): number {
    if (line.length === 0) return LINE_SKIPPED;
    // Fast path: consecutive lines very often share the whole timestamp text.
    // The fraction of a second may differ (rsyslog's microseconds): same second, same zone suffices.
    let end = -1;
    const a = this.slotA;
    if (a !== null) {
      end = matchSlot(line, a);
      if (end >= 0 && !this.reusable(a)) end = -1;
    }
    if (end < 0 && this.slotB !== null) {
      const b = this.slotB;
      end = matchSlot(line, b);
      if (end >= 0 && this.reusable(b)) {
        this.slotB = a;
        this.slotA = b;
      } else end = -1;
    }
    if (end >= 0 && otherSecond >= 0) {
      // same minute, another second: the same fields (and year) but the second
      const slot = this.slotA as StampSlot;
      const o = slot.stamp;
      slot.stamp = {
        year: o.year,
        month: o.month,
        day: o.day,
        hour: o.hour,
        minute: o.minute,
        second: otherSecond,
        offsetMinutes: o.offsetMinutes,
        yearInferred: o.yearInferred,
      };
      slot.prefix = slot.minute + line.slice(slot.prefix.length - 2, slot.prefix.length);
    }
    if (end < 0) {
      if (!parseTime(line)) return line.startsWith('-- ') ? LINE_SKIPPED : LINE_GARBAGE;
      const t = scratch;
      let year = t.year;
      let inferred = false;
      if (year === 0) {
        year = this.years.resolve(t.month);
        inferred = true;
      } else this.years.sync(year, t.month);
      const h = (t.secs / 3600) | 0;
      const rem = t.secs - h * 3600;
      const m = (rem / 60) | 0;
      const stamp: LogTimestamp = {
        year,
        month: t.month,
        day: t.day,
        hour: h,
        minute: m,
        second: rem - m * 60,
        offsetMinutes: t.offset,
        yearInferred: inferred,
      };
      end = t.end;
      this.slotB = this.slotA;
      const prefix = line.slice(0, t.secEnd);
      this.slotA = { prefix, minute: prefix.slice(0, -2), tail: line.slice(t.fracEnd, end), stamp, version: this.years.version };
    }
    this.stamp = (this.slotA as StampSlot).stamp;
    // host
    let hostStart = end + 1;
    while (line.charCodeAt(hostStart) === 32) hostStart++;
    const hostEnd = line.indexOf(' ', hostStart);
    if (hostEnd <= hostStart) return LINE_GARBAGE;
    // tag: up to the first ": " (a tag has no spaces); `tag:` at end of line means an empty message.
    // One forward scan notes the slashes and the last `[` on the way.
    const tagStart = hostEnd + 1;
    const len = line.length;
    let tagEnd = -1;
    let msgStart = len;
    let firstSlash = -1;
    let lastSlash = -1;
    let open = -1;
    let slashBeforeOpen = -1;
    for (let i = tagStart; i < len; i++) {
      const c = line.charCodeAt(i);
      if (c === 58) {
        if (i + 1 === len) {
          tagEnd = i;
          break;
        }
        if (line.charCodeAt(i + 1) === 32) {
          tagEnd = i;
          msgStart = i + 2;
          break;
        }
      } else if (c === 32) return LINE_GARBAGE;
      else if (c === 47) {
        lastSlash = i;
        if (firstSlash < 0) firstSlash = i;
      } else if (c === 91) {
        open = i;
        slashBeforeOpen = lastSlash;
      }
    }
    if (tagEnd <= tagStart) return LINE_GARBAGE;
    let nameEnd = tagEnd;
    let pid: number | null = null;
    if (line.charCodeAt(tagEnd - 1) === 93 && open > tagStart && open + 1 < tagEnd - 1) {
      let p = 0;
      let ok = true;
      for (let k = open + 1; k < tagEnd - 1; k++) {
        const dd = line.charCodeAt(k) - 48;
        if (dd < 0 || dd > 9) {
          ok = false;
          break;
        }
        p = p * 10 + dd;
      }
      if (ok) {
        pid = p;
        nameEnd = open;
        lastSlash = slashBeforeOpen;
      }
    }
    this.cur = line;
    this.hostStart = hostStart;
    this.hostEnd = hostEnd;
    this.tagStart = tagStart;
    this.nameEnd = nameEnd;
    this.pid = pid;
    this.message = msgStart === len ? '' : line.slice(msgStart);
    // `postfix/...`: the common case, checked without a substring
    if (firstSlash === tagStart + 7 && line.charCodeAt(tagStart) === 112 && line.startsWith('postfix', tagStart)) {
      this.instance = 'postfix';
      this.program = programName(line, lastSlash + 1, nameEnd);
      return LINE_POSTFIX;
    }
    const syslogName = line.slice(tagStart, nameEnd);
    const slash = firstSlash < 0 || firstSlash >= nameEnd ? -1 : firstSlash - tagStart;
    const instance = slash < 0 ? syslogName : syslogName.slice(0, slash);
    if (instance !== 'postfix' && !instance.startsWith('postfix-')) return LINE_FOREIGN;
    this.instance = instance;
    this.program = slash < 0 ? syslogName : syslogName.slice(syslogName.lastIndexOf('/') + 1);
    return LINE_POSTFIX;
  }
}

export const LINE_POSTFIX = 0;
export const LINE_FOREIGN = 1;
export const LINE_GARBAGE = 2;
export const LINE_SKIPPED = 3;
