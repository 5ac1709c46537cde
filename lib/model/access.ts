/**
 * access(5) tables: table types, typed keys and actions, the table file (from code or streamed from a
 * local file of any size), and the safe placement of check_*_access in smtpd restriction lists.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { isIP } from 'node:net';
import { IndexedTableType } from './bundle';
import { PostfixConfigError } from './errors';
import { checkActionArgument, ActionArgumentKind, parsePattern, RegexTableType } from './header-checks';
import { splitTopLevel } from './values';

export const ACCESS_TABLE_TYPES = ['hash', 'lmdb', 'cdb', 'btree', 'texthash', 'cidr', 'regexp', 'pcre'] as const;
export type AccessTableType = (typeof ACCESS_TABLE_TYPES)[number];

/** Types built with postmap into an index file. */
export function indexedType(type: AccessTableType): IndexedTableType | undefined {
  return type === 'hash' || type === 'btree' || type === 'lmdb' || type === 'cdb' ? type : undefined;
}

/** Types Debian ships in a separate package (postconf -m lists them only once it is installed). */
export const TABLE_TYPE_PACKAGES: Readonly<Record<string, string>> = { lmdb: 'postfix-lmdb', cdb: 'postfix-cdb', pcre: 'postfix-pcre' };

export function validateTableType(where: string, field: string, type: string): AccessTableType {
  if (!(ACCESS_TABLE_TYPES as readonly string[]).includes(type)) {
    throw new PostfixConfigError(where, field, type, 'not an access table type this library supports', `use one of: ${ACCESS_TABLE_TYPES.join(', ')} (hash is Debian's default)`);
  }
  return type as AccessTableType;
}

/**
 * A table's file name inside the config directory: the construct id. Refuses anything that would
 * leave the directory or collide with Postfix's own files.
 */
export function validateTableName(where: string, name: string): string {
  const fix = 'use letters, digits, ".", "_" or "-", e.g. "blacklist" or "sender_access"';
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(name) || name.includes('..')) {
    throw new PostfixConfigError(where, 'table name', name, 'a table name becomes a file name in the config directory and cannot contain "/", "..", whitespace or other path characters', fix);
  }
  if (/\.(cf|db|lmdb|cdb|cdktf-new)$/.test(name) || ['main.cf', 'master.cf', 'postfix-files', 'aliases', 'sasl', 'postfix-files.d', 'dynamicmaps.cf.d', 'makedefs.out'].includes(name)) {
    throw new PostfixConfigError(where, 'table name', name, 'the name collides with a Postfix file or an index file suffix', fix);
  }
  return name;
}

// ------------------------------------------------------------------------------------ actions

const ACCESS_ACTIONS: Readonly<Record<string, ActionArgumentKind>> = {
  OK: 'none',
  REJECT: 'optional-text',
  DEFER: 'optional-text',
  DEFER_IF_REJECT: 'optional-text',
  DEFER_IF_PERMIT: 'optional-text',
  BCC: 'address',
  DISCARD: 'optional-text',
  DUNNO: 'none',
  FILTER: 'nexthop',
  HOLD: 'optional-text',
  PREPEND: 'header',
  REDIRECT: 'address',
  INFO: 'optional-text',
  WARN: 'optional-text',
};

/** Restrictions an access table may return (access(5) "restriction..."), by prefix. */
const RESTRICTION_WORD = /^(permit|reject|defer|check|warn_if|sleep)(_[a-z0-9_]+)?$/;

/** Builders for access(5) actions; plain strings are accepted too and validated the same way. */
export const Access = {
  ok: (): string => 'OK',
  reject: (text?: string): string => withText('REJECT', text),
  defer: (text?: string): string => withText('DEFER', text),
  deferIfReject: (text?: string): string => withText('DEFER_IF_REJECT', text),
  deferIfPermit: (text?: string): string => withText('DEFER_IF_PERMIT', text),
  discard: (text?: string): string => withText('DISCARD', text),
  hold: (text?: string): string => withText('HOLD', text),
  dunno: (): string => 'DUNNO',
  info: (text?: string): string => withText('INFO', text),
  warn: (text?: string): string => withText('WARN', text),
  /** `5NN text` or `4NN text`: the reply code and text Postfix sends. */
  code: (code: number, text: string): string => `${code} ${text}`,
  redirect: (address: string): string => `REDIRECT ${address}`,
  bcc: (address: string): string => `BCC ${address}`,
  prepend: (header: string): string => `PREPEND ${header}`,
  filter: (nexthop: string): string => `FILTER ${nexthop}`,
} as const;

