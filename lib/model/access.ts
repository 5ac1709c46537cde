/**
 * access(5) tables: table types, typed keys and actions, and entries given in code. Tables streamed
 * from a local file live in access-file.ts; restriction lists and the safe placement of
 * check_*_access in them live in restrictions.ts (both re-exported here).
 */
import { isIP } from 'node:net';
import { IndexedTableType } from './bundle';
import { PostfixConfigError } from './errors';
import { checkActionArgument, ActionArgumentKind, parsePattern } from './header-checks';

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
    throw new PostfixConfigError(
      where,
      field,
      type,
      'not an access table type this library supports',
      `use one of: ${ACCESS_TABLE_TYPES.join(', ')} (hash is Debian's default)`,
    );
  }
  return type as AccessTableType;
}

/** A table's entries come from code (entries) or a local file (fromFile): exactly one of them. */
export function requireOneEntrySource(where: string, props: { readonly entries?: unknown; readonly fromFile?: string }): void {
  const hasEntries = props.entries !== undefined;
  if (hasEntries === (props.fromFile !== undefined)) {
    throw new PostfixConfigError(
      where,
      'entries',
      undefined,
      hasEntries ? 'both entries and fromFile are given' : 'neither entries nor fromFile is given',
      'give the entries in code (entries) or a local file (fromFile), not both',
    );
  }
}

/**
 * A table's file name inside the config directory: the construct id. Refuses anything that would
 * leave the directory or collide with Postfix's own files.
 */
