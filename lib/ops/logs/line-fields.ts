/**
 * Field-level parsing of the message part of a Postfix log line (queue IDs, `to=` and `from=` lines),
 * written for the hot path: index arithmetic instead of regular expressions where it counts.
 */
import { LogTimestamp, PostfixLogLine } from './parse';

const LONG_QID = /^[0-9BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz]{10,}$/;
const SHORT_QID = /^[0-9A-F]{5,}$/;

/** True for a Postfix queue ID (short hex or long base-52 form) or NOQUEUE. */
export function isQueueId(token: string): boolean {
  if (token === 'NOQUEUE') return true;
  return SHORT_QID.test(token) || (token.indexOf('z') > 0 && LONG_QID.test(token));
}

export function isWord(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95)) return false;
  }
  return true;
}

/** What may follow `QID: ` in a line this parser understands (informational ones included). */
const KNOWN_QID_EVENTS = [
  'client=',
  'message-id=',
  'resent-message-id=',
  'from=',
  'to=',
  'orig_to=',
  'removed',
  'reject:',
  'reject_warning:',
  'hold:',
  'discard:',
  'milter-',
  'warning:',
  'info:',
  'filter:',
  'redirect:',
  'replace:',
  'prepend:',
  'bcc:',
  'uid=',
  'sender=',
  'sender non-delivery notification',
  'sender delivery status notification',
  'sender delay notification',
  'host ',
  'lost connection',
  'conversation with',
  'enabling PIX',
  'Cannot start TLS',
  'SASL ',
  'header ',
  'body ',
  'END-OF-MESSAGE',
  'postponed',
  'skipped',
  'cancelled',
  'passing ',
  'client=',
  'Server certificate',
  'TLS ',
  'connect to ',
  'status=',
  'size=',
  // smtp(8) folding a body line longer than smtp_line_length_limit (postconf(5)), 3.7.11's wording
  'breaking line > ',
];

/** `lit` at index `at` of `s` (startsWith without the builtin call, for short literals on hot paths). */
export function has(s: string, at: number, lit: string): boolean {
  const n = lit.length;
  if (at < 0 || at + n > s.length) return false;
  for (let k = 0; k < n; k++) if (s.charCodeAt(at + k) !== lit.charCodeAt(k)) return false;
  return true;
}

export function knownQidEvent(msg: string, at: number): boolean {
  for (const p of KNOWN_QID_EVENTS) if (msg.startsWith(p, at)) return true;
  return false;
}

export interface ToLine {
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
export function statusIs(msg: string, to: ToLine, word: string): boolean {
  return to.restAt - to.statusAt === word.length && has(msg, to.statusAt, word);
}

/**
 * `parseFloat(value) || 0` for the delay value at [at, end), without a substring for the usual
 * `123` / `0.45` forms: digits over a power of ten is the correctly rounded quotient, the same
 * double parseFloat gives for those digits.
 */
export function delayValue(msg: string, at: number, end: number): number {
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
export function parseToLine(msg: string): ToLine | null {
  let start = msg.indexOf('to=<');
  while (start >= 0) {
    const r = parseToAt(msg, start + 4);
    if (r !== null) return r;
    start = msg.indexOf('to=<', start + 1);
  }
  return null;
}

export function field(msg: string, at: number, name: string): number {
  // returns the index of the ", " ending `name=value` at `at`, or -1
  if (!has(msg, at, name)) return -1;
  const comma = msg.indexOf(',', at + name.length);
  if (comma <= at + name.length || msg.charCodeAt(comma + 1) !== 32) return -1;
  return comma;
}

export function parseToAt(msg: string, addrAt: number): ToLine | null {
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
export function parseFromSize(msg: string): { addr: string; size: string } | null {
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

/** Text after the last `marker` (pflogsumm's `s/^.*warning: //`), or all of it. */
export function after(msg: string, marker: string): string {
  const i = msg.lastIndexOf(marker);
  return i < 0 ? msg : msg.slice(i + marker.length);
}

export function rebuild(p: PostfixLogLine): string {
  return `${formatStamp(p.timestamp)} ${p.host} ${p.syslogName}${p.pid === null ? '' : `[${p.pid}]`}: ${p.message}`;
}

export function formatStamp(t: LogTimestamp): string {
  const p = (n: number) => (n < 10 ? '0' : '') + n;
  let s = `${t.year}-${p(t.month)}-${p(t.day)}T${p(t.hour)}:${p(t.minute)}:${p(t.second)}`;
  if (t.offsetMinutes !== null) {
    const o = Math.abs(t.offsetMinutes);
    s += `${t.offsetMinutes < 0 ? '-' : '+'}${p((o / 60) | 0)}:${p(o % 60)}`;
  }
  return s;
}
