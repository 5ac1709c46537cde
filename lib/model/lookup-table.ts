/**
 * Generic lookup tables for `*_maps` parameters: table types, table kinds (what the parameter's
 * manual page says a key and a value are), and per-kind validation of keys and values. Pure.
 * Manuals: virtual(5), transport(5), canonical(5), relocated(5), postconf(5)
 * sender_dependent_relayhost_maps and recipient_bcc_maps, regexp_table(5), pcre_table(5),
 * cidr_table(5), postconf(5) "inline" (DATABASE_README).
 */
import { IndexedTableType } from './bundle';
import { isKnownParameter } from './catalog';
import { classifyAccessKey } from './access';
import { PostfixConfigError } from './errors';
import { parsePattern } from './header-checks';

export const LOOKUP_TABLE_TYPES = ['hash', 'lmdb', 'cdb', 'btree', 'texthash', 'inline', 'regexp', 'pcre', 'cidr'] as const;
export type LookupTableType = (typeof LOOKUP_TABLE_TYPES)[number];

/** What a table's keys and values mean, after the manual of the parameter that uses it. */
export type LookupTableKind =
  'virtual-alias' | 'virtual-mailbox' | 'transport' | 'canonical' | 'relocated' | 'relayhost' | 'bcc' | 'generic';

/** The kind each well-known `*_maps` parameter implies; other `*_maps` parameters are "generic". */
export const PARAMETER_KINDS: Readonly<Record<string, LookupTableKind>> = {
  virtual_alias_maps: 'virtual-alias',
  virtual_mailbox_maps: 'virtual-mailbox',
  transport_maps: 'transport',
  canonical_maps: 'canonical',
  sender_canonical_maps: 'canonical',
  recipient_canonical_maps: 'canonical',
  smtp_generic_maps: 'canonical',
  relocated_maps: 'relocated',
  sender_dependent_relayhost_maps: 'relayhost',
  recipient_bcc_maps: 'bcc',
  sender_bcc_maps: 'bcc',
};

export function lookupKind(parameter: string): LookupTableKind {
  return PARAMETER_KINDS[parameter] ?? 'generic';
}

export function validateLookupType(where: string, type: string): LookupTableType {
  if (!(LOOKUP_TABLE_TYPES as readonly string[]).includes(type)) {
    throw new PostfixConfigError(
      where,
      'type',
      type,
      'not a lookup table type this library supports',
      `use one of: ${LOOKUP_TABLE_TYPES.join(', ')} (hash is Debian's default)`,
    );
  }
  return type as LookupTableType;
}

/** Types built with postmap into an index file. */
export function lookupIndexedType(type: LookupTableType): IndexedTableType | undefined {
  return type === 'hash' || type === 'btree' || type === 'lmdb' || type === 'cdb' ? type : undefined;
}

/** A parameter this table may feed: a `*_maps` name Postfix knows. */
export function validateMapsParameter(where: string, parameter: string): string {
  if (!/^[a-z0-9_]+_maps$/.test(parameter)) {
    throw new PostfixConfigError(
      where,
      'parameter',
      parameter,
      'a lookup table feeds a "*_maps" parameter',
      `name one, e.g. ${Object.keys(PARAMETER_KINDS).slice(0, 3).join(', ')}`,
    );
  }
  if (!isKnownParameter(parameter, { serviceNames: ['smtp', 'lmtp', 'local', 'virtual', 'relay'] })) {
    throw new PostfixConfigError(
      where,
      'parameter',
      parameter,
      'Postfix 3.7 has no such parameter (postconf(5))',
      'check the spelling against `postconf -d | grep _maps`',
    );
  }
  return parameter;
}

// ------------------------------------------------------------------------------------ keys

const LOCAL = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+";
const DOMAIN = '(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)(?:\\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*';
const ADDRESS = new RegExp(`^${LOCAL}@${DOMAIN}$`);
const AT_DOMAIN = new RegExp(`^@${DOMAIN}$`);
const DOMAIN_ONLY = new RegExp(`^${DOMAIN}$`);
const DOT_DOMAIN = new RegExp(`^\\.${DOMAIN}$`);
const LOCAL_ONLY = new RegExp(`^${LOCAL}$`);

type KeyForm = 'address' | '@domain' | 'domain' | '.domain' | 'user' | '*';

/** Key forms each kind's manual lists (the lookup order Postfix tries for an address). */
const KEY_FORMS: Readonly<Record<LookupTableKind, readonly KeyForm[]>> = {
  'virtual-alias': ['address', '@domain', 'domain', 'user'], // virtual(5): user@domain, user, @domain; a domain key names a virtual alias domain
  'virtual-mailbox': ['address', '@domain'], // virtual(8) virtual_mailbox_maps
  transport: ['address', 'domain', '.domain', '*'], // transport(5)
  canonical: ['address', 'user', '@domain'], // canonical(5)
  relocated: ['address', 'user', '@domain'], // relocated(5)
  relayhost: ['address', '@domain'], // postconf(5) sender_dependent_relayhost_maps
  bcc: ['address', 'user', '@domain'], // postconf(5) recipient_bcc_maps: the same lookup as canonical(5)
  generic: ['address', '@domain', 'domain', '.domain', 'user', '*'],
};

