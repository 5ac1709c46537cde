/**
 * The relay check (relay.ts) on a host's own text: `postconf -n` (main.cf values that are set),
 * `postconf -M` (master.cf entries, one a line) and optionally `postconf -P` (service/type/name =
 * value). This is what the runner feeds it before a swap, so hand edits on the host count too.
 * Also: the results a lookup table file can return, read from its source text.
 */
import { PostfixConfigError } from './errors';
import { findRelayProblems, RelayService } from './relay';

/** `name = value` lines (postconf -n; "name =" for an empty value). */
export function parsePostconfN(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_]+) =(?: (.*))?$/.exec(line.replace(/\r$/, ''));
    if (m) values[m[1]] = m[2] ?? '';
  }
  return values;
}

/** One master.cf entry (`name type private unpriv chroot wakeup maxproc command args`) -> its key, command and -o overrides. */
export function parseMasterLine(line: string): { key: string; command: string; options: Record<string, string> } | undefined {
  const words = line.trim().split(/\s+/);
  if (words.length < 8 || words[0].startsWith('#')) return undefined;
  const options: Record<string, string> = {};
  for (let i = 8; i < words.length; i++) {
    if (words[i] !== '-o') continue;
    let text = words[++i] ?? '';
    // Postfix 3.0 long form: -o { name = value with spaces }
    if (text.startsWith('{')) {
      const group = [text];
      while (!group[group.length - 1].endsWith('}') && i + 1 < words.length) group.push(words[++i]);
      text = group
        .join(' ')
        .replace(/^\{\s*/, '')
        .replace(/\s*\}$/, '');
    }
    const eq = text.indexOf('=');
    if (eq > 0) options[text.slice(0, eq).trim()] = text.slice(eq + 1).trim();
  }
  return { key: `${words[0]}/${words[1]}`, command: words[7], options };
}

/** `service/type/name = value` lines (postconf -P). */
export function parsePostconfP(text: string): Map<string, Record<string, string>> {
  const byService = new Map<string, Record<string, string>>();
  for (const line of text.split('\n')) {
    const m = /^([^/\s]+\/[^/\s]+)\/([A-Za-z0-9_]+) =(?: (.*))?$/.exec(line.replace(/\r$/, ''));
    if (!m) continue;
    const options = byService.get(m[1]) ?? {};
    options[m[2]] = m[3] ?? '';
    byService.set(m[1], options);
  }
  return byService;
}

/** The smtpd services of master.cf lines; -P output, when given, supplies the overrides. */
export function smtpdServices(masterLines: readonly string[], postconfP?: string): RelayService[] {
  const overrides = postconfP !== undefined ? parsePostconfP(postconfP) : undefined;
  const services: RelayService[] = [];
  for (const line of masterLines) {
    const entry = parseMasterLine(line);
    if (!entry || entry.command !== 'smtpd') continue;
    services.push({ key: entry.key, options: overrides ? (overrides.get(entry.key) ?? {}) : entry.options });
  }
  return services;
}

export interface PostconfRelayInput {
  readonly where: string;
  /** `postconf -n` output. */
  readonly postconfN: string;
  /** `postconf -M` output (or master.cf entries one a line). */
  readonly postconfM: string;
  /** `postconf -P` output. @default - overrides read from the -M lines */
  readonly postconfP?: string;
  /** Source text of a lookup table known to the caller (the bundle's files), by path. */
  readonly tableSource?: (path: string) => string | undefined;
}

/** Relay and mynetworks problems of a host's effective configuration. */
export function relayProblemsFromPostconf(input: PostconfRelayInput): PostfixConfigError[] {
  return findRelayProblems({
    where: input.where,
    main: parsePostconfN(input.postconfN),
    services: smtpdServices(input.postconfM.split('\n'), input.postconfP),
    tableActions: tableActionsFrom(input.tableSource ?? (() => undefined)),
  });
}

/** A tableActions callback over table source texts (`type:/path` -> the path's text). */
export function tableActionsFrom(sourceOf: (path: string) => string | undefined): (table: string) => readonly string[] | undefined {
  return (table) => {
    const m = /^([a-z0-9]+):(\/.*)$/.exec(table);
    if (!m) return undefined;
    const text = sourceOf(m[2]);
    return text === undefined ? undefined : tableEntryActions(m[1], text);
  };
}

/**
 * The results a table's entries return: the text after the key (hash, btree, lmdb, cdb, texthash,
 * cidr) or after the pattern (regexp, pcre); indented lines continue the previous entry (access(5)).
 * Undefined for types whose source is not such a file.
 */
export function tableEntryActions(type: string, text: string): string[] | undefined {
  const patterns = type === 'regexp' || type === 'pcre';
  if (!patterns && !['hash', 'btree', 'lmdb', 'cdb', 'texthash', 'cidr', 'dbm'].includes(type)) return undefined;
  const logical: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (/^\s*(#|$)/.test(line)) continue;
    if (/^\s/.test(line) && logical.length) logical[logical.length - 1] += ` ${line.trim()}`;
    else logical.push(line);
  }
  const actions: string[] = [];
  for (const line of logical) {
    if (patterns) {
      if (/^(if|endif)\b/.test(line)) continue;
      const rest = afterPattern(line);
      if (rest === undefined) return undefined;
      actions.push(rest);
    } else {
      actions.push(line.replace(/^\S+\s*/, ''));
    }
  }
  return actions;
}

/** `/pattern/flags result` or `!/pattern/ result` -> result (any delimiter, backslash escapes). */
function afterPattern(line: string): string | undefined {
  let i = line.startsWith('!') ? 1 : 0;
  const delimiter = line[i];
  if (delimiter === undefined) return undefined;
  for (i++; i < line.length && line[i] !== delimiter; i++) if (line[i] === '\\') i++;
  if (i >= line.length) return undefined;
  return line.slice(i + 1).replace(/^[A-Za-z]*\s*/, '');
}
