/**
 * access(5) tables as the builder takes them: props checked and turned into a table file, and the
 * checks that depend only on the table (keys that can never match at a stage). Where the
 * check_*_access goes in a restriction list is decided later, when the builder composes the host.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AccessEntry,
  AccessKeyKind,
  AccessTableType,
  indexedType,
  isPermissiveAction,
  renderAccessTable,
  rewriteCacheName,
  rewriteKeyOnlyLines,
  requireOneEntrySource,
  scanAccessFile,
  TABLE_TYPE_PACKAGES,
  validateAccessEntries,
  validateTableName,
  validateTableType,
} from '../model/access';
import { RestrictionStage } from '../model/restrictions';
import { PostfixConfigError } from '../model/errors';
import { postmapProblems } from '../model/header-checks';
import { DesiredFile } from '../model/host-state';
import { sha256File } from '../render/hash';
import { AccessTableType as TableTypeOption } from './vocabulary';

export interface AccessTableProps {
  /** @default AccessTableType.HASH (Debian's default_database_type) */
  readonly type?: TableTypeOption;
  /**
   * Entries from code: key -> access(5) action. Keys: `user@domain`, `domain`, `.domain` (subdomains),
   * `user@`, IP addresses and prefixes; `/regex/` for regexp and pcre; `net/len` for cidr. Order is kept
   * (first match wins in cidr, regexp and pcre tables): the order the keys were written in.
   * @default - none (give fromFile instead)
   */
  readonly entries?: { readonly [key: string]: string };
  /**
   * A local file with one entry a line (`key action`, or `key` alone with defaultAction), `#` comments
   * and blank lines allowed, as the seed page's blacklist. Streamed: any size, bounded memory; only its
   * hash goes into Terraform triggers and state.
   * @default - none (give entries instead)
   */
  readonly fromFile?: string;
  /** Action for lines of fromFile that hold only a key. @default - every line needs an action */
  readonly defaultAction?: string;
  /** Let the apply install the Debian package for a missing table type (postfix-lmdb, postfix-cdb, postfix-pcre). @default false: the apply fails naming the package */
  readonly installPackage?: boolean;
}

/** What the builder knows of an access table once it is added. */
export interface AccessTableInfo {
  /** Who added it (a construct path), for messages. */
  readonly where: string;
  readonly type: AccessTableType;
  /** Absolute path of the table source on the host. */
  readonly path: string;
  /** `type:path`, as restriction lists name it. */
  readonly reference: string;
  /** Number of entries. */
  readonly size: number;
  /** True when some entry can accept (OK, all-numerical, permit...). */
  readonly permissive: boolean;
  /** Kinds of keys present. */
  readonly keyKinds: ReadonlySet<AccessKeyKind>;
  /** Entries given in code (empty for fromFile tables). */
  readonly entries: readonly AccessEntry[];
}

export interface AccessTablePlan {
  readonly info: AccessTableInfo;
  readonly file: DesiredFile;
  /** Debian package to allow installing, when the props opt in and the type needs one. */
  readonly installPackage?: string;
}