function keyForm(key: string): KeyForm | undefined {
  if (key === '*') return '*';
  if (ADDRESS.test(key)) return 'address';
  if (AT_DOMAIN.test(key)) return '@domain';
  if (DOT_DOMAIN.test(key)) return '.domain';
  if (DOMAIN_ONLY.test(key) && key.includes('.')) return 'domain';
  if (LOCAL_ONLY.test(key)) return 'user';
  return undefined;
}

/** Throws unless Postfix would look `key` up in a table of this kind and type. */
export function validateLookupKey(where: string, field: string, kind: LookupTableKind, type: LookupTableType, key: string): void {
  const bad = (problem: string, fix: string) => new PostfixConfigError(where, field, key, problem, fix);
  if (/[\r\n\0]/.test(key)) throw bad('the key contains a newline, carriage return or NUL character', 'give the key on one line');
  if (type === 'regexp' || type === 'pcre') {
    parsePattern(where, field, key, type);
    return;
  }
  if (type === 'cidr') {
    classifyAccessKey(where, field, key, 'cidr');
    return;
  }
  if (key === '' || /\s/.test(key))
    throw bad(
      'a key cannot be empty or contain whitespace (Postfix splits the line at the first blank)',
      'give one address or domain without spaces',
    );
  if (key.startsWith('#')) throw bad('a key starting with "#" is read as a comment', 'remove the "#"');
  if (type === 'inline' && /[{},=]/.test(key))
    throw bad('an inline table key cannot contain "{", "}", "," or "="', 'use a hash table for such keys');
  const form = keyForm(key);
  const allowed = KEY_FORMS[kind];
  if (form === undefined || !allowed.includes(form)) {
    throw bad(
      `not a key a ${kind} table can match (${form ? `a ${form} key` : 'not an address or domain'})`,
      `use one of these key forms: ${allowed.join(', ')} (e.g. ${EXAMPLE_KEY[allowed[0]]})`,
    );
  }
}

const EXAMPLE_KEY: Readonly<Record<KeyForm, string>> = {
  address: 'info@example.org',
  '@domain': '@example.org',
  domain: 'example.org',
  '.domain': '.example.org',
  user: 'info',
  '*': '*',
};

// ------------------------------------------------------------------------------------ values

/** A mail address as a table value: user@domain or a bare local user (regexp tables may use $1). */
const VALUE_ADDRESS = new RegExp(`^(?:${LOCAL}(?:@${DOMAIN})?|${LOCAL}@\\$\\{?\\d\\}?|\\$\\{?\\d\\}?@${DOMAIN})$`);
const HOST = `(?:\\[[0-9A-Fa-f:.]+\\]|\\[${DOMAIN}\\]|${DOMAIN})`;
const NEXTHOP = new RegExp(`^(?:${HOST}(?::(?:\\d{1,5}|[a-z]+))?|inet:${HOST}(?::\\d{1,5})?|unix:/\\S+)$`);
const TRANSPORT_NAME = /^[A-Za-z0-9_-]*$/;

/** Throws unless `value` is a valid result for this kind of table. */
export function validateLookupValue(where: string, field: string, kind: LookupTableKind, value: string): void {
  const bad = (problem: string, fix: string) => new PostfixConfigError(where, field, value, problem, fix);
  if (/[\r\n\0]/.test(value)) throw bad('the value contains a newline, carriage return or NUL character', 'give the value on one line');
  if (value.trim() === '') throw bad('the value is empty', 'give a result for the key, or leave the entry out');
  VALUE_CHECKS[kind](value.trim(), bad);
}

type Bad = (problem: string, fix: string) => PostfixConfigError;

