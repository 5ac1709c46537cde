/**
 * header_checks(5) rules and the regular-expression table syntax shared by regexp_table(5) and
 * pcre_table(5): `[!]/pattern/flags result`.
 *
 * Validation happens in two layers:
 * 1. A structural check written here (delimiters, flags, unbalanced (, [, {, a quantifier with
 *    nothing to repeat, unknown [:class:] names, a trailing backslash). It needs nothing installed
 *    and catches the mistakes people make; the unit tests compare its verdicts with the real
 *    `postmap -q` for both table types.
 * 2. When a `postmap` binary is present where synth runs, `postmapProblems()` asks Postfix itself
 *    (Postfix only logs a warning and skips a bad rule, so without this a typo silently disables it).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PostfixConfigError } from './errors';

export const REGEX_TABLE_TYPES = ['regexp', 'pcre'] as const;
export type RegexTableType = (typeof REGEX_TABLE_TYPES)[number];

/** Flags each table type understands (regexp_table(5), pcre_table(5)). */
const FLAGS: Readonly<Record<RegexTableType, string>> = { regexp: 'imx', pcre: 'imsxAEUX' };

export interface ParsedPattern {
  readonly negate: boolean;
  readonly delimiter: string;
  readonly body: string;
  readonly flags: string;
}

/**
 * Splits `[!]/pattern/flags` (the whole text, no result). Throws PostfixConfigError when Postfix
 * would skip the rule or read the line as something else.
 */
export function parsePattern(where: string, field: string, text: string, type: RegexTableType): ParsedPattern {
  const bad = (
    problem: string,
    fix = `write the pattern as /regex/flags, e.g. /^X-Mailer:/ (flags: ${FLAGS[type].split('').join(', ')})`,
  ) => new PostfixConfigError(where, field, text, problem, fix);
  if (/[\r\n\0]/.test(text)) throw bad('the pattern contains a newline, carriage return or NUL character');
  const negate = text.startsWith('!');
  const rest = negate ? text.slice(1) : text;
  const delimiter = rest[0];
  if (delimiter === undefined || /[\sA-Za-z0-9]/.test(delimiter)) {
    throw bad(`a ${type} pattern must start with a delimiter such as "/" (Postfix ignores this line as an unrecognized request)`);
  }
  if (delimiter === '#' && !negate) throw bad('"#" cannot be the delimiter: Postfix reads a line starting with "#" as a comment');
  if (delimiter === '\\' || delimiter === '!') throw bad(`"${delimiter}" cannot be the delimiter`);
  let i = 1;
  let body = '';
  for (; i < rest.length; i++) {
    const ch = rest[i];
    if (ch === '\\' && i + 1 < rest.length) {
      // An escaped delimiter is the delimiter itself inside the pattern (Postfix drops the backslash).
      body += rest[i + 1] === delimiter ? delimiter : ch + rest[i + 1];
      i++;
      continue;
    }
    if (ch === delimiter) break;
    body += ch;
  }
  if (i >= rest.length) throw bad(`no closing delimiter "${delimiter}" (Postfix skips this rule)`);
  const flags = rest.slice(i + 1);
  if (/\s/.test(flags)) throw bad('whitespace after the closing delimiter belongs between the pattern and the action, not in the pattern');
  for (const f of flags) {
    if (!FLAGS[type].includes(f)) throw bad(`unknown ${type} flag "${f}" (Postfix skips this rule)`);
  }
  const problem = regexProblem(body, type);
  if (problem)
    throw bad(
      `Postfix would reject this ${type === 'regexp' ? 'POSIX' : 'PCRE'} regular expression: ${problem}`,
      'correct the regular expression (escape literal ( [ { * + ? with a backslash)',
    );
  return { negate, delimiter, body, flags };
}