function withText(word: string, text?: string): string {
  return text ? `${word} ${text}` : word;
}

/** Throws unless Postfix 3.7 accepts `action` as an access(5) result; returns it trimmed. */
export function validateAccessAction(where: string, field: string, action: string): string {
  const text = String(action).trim();
  const bad = (problem: string, fix: string) => new PostfixConfigError(where, field, String(action), problem, fix);
  const names = `${Object.keys(ACCESS_ACTIONS).join(', ')}, 4NN text, 5NN text, or a restriction name such as permit_mynetworks`;
  if (/[\r\n\0\t]/.test(text)) throw bad('the action contains a newline, tab, carriage return or NUL character', 'put the action and its text on one line, separated by spaces');
  const m = /^(\S+)(?:\s+(.*))?$/.exec(text);
  if (!m) throw bad('the action is empty', `use one of: ${names}`);
  const [, word, arg = ''] = m;
  if (/^\d+$/.test(word)) {
    if (/^[45]\d\d$/.test(word)) {
      if (!arg) throw bad(`"${word}" alone is an all-numerical result, which Postfix treats as OK (accept)`, `add the reply text, e.g. "${word} 5.7.1 not accepted here", or use REJECT`);
      if (word === '421' || word === '521') return text; // disconnect after the reply (access(5))
      return text;
    }
    if (arg) throw bad(`"${word}" is not a 4xx or 5xx reply code`, 'use 4NN text (try again later) or 5NN text (refuse)');
    return text; // all-numerical: OK
  }
  const kind = ACCESS_ACTIONS[word];
  if (kind !== undefined) {
    checkActionArgument(word, kind, arg, bad);
    return text;
  }
  if (ACCESS_ACTIONS[word.toUpperCase()] !== undefined) {
    throw bad(`unknown access action "${word}" (actions are upper case: did you mean ${word.toUpperCase()}?)`, `use one of: ${names}`);
  }
  for (const w of text.split(/[\s,]+/)) {
    if (!RESTRICTION_WORD.test(w) && !/^[a-z0-9]+:\S+$/.test(w)) throw bad(`unknown access action "${word}"`, `use one of: ${names}`);
  }
  return text;
}

/** True when the action accepts (ends the restriction list with a permit): OK, all-numerical, permit*. */
export function isPermissiveAction(action: string): boolean {
  const word = action.trim().split(/[\s,]+/)[0] ?? '';
  if (word === 'OK') return true;
  if (/^\d+$/.test(word) && !/^[45]\d\d$/.test(word)) return true;
  return /^permit/.test(word);
}

// ------------------------------------------------------------------------------------ keys

export type AccessKeyKind = 'address' | 'domain' | 'parent-domain' | 'user@' | 'ip' | 'network' | 'pattern';

/**
 * What an access key is, for a table of `type`. Throws PostfixConfigError for keys Postfix would never
 * match or would misread (spaces, newlines, a leading "#", a cidr key that is not a network).
 */
