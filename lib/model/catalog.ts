/**
 * Typed access to the main.cf parameter catalog (lib/model/catalog.json, generated from
 * `postconf -d` of Postfix 3.7 on Debian 12 by scripts/generate-catalog.js).
 */
import catalogData from './catalog.json';

/** What Postfix expects for a parameter; `text` when nothing narrower is certain. */
export type ParameterKind = 'boolean' | 'integer' | 'size' | 'time' | 'list' | 'lookup' | 'text';

export interface ParameterInfo {
  readonly name: string;
  /** Postfix's default as `postconf -d` prints it; null when computed on the host (myhostname, mynetworks...); undefined for user-defined names. */
  readonly default: string | null | undefined;
  readonly kind: ParameterKind;
  /** Set by Postfix itself (process_id, process_name, service_name); postconf ignores assignments. */
  readonly readOnly: boolean;
  /** How the name was recognised. */
  readonly origin: 'catalog' | 'transport' | 'user';
}

export interface ParameterNameOptions {
  /** Names the caller defines on purpose (`name = value` used as `$name` elsewhere). */
  readonly userDefined?: readonly string[];
  /** master.cf service names, which make `<service>_destination_concurrency_limit` etc. valid. */
  readonly serviceNames?: readonly string[];
}

interface CatalogEntry {
  readonly default: string | null;
  readonly kind: ParameterKind;
  readonly readOnly?: boolean;
}

const PARAMETERS = catalogData.parameters as unknown as Readonly<Record<string, CatalogEntry>>;
const NAMES: readonly string[] = Object.keys(PARAMETERS).sort();

/** Postfix version the catalog was generated from. */
export const CATALOG_POSTFIX_VERSION: string = catalogData.postfixVersion;

/**
 * Per-transport parameter suffixes (postconf(5) "transport_..." entries), each with the global
 * parameter whose kind and default it inherits.
 */
const TRANSPORT_SUFFIX_TEMPLATE: Readonly<Record<string, string>> = {
  destination_concurrency_limit: 'default_destination_concurrency_limit',
  destination_recipient_limit: 'default_destination_recipient_limit',
  destination_rate_delay: 'default_destination_rate_delay',
  initial_destination_concurrency: 'initial_destination_concurrency',
  destination_concurrency_failed_cohort_limit: 'default_destination_concurrency_failed_cohort_limit',
  destination_concurrency_positive_feedback: 'default_destination_concurrency_positive_feedback',
  destination_concurrency_negative_feedback: 'default_destination_concurrency_negative_feedback',
  extra_recipient_limit: 'default_extra_recipient_limit',
  minimum_delivery_slots: 'default_minimum_delivery_slots',
  delivery_slot_cost: 'default_delivery_slot_cost',
  delivery_slot_discount: 'default_delivery_slot_discount',
  delivery_slot_loan: 'default_delivery_slot_loan',
  recipient_limit: 'default_recipient_limit',
  recipient_refill_limit: 'default_recipient_refill_limit',
  recipient_refill_delay: 'default_recipient_refill_delay',
  time_limit: 'command_time_limit',
  transport_rate_delay: 'default_transport_rate_delay',
};

const TRANSPORT_PARAMETER = new RegExp(`^([a-z0-9_-]+)_(${Object.keys(TRANSPORT_SUFFIX_TEMPLATE).join('|')})$`);

/** Every catalog parameter name, sorted. */
export function parameterNames(): readonly string[] {
  return NAMES;
}

/** Map types (`hash`, `lmdb`, `pcre`...) the generating host's `postconf -m` listed. */
export function catalogMapTypes(): readonly string[] {
  return catalogData.mapTypes;
}

/**
 * Describes a parameter name, or returns undefined when Postfix would not know it.
 * Catalog names come first; then per-transport names for the given services; then user-defined names.
 */
export function lookupParameter(name: string, opts: ParameterNameOptions = {}): ParameterInfo | undefined {
  const entry = Object.prototype.hasOwnProperty.call(PARAMETERS, name) ? PARAMETERS[name] : undefined;
  if (entry) return { name, default: entry.default, kind: entry.kind, readOnly: entry.readOnly === true, origin: 'catalog' };
  const transport = transportParameter(name, opts.serviceNames ?? []);
  if (transport) return transport;
  if (opts.userDefined?.includes(name)) return { name, default: undefined, kind: 'text', readOnly: false, origin: 'user' };
  return undefined;
}

export function isKnownParameter(name: string, opts: ParameterNameOptions = {}): boolean {
  return lookupParameter(name, opts) !== undefined;
}

function transportParameter(name: string, serviceNames: readonly string[]): ParameterInfo | undefined {
  // Longest service prefix wins: `a_b_recipient_limit` may belong to service `a_b`.
  const match = TRANSPORT_PARAMETER.exec(name);
  if (!match) return undefined;
  for (const service of [...serviceNames].sort((a, b) => b.length - a.length)) {
    const prefix = `${service}_`;
    if (!name.startsWith(prefix)) continue;
    const suffix = name.slice(prefix.length);
    const template = TRANSPORT_SUFFIX_TEMPLATE[suffix];
    if (template === undefined) continue;
    const base = PARAMETERS[template];
    return { name, default: `$${template}`, kind: base?.kind ?? 'text', readOnly: false, origin: 'transport' };
  }
  return undefined;
}

/**
 * The `max` known names closest to `name` by Damerau-Levenshtein distance (ties sorted by name),
 * limited to plausible typos so that a nonsense name gets no misleading suggestion.
 */
export function suggestParameters(name: string, max = 3, extraNames: readonly string[] = []): string[] {
  const limit = Math.max(2, Math.ceil(name.length / 3));
  const pool = new Set([...NAMES, ...extraNames]);
  const scored: Array<{ candidate: string; distance: number }> = [];
  for (const candidate of pool) {
    if (Math.abs(candidate.length - name.length) > limit) continue;
    const distance = editDistance(name, candidate);
    if (distance <= limit) scored.push({ candidate, distance });
  }
  scored.sort((a, b) => a.distance - b.distance || (a.candidate < b.candidate ? -1 : a.candidate > b.candidate ? 1 : 0));
  return scored.slice(0, Math.max(0, max)).map((s) => s.candidate);
}

/**
 * Optimal-string-alignment Damerau-Levenshtein distance: insertions, deletions, substitutions
 * and transpositions of adjacent characters each cost 1 (transpositions are the commonest typo).
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => {
    const row = new Array<number>(cols).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j < cols; j++) d[0][j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2][j - 2] + 1);
      d[i][j] = best;
    }
  }
  return d[rows - 1][cols - 1];
}
