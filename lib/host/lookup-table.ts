/**
 * Generic lookup tables as the builder takes them: props checked per table kind and turned into a
 * table file (postmap'd like access tables when indexed) or an inline value, plus the `type:path`
 * reference the builder appends to the `*_maps` parameter when it composes the host.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scanTableFile } from '../model/access-file';
import { requireOneEntrySource, TABLE_TYPE_PACKAGES, validateTableName } from '../model/access';
import { PostfixConfigError } from '../model/errors';
import { DesiredFile } from '../model/host-state';
import {
  LookupEntry,
  LookupTableKind,
  LookupTableType,
  lookupIndexedType,
  lookupKind,
  renderInlineTable,
  renderLookupTable,
  validateLookupEntries,
  validateLookupKey,
  validateLookupType,
  validateLookupValue,
  validateMapsParameter,
} from '../model/lookup-table';
import { checkWithPostmap } from './access-table';

/** One entry of a lookup table: the key Postfix looks up and the result. */
export interface LookupTableEntry {
  readonly key: string;
  readonly value: string;
}

export interface LookupTableProps {
  /** The `*_maps` parameter the table feeds, e.g. "virtual_alias_maps" or "transport_maps"; it also decides how keys and values are checked. */
  readonly parameter: string;
  /** hash, lmdb, cdb, btree, texthash, inline, regexp, pcre or cidr. @default "hash" (Debian's default_database_type) */
  readonly type?: string;
  /** Entries from code, in order (first match wins in regexp, pcre and cidr tables). */
  readonly entries?: LookupTableEntry[];
  /**
   * A local file in postmap's input format (`key value`, `#` comments, blank lines), streamed: any size
   * in bounded memory; only its hash goes into Terraform triggers and state. Not for inline tables.
   */
  readonly fromFile?: string;
  /** Let the apply install the Debian package for a missing table type (postfix-lmdb, postfix-cdb, postfix-pcre). @default false */
  readonly installPackage?: boolean;
}

/** What the builder knows of a lookup table once it is added. */
export interface LookupTableInfo {
  readonly where: string;
  readonly parameter: string;
  readonly kind: LookupTableKind;
  readonly type: LookupTableType;
  /** Absolute path of the table source on the host (absent for inline tables). */
  readonly path?: string;
  /** What the parameter lists: `type:path`, or the whole `inline:{ ... }` text. */
  readonly reference: string;
  readonly size: number;
}

export interface LookupTablePlan {
  readonly info: LookupTableInfo;
  readonly file?: DesiredFile;
  readonly installPackage?: string;
}

export function planLookupTable(where: string, name: string, configDirectory: string, props: LookupTableProps): LookupTablePlan {
  validateTableName(where, name);
  const parameter = validateMapsParameter(where, props.parameter);
  const kind = lookupKind(parameter);
  const type = validateLookupType(where, props.type ?? 'hash');
  requireOneEntrySource(where, props);
  const hasEntries = props.entries !== undefined;
  const installPackage = props.installPackage ? TABLE_TYPE_PACKAGES[type] : undefined;
  const common = { where, parameter, kind, type };
  if (type === 'inline') {
    if (!hasEntries)
      throw new PostfixConfigError(
        where,
        'fromFile',
        props.fromFile,
        'an inline table lives in main.cf, not in a file',
        'give entries in code, or use type "hash" for a file',
      );
    const entries = checkedEntries(where, kind, type, props.entries);
    return { info: { ...common, reference: renderInlineTable(entries), size: entries.length } };
  }
  const tablePath = `${configDirectory.replace(/\/$/, '')}/${name}`;
  const postmap = lookupIndexedType(type);
  const info = { ...common, path: tablePath, reference: `${type}:${tablePath}` };
  const fileCommon = { path: tablePath, mode: '0644', ...(postmap ? { postmap } : {}) };
  if (hasEntries) {
    const entries = checkedEntries(where, kind, type, props.entries);
    const content = renderLookupTable(entries);
    checkWithPostmap(where, type, content);
    return { info: { ...info, size: entries.length }, file: { ...fileCommon, content }, installPackage };
  }
  const sourcePath = path.resolve(props.fromFile!);
  const size = scanLookupFile(where, kind, type, sourcePath);
  if ((type === 'regexp' || type === 'pcre' || type === 'cidr') && fs.statSync(sourcePath).size <= 1 << 20) {
    checkWithPostmap(where, type, fs.readFileSync(sourcePath, 'utf8'));
  }
  return { info: { ...info, size }, file: { ...fileCommon, sourcePath }, installPackage };
}

function checkedEntries(where: string, kind: LookupTableKind, type: LookupTableType, entries: readonly LookupEntry[]): LookupEntry[] {
  const checked = validateLookupEntries(where, kind, type, entries);
  if (checked.length === 0)
    throw new PostfixConfigError(
      where,
      'entries',
      undefined,
      'the table has no entries',
      'give at least one entry, or leave the table out',
    );
  return checked;
}

/** Streams the file once (bounded memory), checking each key and value; values seen before are not checked again. */
function scanLookupFile(where: string, kind: LookupTableKind, type: LookupTableType, file: string): number {
  const valuesSeen = new Set<string>();
  return scanTableFile(where, 'fromFile', file, type !== 'regexp' && type !== 'pcre', (key, value, field, line) => {
    validateLookupKey(where, field, kind, type, key);
    if (value === undefined)
      throw new PostfixConfigError(where, field, line, 'the line has a key but no value', 'write "key value" on each line');
    if (valuesSeen.has(value)) return;
    validateLookupValue(where, `${field} value`, kind, value);
    if (valuesSeen.size < 10000) valuesSeen.add(value);
  });
}