export function classifyAccessKey(where: string, field: string, key: string, type: AccessTableType): AccessKeyKind {
  const bad = (problem: string, fix: string) => new PostfixConfigError(where, field, key, problem, fix);
  if (type === 'regexp' || type === 'pcre') {
    parsePattern(where, field, key, type as RegexTableType);
    return 'pattern';
  }
  if (key === '') throw bad('the key is empty', 'give an address (user@domain), a domain, user@, or an IP address/network');
  if (/[\s\x00-\x1f\x7f]/.test(key)) throw bad('the key contains whitespace or a control character; the table line would split there', 'give one address, domain or network per entry, without spaces or newlines');
  if (key.startsWith('#')) throw bad('a key starting with "#" makes the line a comment', 'remove the "#"');
  if (type === 'cidr') return classifyCidr(key, bad);
  const ipOrNetwork = classifyIp(key);
  if (ipOrNetwork) return ipOrNetwork;
  const at = key.lastIndexOf('@');
  if (at >= 0) {
    const user = key.slice(0, at);
    const domain = key.slice(at + 1);
    if (domain === '') {
      if (user === '') throw bad('"@" alone is not a key', 'give user@domain, user@ or a domain');
      return 'user@';
    }
    if (!isDomain(domain)) throw bad(`"${domain}" is not a domain name`, 'give user@domain with a domain such as example.org');
    if (user === '') throw bad('"@domain" is not an access(5) key form; Postfix looks up the bare domain', `write the domain alone: ${domain}`);
    if (key.indexOf('@') !== at && !user.startsWith('"')) throw bad('the address contains more than one "@"', 'give one address user@domain');
    return 'address';
  }
  if (key.startsWith('.') && isDomain(key.slice(1))) return 'parent-domain';
  if (isDomain(key)) return 'domain';
  throw bad('not an address (user@domain), user@, domain, .domain (subdomains), IP address or network prefix', 'e.g. spam@bad.example, bad.example, postmaster@ or 192.0.2');
}

function isDomain(s: string): boolean {
  return /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(s) || /^\[[0-9A-Fa-f.:]+\]$/.test(s);
}

/** Indexed tables match IPv4 prefixes as 1-4 octets and IPv6 prefixes without "::" abbreviation. */
function classifyIp(key: string): AccessKeyKind | undefined {
  if (isIP(key)) return 'ip';
  if (/^\d{1,3}(\.\d{1,3}){0,2}$/.test(key) && key.split('.').every((o) => Number(o) <= 255)) return 'network';
  return undefined;
}

function classifyCidr(key: string, bad: (problem: string, fix: string) => PostfixConfigError): AccessKeyKind {
  const fix = 'give an address or network/prefix, e.g. 192.0.2.0/24 or 2001:db8::/32';
  const [addr, len, ...more] = key.split('/');
  const family = isIP(addr);
  if (!family || more.length > 0) throw bad('a cidr table key must be an IP address or network/prefix', fix);
  if (len === undefined) return 'ip';
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(len) || Number(len) > max) throw bad(`prefix length "${len}" is outside 0-${max}`, fix);
  if (!hostBitsZero(addr, Number(len), family)) throw bad('the address has bits set beyond the prefix length; Postfix refuses this (non-null host address bits)', `use the network address, e.g. ${networkHint(addr, Number(len), family)}/${len}`);
  return 'network';
}

function ipBits(addr: string, family: number): bigint {
  if (family === 4) return addr.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

function hostBitsZero(addr: string, len: number, family: number): boolean {
  if (family === 6 && addr.includes('.')) return true; // v4-mapped forms: leave to Postfix
  const total = family === 4 ? 32 : 128;
  const mask = (1n << BigInt(total - len)) - 1n;
  return (ipBits(addr, family) & mask) === 0n;
}

function networkHint(addr: string, len: number, family: number): string {
  if (family !== 4) return 'the network address';
  const total = 32;
  const bits = ipBits(addr, family) & ~((1n << BigInt(total - len)) - 1n);
  return [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 255n)).join('.');
}

/** Key used for duplicate detection: indexed tables and texthash fold case (postmap without -f). */
export function duplicateKey(key: string, type: AccessTableType): string {
  return type === 'regexp' || type === 'pcre' ? key : key.toLowerCase();
}

// ------------------------------------------------------------------------------------ entries from code

export interface AccessEntry {
  readonly key: string;
  readonly action: string;
  readonly kind: AccessKeyKind;
}

