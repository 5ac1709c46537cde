/**
 * aliases(5) entries: names, destinations and the file postalias(1) builds. Pure.
 * local(8) looks up the recipient's local part only, so a name never holds "@". Command (`|cmd`),
 * file (`/path`) and `:include:` destinations run with the privileges local(8) gives them and are
 * refused unless the user opts in (postconf(5) allow_mail_to_commands, allow_mail_to_files).
 */
import { PostfixConfigError } from './errors';

export interface AliasDestinationsPolicy {
  readonly allowCommands: boolean;
  readonly allowFiles: boolean;
  readonly allowIncludes: boolean;
}

export interface AliasLine {
  readonly name: string;
  readonly destinations: readonly string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const LOCAL = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+";
const DOMAIN = '[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*';
const ADDRESS = new RegExp(`^${LOCAL}(?:@${DOMAIN})?$`);
const FULL_ADDRESS = new RegExp(`^${LOCAL}@${DOMAIN}$`);

export function validateAliasName(where: string, field: string, name: string): string {
  if (!NAME.test(name)) {
    throw new PostfixConfigError(
      where,
      field,
      name,
      'an alias name is a local part: letters, digits, ".", "_", "+" or "-", no "@", ":", whitespace or leading punctuation (local(8) looks up the local part only)',
      'give the local part, e.g. "root" or "postmaster"',
    );
  }
  return name.toLowerCase();
}

/** One destination: an address, or (opted in) |command, /file or :include:/file. Returns it as written to the file. */
export function validateAliasDestination(where: string, field: string, value: string, policy: AliasDestinationsPolicy): string {
  const d = value.trim();
  const bad = (problem: string, fix: string) => new PostfixConfigError(where, field, value, problem, fix);
  if (/[\r\n\0]/.test(d)) throw bad('the destination contains a newline, carriage return or NUL character', 'give it on one line');
  if (d === '') throw bad('the destination is empty', 'give a mail address or a local user');
  if (d.startsWith('|')) {
    if (!policy.allowCommands)
      throw bad(
        'a command destination runs a program for every message (aliases(5)); it is refused unless you opt in',
        'set allowCommands: true (and keep "alias" in allow_mail_to_commands), or deliver to an address',
      );
    if (d.includes('"'))
      throw bad(
        'a command cannot contain a double quote (the whole destination is quoted in the aliases file)',
        'wrap the command in a script',
      );
    return /[\s,]/.test(d) ? `"${d}"` : d;
  }
  if (d.startsWith(':include:')) {
    if (!policy.allowIncludes)
      throw bad(
        'an :include: destination reads more destinations from a file; it is refused unless you opt in',
        'set allowIncludes: true, or list the destinations here',
      );
    if (!/^:include:\/\S+$/.test(d))
      throw bad('an :include: file must be an absolute path without spaces', 'write :include:/etc/postfix/list');
    return d;
  }
  if (d.startsWith('/')) {
    if (!policy.allowFiles)
      throw bad(
        'a file destination appends every message to a file (aliases(5)); it is refused unless you opt in',
        'set allowFiles: true (and keep "alias" in allow_mail_to_files), or deliver to an address',
      );
    if (/[\s,"]/.test(d)) throw bad('a file path cannot contain whitespace, "," or a double quote', 'choose a plain absolute path');
    return d;
  }
  if (!ADDRESS.test(d)) throw bad('not a mail address or local user', 'give e.g. "ops@example.org" or "alice"');
  return d;
}

/** An operator address: the mailbox root and postmaster mail goes to. */
export function validateOperator(where: string, operator: string): string {
  if (!FULL_ADDRESS.test(operator.trim()) && !ADDRESS.test(operator.trim())) {
    throw new PostfixConfigError(
      where,
      'operator',
      operator,
      'not a mail address or local user',
      'give the address that should get root\'s mail, e.g. "ops@example.org"',
    );
  }
  return operator.trim();
}

/** `name: dest, dest` lines (aliases(5)), in the order given. */
export function renderAliases(lines: readonly AliasLine[]): string {
  return lines.map((l) => `${l.name}: ${l.destinations.join(', ')}\n`).join('');
}
