/**
 * main.cf value kinds: formatting TypeScript values as Postfix text, converting human sizes to
 * bytes, and checking a text value against its kind.
 *
 * Size units (decision): k/K/KB/kB, m/M/MB, g/G/GB are decimal (1000, 1000^2, 1000^3), as in SI
 * and as `25MB` is usually meant for mail size limits; KiB/MiB/GiB are binary (1024^n). Postfix
 * itself only accepts plain byte counts in main.cf, so units never reach the file.
 */
import { catalogMapTypes, ParameterKind } from './catalog';
import { PostfixConfigError } from './errors';

export type ParameterValue = string | number | boolean | readonly string[];

/** The text Postfix expects: yes/no, whole numbers, lists joined with ", ". */
export function formatParameterValue(value: ParameterValue): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return formatInteger(value);
  if (typeof value === 'string') return value;
  return value.join(', ');
}

function formatInteger(value: number): string {
  if (!Number.isSafeInteger(value)) {
    throw new PostfixConfigError(
      '',
      'value',
      String(value),
      'Postfix numbers are whole numbers',
      'give an integer, e.g. ' + String(Math.trunc(value) || 0),
    );
  }
  return String(value);
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

const SIZE_TEXT = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/;

/** `"25MB"` -> 25000000, `"1MiB"` -> 1048576, `25000000` -> 25000000. Throws PostfixConfigError on anything else. */
export function parseSize(size: string | number): number {
  const shown = String(size);
  const fix = 'give a whole number of bytes or a number with a unit: B, k/KB, m/MB, g/GB (powers of 1000), KiB/MiB/GiB (powers of 1024)';
  if (typeof size === 'number') {
    if (Number.isSafeInteger(size) && size >= 0) return size;
    throw new PostfixConfigError('', 'size', shown, 'a size must be a non-negative whole number of bytes', fix);
  }
  const match = SIZE_TEXT.exec(size);
  const factor = match ? SIZE_UNITS[match[2].toLowerCase()] : undefined;
  if (!match || factor === undefined) throw new PostfixConfigError('', 'size', shown, 'not a size', fix);
  const bytes = Number(match[1]) * factor;
  if (!Number.isSafeInteger(bytes)) {
    throw new PostfixConfigError('', 'size', shown, 'the size is not a whole number of bytes or is too large', fix);
  }
  return bytes;
}

const INT_MAX = 2 ** 31 - 1;
const LONG_MAX = 2n ** 63n - 1n;
const TIME_UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * A problem sentence when `value` cannot be a `kind` value for Postfix, else undefined.
 * Values containing `$` are expanded by Postfix at run time, so only the caller's
 * structural rules apply to them. Empty values are invalid for the typed kinds: Postfix stops
 * with "bad boolean configuration"/"bad numerical configuration" (checked with 3.7.11).
 */
export function checkKind(kind: ParameterKind, text: string): string | undefined {
  if (text.includes('$')) return undefined;
  // Postfix strips leading and trailing whitespace from main.cf values before parsing them.
  const value = text.trim();
  switch (kind) {
    case 'boolean':
      return checkBoolean(value);
    case 'integer':
      return checkInteger(value);
    case 'size':
      return checkSize(value);
    case 'time':
      return checkTime(value);
    case 'lookup':
      return checkLookup(value);
    case 'list':
    case 'text':
      return undefined;
  }
}

function checkBoolean(value: string): string | undefined {
  // Postfix compares case-insensitively (YES is accepted; y, true, 1 are fatal).
  return /^(yes|no)$/i.test(value) ? undefined : 'expected yes or no';
}

function checkInteger(value: string): string | undefined {
  // Postfix reads these with sscanf("%d"): an optional sign, digits, nothing else.
  if (!/^[+-]?\d+$/.test(value)) return 'expected a whole number (digits only, no unit)';
  return Math.abs(Number(value)) > INT_MAX ? `expected a whole number no larger than ${INT_MAX}` : undefined;
}

function checkSize(value: string): string | undefined {
  if (/^\d+(\.\d+)?\s*[A-Za-z]+$/.test(value)) {
    return 'Postfix takes a plain number of bytes here, not a unit (use parseSize, e.g. parseSize("25MB") = 25000000)';
  }
  if (!/^\+?\d+$/.test(value)) return 'expected a non-negative number of bytes (digits only)';
  return BigInt(value) > LONG_MAX ? `expected a number of bytes no larger than ${LONG_MAX}` : undefined;
}

function checkTime(value: string): string | undefined {
  // conv_time(): sscanf("%d%c"), non-negative, one lowercase unit letter, result within INT_MAX seconds.
  const match = /^\+?(\d+)([a-z]?)$/.exec(value);
  if (!match) return 'expected a time: a whole number with an optional unit s, m, h, d or w (e.g. 300s, 5m, 1h, 5d, 1w)';
  const seconds = TIME_UNIT_SECONDS[match[2] || 's'];
  if (seconds === undefined) return `unknown time unit "${match[2]}"; use s, m, h, d or w`;
  return Number(match[1]) * seconds > INT_MAX ? `time value too large (more than ${INT_MAX} seconds)` : undefined;
}

/**
 * Dictionary types Postfix can be built with. The local `postconf -m` list is extended with
 * plugin types (ldap, mysql, ...) that may exist on the target host although not here.
 */
const PLUGIN_MAP_TYPES = [
  'btree',
  'cdb',
  'dbm',
  'ldap',
  'lmdb',
  'memcache',
  'mongodb',
  'mysql',
  'netinfo',
  'nis',
  'nisplus',
  'pcre',
  'pgsql',
  'sdbm',
  'sqlite',
];
const MAP_TYPES = new Set([...catalogMapTypes(), ...PLUGIN_MAP_TYPES]);

/** Every table reference must be `type:name` with a known type; this catches `hahs:` and bare paths. */
function checkLookup(value: string): string | undefined {
  for (const table of splitTopLevel(value)) {
    const type = /^([A-Za-z0-9_-]+):/.exec(table)?.[1];
    if (type === undefined)
      return `"${table}" is not a table reference; Postfix expects type:name, e.g. hash:/etc/postfix/${table.replace(/^.*\//, '') || 'table'}`;
    if (!MAP_TYPES.has(type)) return `unknown table type "${type}" in "${table}"; known types: ${[...MAP_TYPES].sort().join(', ')}`;
  }
  return undefined;
}

/** Splits a list on commas/whitespace, keeping `{ ... }` groups (inline:{ a=b, c=d }) whole. */
export function splitTopLevel(value: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of value) {
    if (ch === '{') depth++;
    if (ch === '}') depth = Math.max(0, depth - 1);
    if (depth === 0 && /[\s,]/.test(ch)) {
      if (current) items.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current) items.push(current);
  return items;
}
