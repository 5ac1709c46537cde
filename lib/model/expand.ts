/**
 * postconf(5) "$name" expansion, enough to learn the effective value of a restriction list:
 * $name, ${name}, $(name), ${name?text}, ${name:text}, ${name?{text}:{text}} and the Postfix 3.6
 * comparison form ${{text} op {text} ? {text} : {text}} that Postfix's own defaults use (e.g.
 * smtpd_relay_restrictions depends on compatibility_level). Pure: values come from `lookup`.
 */

/** A value that cannot be known (unset parameter without a default, an operator not modelled...). */
export class Unresolvable extends Error {}

/** The raw (unexpanded) value of a parameter, or undefined when it has none. */
export type Lookup = (name: string) => string | undefined;

const MAX_DEPTH = 20;

export function expand(text: string, lookup: Lookup, depth = 0): string {
  if (depth > MAX_DEPTH) throw new Unresolvable('$name references nest too deeply (a loop?)');
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== '$') {
      out += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === '{' || next === '(') {
      const end = closing(text, i + 1);
      out += expandGroup(text.slice(i + 2, end), lookup, depth);
      i = end;
      continue;
    }
    const m = /^[A-Za-z0-9_]+/.exec(text.slice(i + 1));
    if (!m) {
      out += ch;
      continue;
    }
    out += valueOf(m[0], lookup, depth);
    i += m[0].length;
  }
  return out;
}

function valueOf(name: string, lookup: Lookup, depth: number): string {
  const raw = lookup(name);
  if (raw === undefined) throw new Unresolvable(`$${name} has no value that can be known here`);
  return expand(raw, lookup, depth + 1);
}

/** Index of the bracket that closes the one at `open` (nested ones counted). */
function closing(text: string, open: number): number {
  const o = text[open];
  const c = o === '{' ? '}' : ')';
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === o) depth++;
    if (text[i] === c && --depth === 0) return i;
  }
  throw new Unresolvable(`unbalanced "${o}" in ${JSON.stringify(text)}`);
}

function expandGroup(inner: string, lookup: Lookup, depth: number): string {
  if (inner.trimStart().startsWith('{')) return expandComparison(inner, lookup, depth);
  const m = /^([A-Za-z0-9_]+)(?:([?:])([\s\S]*))?$/.exec(inner);
  if (!m) throw new Unresolvable(`cannot read "\${${inner}}"`);
  const [, name, op, rest] = m;
  if (op === undefined) return valueOf(name, lookup, depth);
  const raw = lookup(name);
  const set = raw !== undefined && expand(raw, lookup, depth + 1) !== '';
  const [whenTrue, whenFalse] = braces(rest);
  if (op === '?') return set ? expand(whenTrue, lookup, depth + 1) : whenFalse !== undefined ? expand(whenFalse, lookup, depth + 1) : '';
  return set ? '' : expand(whenTrue, lookup, depth + 1);
}

/** `{a}:{b}` -> [a, b]; `text` -> [text]. */
function braces(rest: string): [string, string | undefined] {
  const groups = bracedGroups(rest.trim());
  if (groups && groups.parts.length === 2 && groups.separators[0] === ':') return [groups.parts[0], groups.parts[1]];
  if (groups && groups.parts.length === 1) return [groups.parts[0], undefined];
  return [rest, undefined];
}

/** `{x} sep {y} sep {z}` -> parts and the text between them; undefined unless the text is only that. */
function bracedGroups(text: string): { parts: string[]; separators: string[] } | undefined {
  const parts: string[] = [];
  const separators: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '{') return undefined;
    const end = closing(text, i);
    parts.push(text.slice(i + 1, end).trim());
    const after = /^\s*([^{\s]*)\s*/.exec(text.slice(end + 1))!;
    i = end + 1 + after[0].length;
    if (i < text.length) separators.push(after[1]);
  }
  return { parts, separators };
}

function expandComparison(inner: string, lookup: Lookup, depth: number): string {
  const g = bracedGroups(inner.trim());
  if (!g || g.parts.length !== 4 || g.separators[1] !== '?' || g.separators[2] !== ':')
    throw new Unresolvable(`cannot read "\${${inner}}"`);
  const left = expand(g.parts[0], lookup, depth + 1);
  const right = expand(g.parts[1], lookup, depth + 1);
  return expand(compare(left, g.separators[0], right) ? g.parts[2] : g.parts[3], lookup, depth + 1);
}

function compare(left: string, op: string, right: string): boolean {
  switch (op) {
    case '==':
      return left === right;
    case '!=':
      return left !== right;
    case '<level':
      return compareLevels(left, right) < 0;
    case '<=level':
      return compareLevels(left, right) <= 0;
    case '>level':
      return compareLevels(left, right) > 0;
    case '>=level':
      return compareLevels(left, right) >= 0;
    default:
      throw new Unresolvable(`comparison "${op}" is not modelled`);
  }
}

/** compatibility_level order: 3.6 > 2 > 1 > 0, numerically per dotted part. */
export function compareLevels(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  if ([...pa, ...pb].some((n) => !Number.isFinite(n))) throw new Unresolvable(`"${a}" or "${b}" is not a compatibility level`);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