export function validateTableName(where: string, name: string): string {
  const fix = 'use letters, digits, ".", "_" or "-", e.g. "blacklist" or "sender_access"';
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(name) || name.includes('..')) {
    throw new PostfixConfigError(
      where,
      'table name',
      name,
      'a table name becomes a file name in the config directory and cannot contain "/", "..", whitespace or other path characters',
      fix,
    );
  }
  if (
    /\.(cf|db|lmdb|cdb|cdktf-new)$/.test(name) ||
    ['main.cf', 'master.cf', 'postfix-files', 'aliases', 'sasl', 'postfix-files.d', 'dynamicmaps.cf.d', 'makedefs.out'].includes(name)
  ) {
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

/**
 * Builders for access(5) actions; plain strings are accepted too and validated the same way.
 * A class of static methods (not an object literal) so jsii carries it to other languages too.
 */
export class Access {
  static ok(): string {
    return 'OK';
  }
  static reject(text?: string): string {
    return withText('REJECT', text);
  }
  static defer(text?: string): string {
    return withText('DEFER', text);
  }
  static deferIfReject(text?: string): string {
    return withText('DEFER_IF_REJECT', text);
  }
  static deferIfPermit(text?: string): string {
    return withText('DEFER_IF_PERMIT', text);
  }
  static discard(text?: string): string {
    return withText('DISCARD', text);
  }
  static hold(text?: string): string {
    return withText('HOLD', text);
  }
  static dunno(): string {
    return 'DUNNO';
  }
  static info(text?: string): string {
    return withText('INFO', text);
  }
  static warn(text?: string): string {
    return withText('WARN', text);
  }
  /** `5NN text` or `4NN text`: the reply code and text Postfix sends. */
  static code(code: number, text: string): string {
    return `${code} ${text}`;
  }
  static redirect(address: string): string {
    return `REDIRECT ${address}`;
  }
  static bcc(address: string): string {
    return `BCC ${address}`;
  }
  static prepend(header: string): string {
    return `PREPEND ${header}`;
  }
  static filter(nexthop: string): string {
    return `FILTER ${nexthop}`;
  }
}

function withText(word: string, text?: string): string {
  return text ? `${word} ${text}` : word;
}

/** Throws unless Postfix 3.7 accepts `action` as an access(5) result; returns it trimmed. */
export function validateAccessAction(where: string, field: string, action: string): string {
  const text = String(action).trim();
  const bad = (problem: string, fix: string) => new PostfixConfigError(where, field, String(action), problem, fix);
  const names = `${Object.keys(ACCESS_ACTIONS).join(', ')}, 4NN text, 5NN text, or a restriction name such as permit_mynetworks`;
  if (/[\r\n\0\t]/.test(text))
    throw bad(
      'the action contains a newline, tab, carriage return or NUL character',
      'put the action and its text on one line, separated by spaces',
    );
  const m = /^(\S+)(?:\s+(.*))?$/.exec(text);
  if (!m) throw bad('the action is empty', `use one of: ${names}`);
  const [, word, arg = ''] = m;
  if (/^\d+$/.test(word)) {
    if (/^[45]\d\d$/.test(word)) {
      if (!arg)
        throw bad(
          `"${word}" alone is an all-numerical result, which Postfix treats as OK (accept)`,
          `add the reply text, e.g. "${word} 5.7.1 not accepted here", or use REJECT`,
        );
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
    parsePattern(where, field, key, type);
    return 'pattern';
  }
  if (key === '') throw bad('the key is empty', 'give an address (user@domain), a domain, user@, or an IP address/network');
  if (/[\s\x00-\x1f\x7f]/.test(key))
    throw bad(
      'the key contains whitespace or a control character; the table line would split there',
      'give one address, domain or network per entry, without spaces or newlines',
    );
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
    if (user === '')
      throw bad('"@domain" is not an access(5) key form; Postfix looks up the bare domain', `write the domain alone: ${domain}`);
    if (key.indexOf('@') !== at && !user.startsWith('"'))
      throw bad('the address contains more than one "@"', 'give one address user@domain');
    return 'address';
  }
  if (key.startsWith('.') && isDomain(key.slice(1))) return 'parent-domain';
  if (isDomain(key)) return 'domain';
  throw bad(
    'not an address (user@domain), user@, domain, .domain (subdomains), IP address or network prefix',
    'e.g. spam@bad.example, bad.example, postmaster@ or 192.0.2',
  );
}

function isDomain(s: string): boolean {
  return (
    /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(s) || /^\[[0-9A-Fa-f.:]+\]$/.test(s)
  );
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
  if (!hostBitsZero(addr, Number(len), family))
    throw bad(
      'the address has bits set beyond the prefix length; Postfix refuses this (non-null host address bits)',
      `use the network address, e.g. ${networkHint(addr, Number(len), family)}/${len}`,
    );
  return 'network';
}

function ipBits(addr: string, family: number): bigint {
  if (family === 4) return addr.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
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

type EntryPairs = readonly (readonly [string, string])[];

function isEntryPairs(entries: Readonly<Record<string, string>> | EntryPairs): entries is EntryPairs {
  return Array.isArray(entries);
}

/** Validates entries given in code (order kept: it matters for cidr, regexp and pcre). */
export function validateAccessEntries(
  where: string,
  field: string,
  type: AccessTableType,
  entries: Readonly<Record<string, string>> | EntryPairs,
): AccessEntry[] {
  const list: (readonly [string, string])[] = isEntryPairs(entries) ? [...entries] : Object.entries(entries);
  const seen = new Map<string, string>();
  return list.map(([key, action]) => {
    const f = `${field}[${JSON.stringify(key)}]`;
    const kind = classifyAccessKey(where, f, key, type);
    const dup = duplicateKey(key, type);
    const first = seen.get(dup);
    if (first !== undefined) {
      throw new PostfixConfigError(
        where,
        f,
        key,
        `duplicate key (same as ${JSON.stringify(first)}${type === 'regexp' || type === 'pcre' ? '' : '; Postfix keys are case-insensitive'}); postmap would keep only one of them`,
        'give each key once',
      );
    }
    seen.set(dup, key);
    return { key, action: validateAccessAction(where, `${f} action`, action), kind };
  });
}

export function renderAccessTable(entries: readonly { readonly key: string; readonly action: string }[]): string {
  return entries.map((e) => `${e.key}\t${e.action}\n`).join('');
}

export * from './access-file';
export * from './restrictions';