/** Checks an access table's props and renders its file (entries from code) or points at it (fromFile). */
export function planAccessTable(where: string, name: string, configDirectory: string, props: AccessTableProps): AccessTablePlan {
  validateTableName(where, name);
  const type = validateTableType(where, 'type', props.type ?? 'hash');
  const tablePath = `${configDirectory.replace(/\/$/, '')}/${name}`;
  requireOneEntrySource(where, props);
  const hasEntries = props.entries !== undefined;
  if (props.defaultAction !== undefined && !props.fromFile) {
    throw new PostfixConfigError(
      where,
      'defaultAction',
      props.defaultAction,
      'defaultAction applies only to fromFile lines that hold a key alone',
      'write the action into each entry',
    );
  }
  const postmap = indexedType(type);
  const common = { where, type, path: tablePath, reference: `${type}:${tablePath}` };
  const installPackage = props.installPackage ? TABLE_TYPE_PACKAGES[type] : undefined;
  if (hasEntries) {
    const entries = validateAccessEntries(where, 'entries', type, props.entries);
    if (entries.length === 0)
      throw new PostfixConfigError(
        where,
        'entries',
        undefined,
        'the table has no entries',
        'give at least one entry, or leave the table out',
      );
    const content = renderAccessTable(entries);
    checkWithPostmap(where, type, content);
    const info = {
      ...common,
      size: entries.length,
      permissive: entries.some((e) => isPermissiveAction(e.action)),
      keyKinds: new Set(entries.map((e) => e.kind)),
      entries,
    };
    return { info, file: { path: tablePath, content, mode: '0644', ...(postmap ? { postmap } : {}) }, installPackage };
  }
  const file = path.resolve(props.fromFile!);
  const scan = scanAccessFile(where, 'fromFile', file, type, props.defaultAction);
  const sourcePath = scan.keyOnlyLines > 0 ? rewritten(file, props.defaultAction!) : file;
  if ((type === 'regexp' || type === 'pcre' || type === 'cidr') && fs.statSync(sourcePath).size <= 1 << 20) {
    checkWithPostmap(where, type, fs.readFileSync(sourcePath, 'utf8'));
  }
  const info = { ...common, size: scan.entries, permissive: scan.permissive, keyKinds: scan.kinds, entries: [] };
  return { info, file: { path: tablePath, sourcePath, mode: '0644', ...(postmap ? { postmap } : {}) }, installPackage };
}

/** Keys that can never match at this stage are a mistake, not a no-op (access(5): what each check looks up). */
export function checkKeysFit(table: AccessTableInfo, stage: RestrictionStage): void {
  const { where, type, keyKinds } = table;
  if (type === 'regexp' || type === 'pcre') return;
  const addressKinds: AccessKeyKind[] = ['address', 'user@'];
  const networkKinds: AccessKeyKind[] = ['ip', 'network'];
  const wrong = (stage === 'client' || stage === 'helo' ? addressKinds : networkKinds).filter((k) => keyKinds.has(k));
  if ((stage === 'sender' || stage === 'recipient') && type === 'cidr') {
    throw new PostfixConfigError(
      where,
      'type',
      'cidr',
      `a cidr table matches IP addresses, but check_${stage}_access looks up mail addresses`,
      'use restrictClients() for a cidr table, or a hash table of addresses and domains',
    );
  }
  if (wrong.length > 0) {
    throw new PostfixConfigError(
      where,
      'entries',
      wrong.join(', '),
      `${stage} checks look up ${stage === 'client' ? 'client IP addresses and host names' : stage === 'helo' ? 'HELO names' : 'mail addresses and domains'}, so ${wrong.join(' and ')} keys would never match`,
      'split the table by what it matches, or call the matching restrict...() method',
    );
  }
}

/** regexp, pcre and cidr content checked by the local postmap -q when one is installed (other types: no-op). */
export function checkWithPostmap(where: string, type: string, content: string): void {
  if (type !== 'regexp' && type !== 'pcre' && type !== 'cidr') return;
  const problems = postmapProblems(type, content);
  if (!problems || problems.length === 0) return;
  const p = problems[0];
  const line = content.split('\n')[p.line - 1];
  throw new PostfixConfigError(
    where,
    p.line ? `entries line ${p.line}` : 'entries',
    line,
    `Postfix rejects this ${type} entry (${p.message})`,
    'correct the entry',
  );
}

/** Key-only lines completed with defaultAction, written once per (content, action) to a cache file. */
function rewritten(file: string, defaultAction: string): string {
  const dir = path.join(os.tmpdir(), 'cdktf-postfix-tables');
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, rewriteCacheName(sha256File(file).sha256, defaultAction));
  if (!fs.existsSync(out)) {
    const tmp = `${out}.${process.pid}.tmp`;
    rewriteKeyOnlyLines(file, tmp, defaultAction);
    fs.renameSync(tmp, out);
  }
  return out;
}
