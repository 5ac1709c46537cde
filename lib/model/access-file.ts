/**
 * access(5) tables read from a local file of any size: streamed line by line with bounded memory,
 * validated like entries from code, and rewritten when key-only lines need a default action.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { AccessKeyKind, AccessTableType, classifyAccessKey, duplicateKey, isPermissiveAction, validateAccessAction } from './access';
import { PostfixConfigError } from './errors';

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
 * Reads a local table file with one entry a line (`key value...`), blank lines and `#` comments
 * allowed, and calls `onEntry` for each entry (value undefined when the line holds only a key).
 * Duplicate keys are found with 8 bytes per entry (hashes sorted, then an exact second pass over the
 * few candidates), never by holding all keys. `foldCase`: keys compare case-insensitively (postmap
 * without -f). Returns the number of entries. Shared by access tables and generic lookup tables.
 */
export function scanTableFile(
  where: string,
  field: string,
  file: string,
  foldCase: boolean,
  onEntry: (key: string, value: string | undefined, field: string, line: string) => void,
): number {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    throw new PostfixConfigError(
      where,
      field,
      file,
      'the file does not exist or is not a regular file',
      'give the path of a local file with one entry a line',
    );
  }
  const fold = (key: string) => (foldCase ? key.toLowerCase() : key);
  let hashes = new Float64Array(1024);
  let entries = 0;
  forEachLine(file, (raw, n) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (/^\s*(#|$)/.test(line)) return;
    const f = `${field} line ${n}`;
    if (/^\s/.test(line)) {
      throw new PostfixConfigError(
        where,
        f,
        line,
        'the line starts with whitespace, which Postfix reads as a continuation of the previous entry',
        'write one entry a line, starting at the first column',
      );
    }
    const m = /^(\S+)(?:\s+(.*?))?\s*$/.exec(line)!;
    onEntry(m[1], m[2] === '' ? undefined : m[2], f, line);
    if (entries === hashes.length) {
      const grown = new Float64Array(hashes.length * 2);
      grown.set(hashes);
      hashes = grown;
    }
    hashes[entries++] = keyHash(fold(m[1]));
  });
  if (entries === 0) throw new PostfixConfigError(where, field, file, 'the file holds no entries', 'add at least one line "key value"');
  const sorted = hashes.subarray(0, entries).sort();
  const candidates = new Set<number>();
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) candidates.add(sorted[i]);
  if (candidates.size > 0) {
    const firstLine = new Map<string, number>();
    forEachLine(file, (raw, n) => {
      const key = /^(\S+)/.exec(raw)?.[1];
      if (key === undefined || key.startsWith('#') || /^\s/.test(raw)) return;
      const dup = fold(key);
      if (!candidates.has(keyHash(dup))) return;
      const first = firstLine.get(dup);
      if (first !== undefined) {
        throw new PostfixConfigError(
          where,
          `${field} line ${n}`,
          key,
          `duplicate key (first on line ${first}${foldCase ? '; Postfix keys are case-insensitive' : ''}); postmap would keep only one of them`,
          'give each key once',
        );
      }
      firstLine.set(dup, n);
    });
  }
  return entries;
}

/** Validates a local access table file (`key action...` or, with defaultAction, `key` alone). */
export function scanAccessFile(where: string, field: string, file: string, type: AccessTableType, defaultAction?: string): AccessFileScan {
  if (defaultAction !== undefined) validateAccessAction(where, `${field} defaultAction`, defaultAction);
  let keyOnly = 0;
  let permissive = defaultAction !== undefined && isPermissiveAction(defaultAction);
  const kinds = new Set<AccessKeyKind>();
  const actionsSeen = new Map<string, boolean>();
  const entries = scanTableFile(where, field, file, duplicateKey('A', type) === 'a', (key, action, f, line) => {
    kinds.add(classifyAccessKey(where, f, key, type));
    if (action === undefined) {
      if (defaultAction === undefined) {
        throw new PostfixConfigError(
          where,
          f,
          line,
          'the line has a key but no action',
          'add an action (e.g. "REJECT") to the line, or pass defaultAction for lines that hold only a key',
        );
      }
      keyOnly++;
      return;
    }
    let ok = actionsSeen.get(action);
    if (ok === undefined) {
      validateAccessAction(where, `${f} action`, action);
      ok = isPermissiveAction(action);
      if (actionsSeen.size < 10000) actionsSeen.set(action, ok);
    }
    if (ok) permissive = true;
  });
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