const POSIX_CLASSES = new Set([
  'alnum',
  'alpha',
  'blank',
  'cntrl',
  'digit',
  'graph',
  'lower',
  'print',
  'punct',
  'space',
  'upper',
  'xdigit',
]);
const PCRE_CLASSES = new Set([...POSIX_CLASSES, 'ascii', 'word']);

/** A sentence naming the first structural error, or undefined when the expression looks valid. */
export function regexProblem(body: string, type: RegexTableType): string | undefined {
  const pcre = type === 'pcre';
  let depth = 0;
  /** True when the previous item can be repeated by a quantifier. */
  let repeatable = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '\\') {
      if (i + 1 >= body.length) return 'trailing backslash';
      if (pcre && body[i + 1] === 'Q') {
        const end = body.indexOf('\\E', i + 2);
        i = end < 0 ? body.length : end + 1;
      } else {
        i++;
      }
      repeatable = true;
      continue;
    }
    if (ch === '[') {
      const end = bracketEnd(body, i, pcre);
      if (typeof end === 'string') return end;
      i = end;
      repeatable = true;
      continue;
    }
    if (ch === '(') {
      depth++;
      if (pcre && body[i + 1] === '?') {
        // (?:...), (?=...), (?<name>...), (?i) ...: skip the introducer.
        i++;
      } else if (pcre && body[i + 1] === '*') {
        return '"(*" starts a PCRE verb; escape the "*" to match it literally';
      }
      repeatable = false;
      continue;
    }
    if (ch === ')') {
      if (depth === 0) {
        if (pcre) return 'unmatched closing parenthesis';
        // POSIX: a lone ")" is an ordinary character.
        repeatable = true;
        continue;
      }
      depth--;
      repeatable = true;
      continue;
    }
    if (ch === '|') {
      repeatable = false;
      continue;
    }
    if (ch === '*' || ch === '+' || ch === '?') {
      if (!repeatable) {
        // PCRE: ? or + after a quantifier makes it lazy/possessive.
        if (pcre && (ch === '?' || ch === '+') && isQuantifier(body, i - 1)) continue;
        return pcre
          ? 'quantifier does not follow a repeatable item'
          : `"${ch}" has nothing before it to repeat (Invalid preceding regular expression)`;
      }
      if (pcre) repeatable = false;
      continue;
    }
    if (ch === '{') {
      const m = /^\{(\d*)(,(\d*))?\}/.exec(body.slice(i));
      if (!m || (pcre && m[1] === '')) {
        // PCRE: a "{" that does not start a quantifier is an ordinary character.
        if (pcre) {
          repeatable = true;
          continue;
        }
        return 'unmatched {';
      }
      if (!repeatable)
        return pcre
          ? 'quantifier does not follow a repeatable item'
          : '"{" has nothing before it to repeat (Invalid preceding regular expression)';
      if (m[3] !== undefined && m[3] !== '' && Number(m[3]) < Number(m[1] || '0')) return `numbers out of order in ${m[0]}`;
      i += m[0].length - 1;
      if (pcre) repeatable = false;
      continue;
    }
    repeatable = ch !== '^';
  }
  if (depth > 0) return pcre ? 'missing closing parenthesis' : 'unmatched (';
  return undefined;
}

function isQuantifier(body: string, i: number): boolean {
  const ch = body[i];
  return ch === '*' || ch === '+' || ch === '?' || ch === '}';
}

/** Index of the "]" closing the bracket expression opened at `start`, or a problem sentence. */
function bracketEnd(body: string, start: number, pcre: boolean): number | string {
  let i = start + 1;
  if (body[i] === '^') i++;
  if (body[i] === ']') i++; // a leading "]" is literal
  for (; i < body.length; i++) {
    const ch = body[i];
    if (pcre && ch === '\\') {
      i++;
      continue;
    }
    if (ch === '[' && (body[i + 1] === ':' || body[i + 1] === '.' || body[i + 1] === '=')) {
      const kind = body[i + 1];
      const end = body.indexOf(`${kind}]`, i + 2);
      if (end < 0) return pcre ? 'missing terminating ] for character class' : 'unmatched [';
      const name = body.slice(i + 2, end);
      if (kind === ':') {
        const known = pcre ? PCRE_CLASSES : POSIX_CLASSES;
        const bare = pcre && name.startsWith('^') ? name.slice(1) : name;
        if (!known.has(bare)) return `unknown character class name [:${name}:]`;
      }
      i = end + 1;
      continue;
    }
    if (ch === ']') return i;
  }
  return pcre ? 'missing terminating ] for character class' : 'unmatched [';
}

