/**
 * The host's aliases(5) file as the builder takes it: entries checked, `root` (and `postmaster`, which
 * RFC 5321 section 4.5.1 requires) sent to an operator address when one is given, and the file built
 * with postalias(1) in the apply transaction beside the live one (bundle file field `postalias`).
 */
import { IndexedTableType } from '../model/bundle';
import { AliasLine, renderAliases, validateAliasDestination, validateAliasName, validateOperator } from '../model/aliases';
import { PostfixConfigError } from '../model/errors';
import { DesiredFile } from '../model/host-state';
import { validateHostPath } from '../model/validate-host';

export interface AliasEntry {
  /** The local part, e.g. "root" or "info". */
  readonly name: string;
  /** Addresses or local users; `|command`, `/file` and `:include:/file` only with the matching allow* prop. */
  readonly destinations: string[];
}

export interface AliasesProps {
  readonly entries?: AliasEntry[];
  /** Where root's mail goes: adds `root: <operator>` (and `postmaster: root` unless given). */
  readonly operator?: string;
  /** The aliases file on the host; it is added to alias_maps and alias_database. @default "/etc/aliases" */
  readonly path?: string;
  /** hash, btree, lmdb or cdb. @default "hash" */
  readonly type?: string;
  /** Allow `|command` destinations. @default false */
  readonly allowCommands?: boolean;
  /** Allow `/file` destinations. @default false */
  readonly allowFiles?: boolean;
  /** Allow `:include:/file` destinations. @default false */
  readonly allowIncludes?: boolean;
}

export interface AliasesPlan {
  readonly file: DesiredFile;
  /** `type:path`, as alias_maps lists it. */
  readonly reference: string;
  readonly type: IndexedTableType;
  readonly names: readonly string[];
}

const ALIAS_TYPES: readonly IndexedTableType[] = ['hash', 'btree', 'lmdb', 'cdb'];

export function planAliases(where: string, props: AliasesProps): AliasesPlan {
  const path = props.path ?? '/etc/aliases';
  validateHostPath(where, 'path', path);
  const type = (props.type ?? 'hash') as IndexedTableType;
  if (!ALIAS_TYPES.includes(type))
    throw new PostfixConfigError(
      where,
      'type',
      props.type,
      'postalias builds only indexed tables',
      `use one of: ${ALIAS_TYPES.join(', ')}`,
    );
  const policy = {
    allowCommands: props.allowCommands === true,
    allowFiles: props.allowFiles === true,
    allowIncludes: props.allowIncludes === true,
  };
  const lines: AliasLine[] = [];
  const seen = new Set<string>();
  const push = (field: string, name: string, destinations: readonly string[]) => {
    const key = validateAliasName(where, `${field} name`, name);
    if (seen.has(key))
      throw new PostfixConfigError(
        where,
        `${field} name`,
        name,
        'the alias is given twice (names are case-insensitive)',
        'give each name once, with all its destinations',
      );
    if (destinations.length === 0)
      throw new PostfixConfigError(where, `${field} destinations`, undefined, 'the alias has no destinations', 'give at least one address');
    seen.add(key);
    lines.push({
      name: key,
      destinations: destinations.map((d, i) => validateAliasDestination(where, `${field} destinations[${i}]`, d, policy)),
    });
  };
  (props.entries ?? []).forEach((e, i) => push(`entries[${i}]`, e.name, e.destinations));
  if (props.operator !== undefined) {
    const operator = validateOperator(where, props.operator);
    if (seen.has('root'))
      throw new PostfixConfigError(
        where,
        'operator',
        props.operator,
        'the entries already give root an alias',
        'give the operator address or a root entry, not both',
      );
    push('operator', 'root', [operator]);
  }
  if (lines.length === 0)
    throw new PostfixConfigError(
      where,
      'entries',
      undefined,
      'no aliases and no operator address',
      'give entries, an operator address, or both',
    );
  if (!seen.has('postmaster')) push('postmaster (RFC 5321)', 'postmaster', ['root']);
  return {
    file: { path, content: renderAliases(lines), mode: '0644', postalias: type },
    reference: `${type}:${path}`,
    type,
    names: lines.map((l) => l.name),
  };
}
