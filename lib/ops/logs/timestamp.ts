/**
 * Timestamps of Postfix log lines, in each form they reach disk in (see parse.ts for the whole
 * line): parsed in place without a regex or an allocation, and the year inferred for stamps that
 * have none (traditional syslog), because this runs once per line.
 */
/** A log timestamp as written (wall-clock fields; no time-zone conversion). */
export interface LogTimestamp {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Offset from UTC in minutes when the line carried one (RFC 3339), else null (local time). */
  offsetMinutes: number | null;
  /** True when the year was not in the line and was inferred. */
  yearInferred: boolean;
}

const MONTHS: Record<string, number> = {
  Jan: 1,
  Feb: 2,
  Mar: 3,
  Apr: 4,
  May: 5,
  Jun: 6,
  Jul: 7,
  Aug: 8,
  Sep: 9,
  Oct: 10,
  Nov: 11,
  Dec: 12,
};

/**
 * Assigns years to year-less (traditional) timestamps. The first such line gets `year` (when given)
 * or the current year, or last year when its month lies after the current month (a log does not
 * come from the future; pflogsumm's rule). After that, a month going backwards by six or more
 * (Dec -> Jan) starts a new year; a small step backwards (Dec 1 followed by a late Nov 30 line) is
 * disorder, not a new year. A line with a full date (RFC 3339) re-synchronises the tracker, so
 * mixed forms in one stream stay consistent.
 */
export class YearTracker {
  private year = 0;
  private lastMonth = 0;
  /** Bumped whenever the state changes (a year-less stamp resolved before is still valid while it stays). */
  version = 0;

  constructor(
    private readonly explicitYear?: number,
    private readonly now: Date = new Date(),
  ) {}

  /** Year for a year-less line in `month` (1-12). */
  resolve(month: number): number {
    if (this.lastMonth === 0) {
      if (this.explicitYear !== undefined) this.year = this.explicitYear;
      else {
        const thisYear = this.now.getFullYear();
        this.year = month > this.now.getMonth() + 1 ? thisYear - 1 : thisYear;
      }
      this.lastMonth = month;
      this.version++;
      return this.year;
    }
    const step = month - this.lastMonth;
    if (step <= -6) {
      this.year += 1;
      this.lastMonth = month;
      this.version++;
      return this.year;
    }
    if (step >= 6) return this.year - 1; // late line from the previous year, state unchanged
    if (step > 0) {
      this.lastMonth = month;
      this.version++;
    }
    return this.year;
  }

  /** Note a line that carried its own year. */
  sync(year: number, month: number): void {
    if (year === this.year && month === this.lastMonth) return;
    this.year = year;
    this.lastMonth = month;
    this.version++;
  }

  /** The tracker's whole state (lastMonth 0 = nothing seen yet), for handing a log over at a split point. */
  getState(): YearState {
    return { year: this.year, lastMonth: this.lastMonth };
  }

  setState(state: YearState): void {
    this.year = state.year;
    this.lastMonth = state.lastMonth;
    this.version++;
  }
}

/** YearTracker state: the year in force and the month it was last advanced to (0 = no stamp yet). */
export interface YearState {
  year: number;
  lastMonth: number;
}

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