const VALUE_CHECKS: Readonly<Record<LookupTableKind, (value: string, bad: Bad) => void>> = {
  'virtual-alias': (value, bad) => {
    for (const item of value.split(/[\s,]+/).filter(Boolean)) {
      if (item.startsWith('|') || item.startsWith('/') || item.startsWith(':include:')) {
        throw bad(
          `"${item}" is a command, file or include destination, which virtual(5) does not deliver to (only aliases(5) does)`,
          'give mail addresses, or use an Aliases table for local command or file delivery',
        );
      }
      if (!VALUE_ADDRESS.test(item))
        throw bad(`"${item}" is not a mail address`, 'give addresses separated by commas, e.g. "alice@example.org, bob"');
    }
  },
  'virtual-mailbox': (value, bad) => {
    if (value.startsWith('/') || value.split('/').includes('..') || /\s/.test(value)) {
      throw bad(
        'a virtual mailbox is a path relative to virtual_mailbox_base, without "..", spaces or a leading "/"',
        'give e.g. "example.org/info/" (a trailing "/" means Maildir)',
      );
    }
  },
  transport: (value, bad) => checkTransport(value, bad),
  canonical: (value, bad) => {
    if (!VALUE_ADDRESS.test(value) && !AT_DOMAIN.test(value))
      throw bad(
        'canonical(5) replaces an address with exactly one address',
        'give one address such as "alice@example.org", or "@example.org" to replace the domain',
      );
  },
  relocated: (value, bad) => {
    if (/^[|/]/.test(value))
      throw bad(
        'relocated(5) values are the new contact information shown in the bounce, not a command or file',
        'give the new address, e.g. "alice@new.example"',
      );
  },
  relayhost: (value, bad) => {
    if (/\s|,/.test(value) || !NEXTHOP.test(value) || /^(inet|unix):/.test(value)) {
      throw bad(
        'not a relay host (postconf(5) relayhost syntax)',
        'give "[host]:port" (brackets: no MX lookup), "host" or "host:port", e.g. "[smtp.example.org]:587"',
      );
    }
  },
  bcc: (value, bad) => {
    if (!VALUE_ADDRESS.test(value))
      throw bad('a bcc table gives exactly one address (postconf(5) recipient_bcc_maps)', 'give one address, e.g. "archive@example.org"');
  },
  generic: () => undefined,
};

/** transport(5): `transport:nexthop`, either part may be empty; error/retry take text, discard text. */
function checkTransport(value: string, bad: Bad): void {
  const fix =
    'give "transport:nexthop", e.g. "smtp:[mail.example.org]:587", "relay:", ":[10.0.0.1]", "error:5.1.1 no such domain" or "discard:"';
  const colon = value.indexOf(':');
  if (colon < 0) throw bad('a transport(5) result needs a ":" between the transport and the next hop', fix);
  const transport = value.slice(0, colon);
  const nexthop = value.slice(colon + 1);
  if (!TRANSPORT_NAME.test(transport)) throw bad(`"${transport}" is not a master.cf service name`, fix);
  if (transport === 'error' || transport === 'retry' || transport === 'discard') return; // the rest is the reason text
  if (nexthop === '') return;
  if (/\s/.test(nexthop)) throw bad(`the next hop "${nexthop}" contains whitespace`, fix);
  if (!NEXTHOP.test(nexthop)) throw bad(`"${nexthop}" is not a next hop (host, [host], host:port, [host]:port or unix:/path)`, fix);
  const port = /\]:(\d+)$|^[^[\]]*:(\d+)$/.exec(nexthop);
  const n = port ? Number(port[1] ?? port[2]) : undefined;
  if (n !== undefined && (n < 1 || n > 65535)) throw bad(`port ${n} is outside 1-65535`, fix);
}

// ------------------------------------------------------------------------------------ entries and rendering

export interface LookupEntry {
  readonly key: string;
  readonly value: string;
}

/** Validates entries given in code; order kept (first match wins in cidr, regexp and pcre). */
export function validateLookupEntries(
  where: string,
  kind: LookupTableKind,
  type: LookupTableType,
  entries: readonly LookupEntry[],
): LookupEntry[] {
  const seen = new Map<string, string>();
  return entries.map(({ key, value }) => {
    const field = `entries[${JSON.stringify(key)}]`;
    validateLookupKey(where, field, kind, type, key);
    const dup = type === 'regexp' || type === 'pcre' ? key : key.toLowerCase();
    if (seen.has(dup))
      throw new PostfixConfigError(
        where,
        field,
        key,
        `duplicate key (same as ${JSON.stringify(seen.get(dup))}); Postfix would keep only one of them`,
        'give each key once',
      );
    seen.set(dup, key);
    validateLookupValue(where, `${field} value`, kind, value);
    if (type === 'inline' && /[{}]/.test(value))
      throw new PostfixConfigError(
        where,
        `${field} value`,
        value,
        'an inline table value cannot contain "{" or "}"',
        'use a hash table for this value',
      );
    return { key, value: value.trim() };
  });
}

/** `key<TAB>value` lines, the input format of postmap(1) and of regexp, pcre, cidr and texthash tables. */
export function renderLookupTable(entries: readonly LookupEntry[]): string {
  return entries.map((e) => `${e.key}\t${e.value}\n`).join('');
}

/** `inline:{ key=value, { key = value with, commas } }` (DATABASE_README, Postfix 3.0+). */
export function renderInlineTable(entries: readonly LookupEntry[]): string {
  const items = entries.map((e) => (/[,\s]/.test(e.value) ? `{ ${e.key} = ${e.value} }` : `${e.key}=${e.value}`));
  return `inline:{ ${items.join(', ')} }`;
}
