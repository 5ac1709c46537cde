/**
 * Small helpers that reproduce pflogsumm 1.1.5's text munging (Debian 12's /usr/sbin/pflogsumm),
 * so grand totals and detail keys come out the same. Inputs are length-capped by the callers so no
 * regex here can go quadratic on a huge line.
 */

/**
 * A copy of a string that does not keep its parent alive. Lines are slices of 1 MiB input chunks,
 * and V8 keeps the whole chunk alive for as long as a slice of it is referenced; keys stored in
 * long-lived maps are copied with this so memory stays proportional to the distinct keys.
 */
export function own(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** Perl truthiness for a string value ("" and "0" are false). */
export function perlTrue(s: string | undefined): boolean {
  return s !== undefined && s !== '' && s !== '0';
}

const MAX_DOMAIN_INPUT = 512;
const domainCache = new Map<string, string>();

/** pflogsumm's gimme_domain(): `mail.example.com[192.0.2.1]` -> `example.com`, `unknown[ip]` -> ip. */
export function gimmeDomain(client: string): string {
  const quad = bracketedQuad(client);
  if (quad !== null) return quad;
  const cached = domainCache.get(client);
  if (cached !== undefined) return cached;
  const s = client.length > MAX_DOMAIN_INPUT ? client.slice(0, MAX_DOMAIN_INPUT) : client;
  let m = /^([^[]*)\[((?:\d{1,3}\.){3}\d{1,3})\]/.exec(s);
  if (!m) m = /^([^/]*)\/([0-9a-f.:]+)/i.exec(s);
  if (!m) m = /^([^[(/]*)[[(/]([^\])]+)[\])]:?\d*$/.exec(s);
  const domain = m ? m[1] : undefined;
  const ip = m ? m[2] : undefined;
  let out: string;
  if (domain === undefined || domain === '' || domain === 'unknown') out = ip ?? '';
  else {
    const r = /^(.*)\.([^.]+)\.([^.]{3}|[^.]{2,3}\.[^.]{2})$/.exec(domain);
    out = r ? `${r[2]}.${r[3]}`.toLowerCase() : domain;
  }
  if (domainCache.size > 50000) domainCache.clear();
  out = own(out);
  domainCache.set(own(client), out);
  return out;
}

/**
 * The common `[192.0.2.1]`, `[192.0.2.1]:port` and `unknown[192.0.2.1]` forms (postscreen and
 * unresolved clients), whose port would otherwise fill the cache with one entry per connection:
 * gimmeDomain's first pattern matches them with an empty or `unknown` name, so the result is the
 * address. null for anything else (the general path decides).
 */
function bracketedQuad(client: string): string | null {
  let i: number;
  if (client.charCodeAt(0) === 91) i = 1;
  else if (client.charCodeAt(7) === 91 && client.startsWith('unknown')) i = 8;
  else return null;
  const start = i;
  for (let part = 0; part < 4; part++) {
    const from = i;
    while (i - from < 4) {
      const c = client.charCodeAt(i);
      if (c < 48 || c > 57) break;
      i++;
    }
    const n = i - from;
    if (n < 1 || n > 3) return null;
    if (part < 3) {
      if (client.charCodeAt(i) !== 46) return null;
      i++;
    }
  }
  if (client.charCodeAt(i) !== 93) return null;
  return own(client.slice(start, i));
}

/** pflogsumm's string_trimmer(). */
export function stringTrimmer(s: string, maxLen: number): string {
  return s.length > maxLen ? s.slice(0, maxLen - 3) + '...' : s;
}

/** pflogsumm's said_string_trimmer(). */
export function saidStringTrimmer(input: string, maxLen: number): string {
  let s = input;
  while (s.length > maxLen) {
    const said = s.lastIndexOf(' said: ');
    if (said >= 0) {
      s = s.slice(said + 7);
      continue;
    }
    const colon = s.indexOf(':');
    if (colon >= 0) {
      let j = colon + 1;
      while (s.charCodeAt(j) === 32) j++;
      s = s.slice(j);
      continue;
    }
    s = s.slice(0, maxLen - 3) + '...';
    break;
  }
  return s;
}

/** Lower-case the domain part (from the first `@`), as pflogsumm does without `-i`. */
export function normalizeAddress(addr: string): string {
  const at = addr.indexOf('@');
  if (at < 0) return addr;
  for (let i = at + 1; i < addr.length; i++) {
    const c = addr.charCodeAt(i);
    if ((c >= 65 && c <= 90) || c > 127) return addr.slice(0, at) + addr.slice(at).toLowerCase();
  }
  return addr;
}

/** Domain of an address as pflogsumm takes it: everything after the first `@` when a local part exists. */
export function addressDomain(addr: string): string | null {
  const at = addr.indexOf('@');
  if (at <= 0 || at === addr.length - 1) return null;
  return addr.slice(at + 1);
}

const MAX_REASON_INPUT = 2048;

export interface RejectDetail {
  /** RCPT, MAIL, DATA, CONNECT, header, body, ... */
  type: string;
  reason: string;
  /** The recipient, sender or client domain the reject is listed under. */
  data: string;
}

/** pflogsumm's proc_smtpd_reject() detail keys for a reject/reject_warning/hold/discard line. */
export function smtpdRejectDetail(message: string): RejectDetail {
  const line = message.length > MAX_REASON_INPUT ? message.slice(0, MAX_REASON_INPUT) : message;
  // the last " reject: | reject_warning: | hold: | discard: " followed by "TYPE from CLIENT: REST"
  let type = '';
  let from = '';
  let rest = '';
  const candidates: number[] = [];
  for (const kw of [' reject: ', ' reject_warning: ', ' hold: ', ' discard: ']) {
    let i = line.indexOf(kw);
    while (i >= 0) {
      candidates.push(i + kw.length);
      i = line.indexOf(kw, i + 1);
    }
  }
  // messages start with "QID: reject: ..."; give the leading keyword a chance too
  for (const kw of ['reject: ', 'reject_warning: ', 'hold: ', 'discard: ']) {
    if (line.startsWith(kw)) candidates.push(kw.length);
  }
  candidates.sort((a, b) => b - a);
  for (const start of candidates) {
    const typeEnd = line.indexOf(' ', start);
    if (typeEnd <= start) continue;
    if (!line.startsWith(' from ', typeEnd)) continue;
    const fromStart = typeEnd + 6;
    const colon = line.indexOf(': ', fromStart);
    if (colon <= fromStart) continue;
    const sp = line.indexOf(' ', fromStart);
    if (sp >= 0 && sp < colon) continue;
    type = line.slice(start, typeEnd);
    from = line.slice(fromStart, colon);
    rest = line.slice(colon + 2);
    break;
  }
  let reason = rest;
  if (type === 'RCPT' || type === 'DATA' || type === 'CONNECT') {
    reason = reason.replace(/^(\d{3} <).*?(>:)/, '$1$2');
    reason = reason.replace(/^(?:\d{3} \d\.\d\.\d )(Protocol error);.*$/, '$1');
    reason = reason.replace(/^(?:.*?[:;] )(?:\[[^\]]+\] )?([^;,]+)[;,].*$/, '$1');
    reason = reason.replace(/^((?:Sender|Recipient) address rejected: [^:]+):.*$/, '$1');
    reason = reason.replace(/(client|Client host|Sender address) .+? blocked/, 'blocked');
  } else if (type === 'MAIL') {
    reason = reason.replace(/^\d{3} (?:<.+>: )?([^;:]+)[;:]?.*$/, '$1');
  } else {
    reason = reason.replace(/^(?:.*[:;] )?([^,]+).*$/, '$1');
  }
  let to = /to=<([^>]+)>/.exec(rest)?.[1];
  if (to === undefined) to = /\d{3} <([^>]+)>: User unknown /.exec(rest)?.[1];
  if (to === undefined) to = /to=<(.*?)(?:[, ]|$)/.exec(rest)?.[1];
  if (to === undefined) to = '<>';
  const sender = /from=<([^>]+)>/.exec(rest)?.[1] ?? '<>';
  let data: string;
  if (reason.startsWith('Sender address rejected:')) data = sender;
  else if (/^(Recipient address rejected:|User unknown( |$))/.test(reason)) data = to;
  else if (/^.*?\d{3} (Improper use of SMTP command pipelining);.*$/.test(reason)) {
    reason = reason.replace(/^.*?\d{3} (Improper use of SMTP command pipelining);.*$/, '$1');
    data = /^.+? from (\S+?):.*$/.exec(line)?.[1] ?? '';
  } else if (/^.*?\d{3} (Message size exceeds fixed limit);.*$/.test(reason)) {
    reason = reason.replace(/^.*?\d{3} (Message size exceeds fixed limit);.*$/, '$1');
    data = gimmeDomain(from);
  } else if (/^.*?\d{3} (Server configuration (?:error|problem));.*$/.test(reason)) {
    reason = reason.replace(/^.*?\d{3} (Server configuration (?:error|problem));.*$/, '(Local) $1');
    data = gimmeDomain(from);
  } else data = gimmeDomain(from);
  return { type, reason, data };
}

const rejectCache = new Map<string, RejectDetail>();
let rejectCacheChars = 0;

/**
 * smtpdRejectDetail for `QID: reject: ...` (and reject_warning/hold/discard) where the queue ID
 * (or NOQUEUE) is the first `qidLen` characters, remembered by the text after the queue ID: the
 * result does not depend on it (it is a word without spaces, not one of the keywords), and the
 * same reject text recurs (a client retrying a recipient, NOQUEUE lines), while its regexes cost
 * some microseconds a line. The cache holds at most ~4 MiB of keys, then starts again.
 */
export function rejectDetailAfterQid(message: string, qidLen: number): RejectDetail {
  if (message.length > MAX_REASON_INPUT) return smtpdRejectDetail(message);
  const key = message.slice(qidLen);
  const hit = rejectCache.get(key);
  if (hit !== undefined) return hit;
  const d = smtpdRejectDetail(message);
  if (rejectCacheChars > 4 << 20) {
    rejectCache.clear();
    rejectCacheChars = 0;
  }
  rejectCache.set(own(key), d);
  rejectCacheChars += key.length;
  return d;
}

/**
 * cleanup(8) header/body checks: `QID: reject: header Subject: ... from host[ip]; from=<> to=<>: text`.
 * Returns null when the message is not such a line.
 */
export function cleanupCheck(message: string): { action: string; where: string; detail: string } | null {
  const line = message.length > MAX_REASON_INPUT ? message.slice(0, MAX_REASON_INPUT) : message;
  const m = /\b((?:milter-)?reject|warning|hold|discard): (header|body|END-OF-MESSAGE) (.*)$/.exec(line);
  if (!m) return null;
  const detail = stringTrimmer(m[3].replace(/( from \S+?)?; from=<.*$/, ''), 64);
  return { action: m[1], where: m[2], detail };
}