/** Validates entries given in code (order kept: it matters for cidr, regexp and pcre). */
export function validateAccessEntries(where: string, field: string, type: AccessTableType, entries: Readonly<Record<string, string>> | readonly (readonly [string, string])[]): AccessEntry[] {
  const list: (readonly [string, string])[] = Array.isArray(entries) ? [...entries] : Object.entries(entries as Record<string, string>);
  const seen = new Map<string, string>();
  return list.map(([key, action]) => {
    const f = `${field}[${JSON.stringify(key)}]`;
    const kind = classifyAccessKey(where, f, key, type);
    const dup = duplicateKey(key, type);
    const first = seen.get(dup);
    if (first !== undefined) {
      throw new PostfixConfigError(where, f, key, `duplicate key (same as ${JSON.stringify(first)}${type === 'regexp' || type === 'pcre' ? '' : '; Postfix keys are case-insensitive'}); postmap would keep only one of them`, 'give each key once');
    }
    seen.set(dup, key);
    return { key, action: validateAccessAction(where, `${f} action`, action), kind };
  });
}

export function renderAccessTable(entries: readonly { readonly key: string; readonly action: string }[]): string {
  return entries.map((e) => `${e.key}\t${e.action}\n`).join('');
}

// ------------------------------------------------------------------------------------ entries from a file

export interface AccessFileScan {
  readonly entries: number;
  /** Lines holding only a key (need defaultAction; the file is rewritten). */
  readonly keyOnlyLines: number;
  /** Some entry accepts (OK, permit...): matters for placement in smtpd_recipient_restrictions. */
  readonly permissive: boolean;
  /** Kinds of keys seen. */
  readonly kinds: ReadonlySet<AccessKeyKind>;
}

/**
 * Reads a table file line by line with a fixed buffer (memory stays bounded for any size), calling
 * `onLine(text, lineNumber)` for every line without its newline.
 */
export function forEachLine(file: string, onLine: (line: string, lineNumber: number) => void): void {
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.allocUnsafe(1 << 20);
  let carry = '';
  let n = 0;
  try {
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      const text = carry + buffer.toString('utf8', 0, read);
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        onLine(text.slice(start, nl), ++n);
        start = nl + 1;
      }
      carry = text.slice(start);
    }
    if (carry !== '') onLine(carry, ++n);
  } finally {
    fs.closeSync(fd);
  }
}

/** 53-bit hash of a key for the duplicate pre-check (two FNV-1a variants). */
function keyHash(s: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 13);
  }
  return (a >>> 0) * 2097152 + ((b >>> 0) & 0x1fffff);
}

/**
 * Validates a local table file with one entry a line (`key action...` or, with defaultAction, `key`
 * alone); blank lines and `#` comments are allowed. Duplicate keys are found with 8 bytes per entry
 * (hashes sorted, then an exact second pass over the few candidates), never by holding all keys.
 */