// ------------------------------------------------------------------------------------ actions

/** header_checks(5) actions with what follows them. */
const HEADER_ACTIONS: Readonly<Record<string, 'none' | 'optional-text' | 'text' | 'header' | 'address' | 'nexthop'>> = {
  BCC: 'address',
  DISCARD: 'optional-text',
  DUNNO: 'none',
  FILTER: 'nexthop',
  HOLD: 'optional-text',
  IGNORE: 'none',
  INFO: 'optional-text',
  PASS: 'optional-text',
  PREPEND: 'header',
  REDIRECT: 'address',
  REPLACE: 'header',
  REJECT: 'optional-text',
  STRIP: 'optional-text',
  WARN: 'optional-text',
};

export const HEADER_ACTION_NAMES: readonly string[] = Object.keys(HEADER_ACTIONS);

/** Throws unless `action` is a header_checks(5) action Postfix 3.7 accepts; returns it trimmed. */
export function validateHeaderAction(where: string, field: string, action: string): string {
  const text = action.trim();
  const bad = (problem: string, fix: string) => new PostfixConfigError(where, field, action, problem, fix);
  if (/[\r\n\0]/.test(text))
    throw bad('the action contains a newline, carriage return or NUL character', 'put the action and its text on one line');
  const m = /^(\S+)(?:\s+(.*))?$/.exec(text);
  if (!m) throw bad('the action is empty', `use one of: ${HEADER_ACTION_NAMES.join(', ')}`);
  const word = m[1];
  const arg = m[2] ?? '';
  const kind = HEADER_ACTIONS[word];
  if (kind === undefined) {
    const upper = HEADER_ACTIONS[word.toUpperCase()] !== undefined ? ` (did you mean ${word.toUpperCase()}?)` : '';
    throw bad(`unknown header_checks action "${word}"${upper}`, `use one of: ${HEADER_ACTION_NAMES.join(', ')}`);
  }
  checkActionArgument(word, kind, arg, bad);
  return text;
}

export type ActionArgumentKind = 'none' | 'optional-text' | 'text' | 'header' | 'address' | 'nexthop';

/** Shared by header and access actions. */
export function checkActionArgument(
  word: string,
  kind: ActionArgumentKind,
  arg: string,
  bad: (problem: string, fix: string) => PostfixConfigError,
): void {
  switch (kind) {
    case 'none':
      if (arg) throw bad(`${word} takes no text`, `write just ${word}`);
      return;
    case 'optional-text':
      return;
    case 'text':
      if (!arg) throw bad(`${word} needs text`, `write ${word} followed by the text`);
      return;
    case 'header':
      if (!/^[\x21-\x39\x3b-\x7e]+:/.test(arg)) throw bad(`${word} needs a whole header line "Name: value"`, `e.g. ${word} X-Scanned: yes`);
      return;
    case 'address':
      if (!/^[^\s@]+@[^\s@]+$/.test(arg)) throw bad(`${word} needs one address user@domain`, `e.g. ${word} archive@example.org`);
      return;
    case 'nexthop':
      if (!/^[A-Za-z0-9_.-]+:\S*$/.test(arg)) throw bad(`${word} needs transport:destination`, `e.g. ${word} smtp:[127.0.0.1]:10025`);
      return;
  }
}

// ------------------------------------------------------------------------------------ rules