function num2(s: string, i: number): number {
  const a = digit(s, i);
  const b = digit(s, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

function num4(s: string, i: number): number {
  const a = num2(s, i);
  const b = num2(s, i + 2);
  return a < 0 || b < 0 ? -1 : a * 100 + b;
}

/** Parses `HH:MM:SS` at i; returns seconds-of-day or -1. */
function hms(s: string, i: number): number {
  if (s.charCodeAt(i + 2) !== 58 || s.charCodeAt(i + 5) !== 58) return -1;
  const h = num2(s, i);
  const m = num2(s, i + 3);
  const sec = num2(s, i + 6);
  if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60) return -1;
  return h * 3600 + m * 60 + sec;
}

/** Skips an optional `.digits` fraction at i. */
export function skipFraction(s: string, i: number): number {
  if (s.charCodeAt(i) !== 46) return i;
  let j = i + 1;
  while (digit(s, j) >= 0) j++;
  return j === i + 1 ? i : j;
}

export interface RawTime {
  year: number; // 0 = not in the line
  month: number;
  day: number;
  secs: number;
  offset: number | null;
  /** Index just after the timestamp (at the separating space). */
  end: number;
  /** Index just after HH:MM:SS, and just after the fraction (equal when there is none). */
  secEnd: number;
  fracEnd: number;
}

export const scratch: RawTime = { year: 0, month: 0, day: 0, secs: 0, offset: null, end: 0, secEnd: 0, fracEnd: 0 };

/** Parses the timestamp at the start of `line` into `scratch`; false when there is none. */
export function parseTime(line: string): boolean {
  const c0 = line.charCodeAt(0);
  if (c0 >= 48 && c0 <= 57) {
    // YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|+HH:MM|+HHMM]
    if (line.charCodeAt(4) !== 45 || line.charCodeAt(7) !== 45) return false;
    const sep = line.charCodeAt(10);
    if (sep !== 84 && sep !== 32) return false;
    const year = num4(line, 0);
    const month = num2(line, 5);
    const day = num2(line, 8);
    const secs = hms(line, 11);
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || secs < 0) return false;
    let i = skipFraction(line, 19);
    scratch.secEnd = 19;
    scratch.fracEnd = i;
    let offset: number | null = null;
    const oc = line.charCodeAt(i);
    if (oc === 90) {
      offset = 0;
      i++;
    } else if (oc === 43 || oc === 45) {
      const oh = num2(line, i + 1);
      let om: number;
      if (line.charCodeAt(i + 3) === 58) {
        om = num2(line, i + 4);
        i += 6;
      } else {
        om = num2(line, i + 3);
        i += 5;
      }
      if (oh < 0 || om < 0) return false;
      offset = (oc === 45 ? -1 : 1) * (oh * 60 + om);
    }
    if (line.charCodeAt(i) !== 32) return false;
    scratch.year = year;
    scratch.month = month;
    scratch.day = day;
    scratch.secs = secs;
    scratch.offset = offset;
    scratch.end = i;
    return true;
  }
  // Mmm dD HH:MM:SS, Mmm DD HH:MM:SS, optional fraction, optional year before or after the time
  if (line.charCodeAt(3) !== 32) return false;
  const month = MONTHS[line.slice(0, 3)];
  if (month === undefined) return false;
  let i = 4;
  if (line.charCodeAt(i) === 32) i++;
  let day = digit(line, i);
  if (day < 0) return false;
  i++;
  const d2 = digit(line, i);
  if (d2 >= 0) {
    day = day * 10 + d2;
    i++;
  }
  if (line.charCodeAt(i) !== 32 || day < 1 || day > 31) return false;
  i++;
  let year = 0;
  if (line.charCodeAt(i + 4) === 32 && line.charCodeAt(i + 2) !== 58) {
    year = num4(line, i);
    if (year < 0) return false;
    i += 5;
  }
  const secs = hms(line, i);
  if (secs < 0) return false;
  scratch.secEnd = i + 8;
  i = skipFraction(line, i + 8);
  scratch.fracEnd = i;
  if (line.charCodeAt(i) !== 32) return false;
  if (year === 0) {
    // `Mmm DD HH:MM:SS YYYY host tag: ...`: a 4-digit token followed by host and a tag
    const y = num4(line, i + 1);
    if (y > 0 && line.charCodeAt(i + 5) === 32) {
      const hostEnd = line.indexOf(' ', i + 6);
      if (hostEnd > 0) {
        const tagEnd = line.indexOf(' ', hostEnd + 1);
        const tagLast = tagEnd < 0 ? line.length - 1 : tagEnd - 1;
        if (line.charCodeAt(tagLast) === 58) {
          year = y;
          i += 5;
        }
      }
    }
  }
  scratch.year = year;
  scratch.month = month;
  scratch.day = day;
  scratch.secs = secs;
  scratch.offset = null;
  scratch.end = i;
  return true;
}

/** Milliseconds since the epoch for a timestamp; year-less/offset-less ones are local time. */
export function timestampToEpochMs(t: LogTimestamp): number {
  if (t.offsetMinutes === null) {
    return new Date(t.year, t.month - 1, t.day, t.hour, t.minute, t.second).getTime();
  }
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) - t.offsetMinutes * 60000;
}

/** `YYYY-MM-DD` for the wall-clock date of a timestamp. */
export function dayKey(t: LogTimestamp): string {
  return `${t.year}-${t.month < 10 ? '0' : ''}${t.month}-${t.day < 10 ? '0' : ''}${t.day}`;
}

/**
 * The timestamp at the start of a line without year inference: a sort key for ordering rotated
 * files. Returns null when the line has no timestamp.
 */
export function peekTimestamp(
  line: string,
): { year: number | null; month: number; day: number; secs: number; offset: number | null } | null {
  if (!parseTime(line)) return null;
  return {
    year: scratch.year === 0 ? null : scratch.year,
    month: scratch.month,
    day: scratch.day,
    secs: scratch.secs,
    offset: scratch.offset,
  };
}