export function scanAccessFile(where: string, field: string, file: string, type: AccessTableType, defaultAction?: string): AccessFileScan {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    throw new PostfixConfigError(where, field, file, 'the file does not exist or is not a regular file', 'give the path of a local file with one entry a line');
  }
  if (defaultAction !== undefined) validateAccessAction(where, `${field} defaultAction`, defaultAction);
  let hashes = new Float64Array(1024);
  let entries = 0;
  let keyOnly = 0;
  let permissive = defaultAction !== undefined && isPermissiveAction(defaultAction);
  const kinds = new Set<AccessKeyKind>();
  const actionsSeen = new Map<string, boolean>();
  forEachLine(file, (raw, n) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (/^\s*(#|$)/.test(line)) return;
    const f = `${field} line ${n}`;
    if (/^\s/.test(line)) {
      throw new PostfixConfigError(where, f, line, 'the line starts with whitespace, which Postfix reads as a continuation of the previous entry', 'write one entry a line, starting at the first column');
    }
    const m = /^(\S+)(?:\s+(.*?))?\s*$/.exec(line)!;
    const key = m[1];
    const action = m[2];
    kinds.add(classifyAccessKey(where, f, key, type));
    if (action === undefined || action === '') {
      if (defaultAction === undefined) {
        throw new PostfixConfigError(where, f, line, 'the line has a key but no action', 'add an action (e.g. "REJECT") to the line, or pass defaultAction for lines that hold only a key');
      }
      keyOnly++;
    } else {
      let ok = actionsSeen.get(action);
      if (ok === undefined) {
        validateAccessAction(where, `${f} action`, action);
        ok = isPermissiveAction(action);
        if (actionsSeen.size < 10000) actionsSeen.set(action, ok);
      }
      if (ok) permissive = true;
    }
    if (entries === hashes.length) {
      const grown = new Float64Array(hashes.length * 2);
      grown.set(hashes);
      hashes = grown;
    }
    hashes[entries++] = keyHash(duplicateKey(key, type));
  });
  if (entries === 0) throw new PostfixConfigError(where, field, file, 'the file holds no entries', 'add at least one line "key action"');
  const sorted = hashes.subarray(0, entries).sort();
  const candidates = new Set<number>();
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) candidates.add(sorted[i]);
  if (candidates.size > 0) {
    const firstLine = new Map<string, number>();
    forEachLine(file, (raw, n) => {
      const key = /^(\S+)/.exec(raw)?.[1];
      if (key === undefined || key.startsWith('#') || /^\s/.test(raw)) return;
      const dup = duplicateKey(key, type);
      if (!candidates.has(keyHash(dup))) return;
      const first = firstLine.get(dup);
      if (first !== undefined) {
        throw new PostfixConfigError(where, `${field} line ${n}`, key, `duplicate key (first on line ${first}${type === 'regexp' || type === 'pcre' ? '' : '; Postfix keys are case-insensitive'}); postmap would keep only one of them`, 'give each key once');
      }
      firstLine.set(dup, n);
    });
  }
  return { entries, keyOnlyLines: keyOnly, permissive, kinds };
}

/** Writes `file` to `out` with defaultAction appended to key-only lines (streamed). */
export function rewriteKeyOnlyLines(file: string, out: string, defaultAction: string): void {
  const fd = fs.openSync(out, 'w');
  let pending: string[] = [];
  let size = 0;
  const flush = () => {
    if (pending.length) fs.writeSync(fd, pending.join(''));
    pending = [];
    size = 0;
  };
  try {
    forEachLine(file, (raw) => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      const text = /^\s*(#|$)/.test(line) || /^\S+\s+\S/.test(line) ? line : `${line.trim()}\t${defaultAction}`;
      pending.push(text + '\n');
      size += text.length;
      if (size > 1 << 20) flush();
    });
    flush();
  } finally {
    fs.closeSync(fd);
  }
}

/** Stable name for a rewritten file: content hash of the source plus the default action. */
export function rewriteCacheName(sha256: string, defaultAction: string): string {
  return createHash('sha256').update(sha256).update('\0').update(defaultAction).digest('hex').slice(0, 32);
}

// ------------------------------------------------------------------------------------ restriction lists

export type RestrictionStage = 'client' | 'helo' | 'sender' | 'recipient';

export const STAGE_PARAMETER: Readonly<Record<RestrictionStage, string>> = {
  client: 'smtpd_client_restrictions',
  helo: 'smtpd_helo_restrictions',
  sender: 'smtpd_sender_restrictions',
  recipient: 'smtpd_recipient_restrictions',
};

export const STAGE_CHECK: Readonly<Record<RestrictionStage, string>> = {
  client: 'check_client_access',
  helo: 'check_helo_access',
  sender: 'check_sender_access',
  recipient: 'check_recipient_access',
};

/** Restrictions that stop relaying (postconf(5) smtpd_relay_restrictions). */
export const RELAY_CONTROL = ['reject_unauth_destination', 'defer_unauth_destination', 'reject', 'defer', 'defer_if_permit', 'check_relay_domains'];

/** Debian 12's (and Postfix 3.7's) default smtpd_relay_restrictions. */
export const DEFAULT_RELAY_RESTRICTIONS = 'permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination';