export interface HeaderRule {
  /** `/regex/flags` or `!/regex/flags`. */
  readonly pattern: string;
  /** A header_checks(5) action, e.g. `IGNORE`, `REJECT text`, `REPLACE X-Foo: bar`. */
  readonly action: string;
}

/** The seed page's four "Censor Sensitive Headers" rules, verbatim. */
export const PRIVACY_RULES: readonly HeaderRule[] = [
  { pattern: '/^Received:.*with ESMTPSA/', action: 'IGNORE' },
  { pattern: '/^X-Originating-IP:/', action: 'IGNORE' },
  { pattern: '/^X-Mailer:/', action: 'IGNORE' },
  { pattern: '/^User-Agent:/', action: 'IGNORE' },
];

/** Validates every rule (patterns, actions, duplicate patterns) and returns the normalized rules. */
export function validateHeaderRules(where: string, field: string, type: RegexTableType, rules: readonly HeaderRule[]): HeaderRule[] {
  if (rules.length === 0)
    throw new PostfixConfigError(where, field, undefined, 'no rules given', 'give at least one { pattern, action } rule');
  const seen = new Map<string, number>();
  return rules.map((rule, i) => {
    const f = `${field}[${i}]`;
    const pattern = String(rule.pattern ?? '');
    parsePattern(where, `${f}.pattern`, pattern, type);
    const action = validateHeaderAction(where, `${f}.action`, String(rule.action ?? ''));
    const before = seen.get(pattern);
    if (before !== undefined) {
      throw new PostfixConfigError(
        where,
        `${f}.pattern`,
        pattern,
        `duplicate of rule ${before}; the first match wins, so this rule would never apply`,
        'remove one of the two rules',
      );
    }
    seen.set(pattern, i);
    return { pattern, action };
  });
}

/** The table file: one `pattern<TAB>action` line per rule, in order (first match wins). */
export function renderRegexTable(rules: readonly { readonly pattern: string; readonly action: string }[]): string {
  return rules.map((r) => `${r.pattern}\t${r.action}\n`).join('');
}

// ------------------------------------------------------------------------------------ postmap

let postmapPath: string | null | undefined;

/** The local postmap binary, if any (cached). */
export function localPostmap(): string | undefined {
  if (postmapPath === undefined) {
    postmapPath = null;
    if (process.env.CDKTF_POSTFIX_POSTMAP_CHECK !== '0') {
      for (const dir of ['/usr/sbin', '/usr/local/sbin', '/usr/bin', ...(process.env.PATH ?? '').split(':')]) {
        const p = path.join(dir || '.', 'postmap');
        if (fs.existsSync(p)) {
          postmapPath = p;
          break;
        }
      }
    }
  }
  return postmapPath ?? undefined;
}

export interface PostmapProblem {
  readonly line: number;
  readonly message: string;
}

/**
 * Asks the local Postfix whether it accepts the table `content` of `type` (regexp, pcre, cidr):
 * the warnings `postmap -q` prints for rules it skips. Undefined when no postmap is installed or the
 * type is not supported locally.
 */
export function postmapProblems(type: string, content: string): PostmapProblem[] | undefined {
  const postmap = localPostmap();
  if (!postmap) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdktf-postfix-check-'));
  try {
    const file = path.join(dir, 'table');
    fs.writeFileSync(file, content);
    const r = spawnSync(postmap, ['-q', 'cdktf-postfix-probe', `${type}:${file}`], { encoding: 'utf8', timeout: 10_000 });
    if (r.error) return undefined;
    const problems: PostmapProblem[] = [];
    for (const line of (r.stderr ?? '').split('\n')) {
      if (/unsupported dictionary type|dictionary type .* is not supported/i.test(line)) return undefined;
      const m = /warning: .*?, line (\d+): (.*)$/.exec(line);
      if (m) problems.push({ line: Number(m[1]), message: m[2] });
      else if (/fatal:/.test(line)) problems.push({ line: 0, message: line.replace(/^.*fatal: /, '') });
    }
    return problems;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