/** Parses a restriction list into items, keeping `check_x_access type:name` together. */
export function parseRestrictions(value: string | undefined): string[] {
  const words = splitTopLevel(value ?? '');
  const items: string[] = [];
  for (const w of words) {
    const last = items[items.length - 1];
    if (last !== undefined && /^[a-z0-9]+:/.test(w) && /^(check_\w+|reject_rbl_client|reject_rhsbl_\w+|permit_dnswl_client|permit_rhswl_client|\w+_maps?)$/.test(last.split(' ')[0]) && !last.includes(' ')) {
      items[items.length - 1] = `${last} ${w}`;
    } else {
      items.push(w);
    }
  }
  return items;
}

export function formatRestrictions(items: readonly string[]): string {
  return items.join(', ');
}

export type Placement = 'first' | 'last' | 'afterRelayCheck';

export interface PlaceInput {
  readonly where: string;
  readonly stage: RestrictionStage;
  /** Current list (undefined: the parameter is not set by this stack; Postfix's default is empty). */
  readonly current: string | undefined;
  /** Effective smtpd_relay_restrictions. */
  readonly relay: string;
  /** `check_sender_access hash:/etc/postfix/blacklist`. */
  readonly check: string;
  readonly permissive: boolean;
  readonly placement?: Placement;
  /** For messages: the table's construct path. */
  readonly table: string;
}

export function relayControlled(relay: string): boolean {
  if (relay.includes('$')) return true; // cannot be second-guessed
  return parseRestrictions(relay).some((w) => RELAY_CONTROL.includes(w));
}

/**
 * The new restriction list with `check` placed safely. Sender, client and HELO checks go first
 * (a blocklist applies to everyone; an OK there only ends that stage). Recipient checks go right after
 * reject_unauth_destination when the list has one, else at the end; a table that can accept (OK,
 * permit...) is refused ahead of the relay check when smtpd_relay_restrictions does not control
 * relaying, because that is an open relay.
 */
export function placeCheck(input: PlaceInput): string[] {
  const items = parseRestrictions(input.current);
  if (items.includes(input.check)) return items;
  if (input.stage !== 'recipient') {
    return input.placement === 'last' ? [...items, input.check] : [input.check, ...items];
  }
  const relayIndex = items.findIndex((w) => w === 'reject_unauth_destination' || w === 'defer_unauth_destination' || w === 'check_relay_domains');
  const guarded = relayControlled(input.relay);
  const placement = input.placement ?? 'afterRelayCheck';
  let at: number;
  if (placement === 'first') at = 0;
  else if (placement === 'last') at = items.length;
  else at = relayIndex >= 0 ? relayIndex + 1 : items.length;
  const beforeRelayCheck = relayIndex < 0 || at <= relayIndex;
  if (input.permissive && !guarded && beforeRelayCheck) throw openRelayError(input);
  return [...items.slice(0, at), input.check, ...items.slice(at)];
}

export function openRelayError(input: Pick<PlaceInput, 'where' | 'check' | 'relay' | 'table'>): PostfixConfigError {
  return new PostfixConfigError(
    input.where,
    'smtpd_recipient_restrictions',
    input.check,
    `${input.table} can answer OK (or another permit), and it would be evaluated before reject_unauth_destination while smtpd_relay_restrictions (${JSON.stringify(input.relay)}) does not control relaying: any client could then relay mail to any domain through this host (an open relay)`,
    'keep smtpd_relay_restrictions at Debian\'s default (permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination), or put reject_unauth_destination in smtpd_recipient_restrictions and place the check after it (placement "afterRelayCheck"), or use only rejecting actions in this table',
  );
}

/**
 * Final check of a whole configuration: every permissive check_*_access in smtpd_recipient_restrictions
 * that comes before the relay check, with relaying uncontrolled by smtpd_relay_restrictions, is an open relay.
 */
export function findOpenRelay(recipientList: string | undefined, relay: string, permissiveChecks: ReadonlySet<string>): string | undefined {
  if (relayControlled(relay)) return undefined;
  for (const item of parseRestrictions(recipientList)) {
    if (item === 'reject_unauth_destination' || item === 'defer_unauth_destination' || item === 'check_relay_domains') return undefined;
    if (item === 'permit' || permissiveChecks.has(item)) return item;
  }
  return undefined;
}
