/**
 * SPF (RFC 7208): the `v=spf1 ...` TXT record at the mail domain that names the hosts allowed to
 * send for it. Each term is checked against the RFC 7208 §12 grammar, and the terms that make a
 * receiver query DNS are counted against the limit of 10 (§4.6.4): one more is a permerror, which
 * receivers treat like no SPF at all.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { dnsError, isDeferred, validateDomain, validateTtl } from './names';
import { TxtRecord, txtRecord } from './record';
import { Built } from './built';

/** RFC 7208 §4.6.4: at most 10 terms that cause DNS queries (include, a, mx, ptr, exists, redirect). */
export const SPF_MAX_DNS_LOOKUPS = 10;
/** RFC 7208 §3.4: keep the record well inside a 512-octet UDP answer. */
const SPF_SIZE_WARNING_OCTETS = 450;

export type SpfAll = '-all' | '~all' | '?all';

export interface SpfInput {
  /** The mail domain the record is published at (the MAIL FROM / HELO domain). */
  readonly domain: string;
  /** Let the domain's MX hosts send (`mx`). Default true. */
  readonly mx?: boolean;
  /** Hosts whose A/AAAA addresses may send (`a:host`). */
  readonly a?: readonly string[];
  /** IPv4 addresses or networks (`ip4:192.0.2.10`, `ip4:192.0.2.0/24`). */
  readonly ip4?: readonly string[];
  /** IPv6 addresses or networks (`ip6:2001:db8::25`, `ip6:2001:db8::/64`). */
  readonly ip6?: readonly string[];
  /** Domains whose SPF policy is included (`include:_spf.provider.example`). */
  readonly include?: readonly string[];
  /** Further terms in RFC 7208 text, each checked: `a`, `~include:x.example`, `exists:%{i}._spf.example.org`. */
  readonly mechanisms?: readonly string[];
  /** What happens to everyone else. Default `-all` (fail), what large mailbox providers expect. */
  readonly all?: SpfAll;
  readonly ttl?: number;
}

export interface SpfRecord extends TxtRecord {
  /** Terms of this record that cost a DNS lookup (includes bring their own, unknown here). */
  readonly dnsLookups: number;
}

const LOOKUP_MECHANISMS = new Set(['include', 'a', 'mx', 'ptr', 'exists']);

/** Build the SPF TXT record; throws on a bad term or more than 10 lookups, warns on risky ones. */
export function spfRecord(input: SpfInput): Built<SpfRecord> {
  const domain = validateDomain(input.domain, 'spf.domain');
  checkAll(input.all);
  const sourced = spfTerms(input);
  const terms = sourced.map((t) => t.term);
  const warnings: string[] = [];
  let lookups = 0;
  sourced.forEach(({ term, field }) => {
    const kind = checkSpfTerm(term, field);
    if (LOOKUP_MECHANISMS.has(kind)) lookups += 1;
    if (kind === 'ptr')
      warnings.push(`spf: "${term}" is slow and unreliable; RFC 7208 §5.5 says ptr SHOULD NOT be published. Use a, mx, ip4 or ip6.`);
    if (kind === 'include')
      warnings.push(
        `spf: "${term}" adds the lookups of the included record to the limit of ${SPF_MAX_DNS_LOOKUPS} (RFC 7208 §4.6.4); check the total with an SPF checker.`,
      );
  });
  if (lookups > SPF_MAX_DNS_LOOKUPS) {
    throw dnsError(
      'spf.mechanisms',
      terms.join(' '),
      `needs ${lookups} DNS lookups; receivers stop at ${SPF_MAX_DNS_LOOKUPS} with a permerror (RFC 7208 §4.6.4)`,
      'replace a:, mx and include: terms by the ip4:/ip6: addresses they stand for',
    );
  }
  const value = ['v=spf1', ...terms, input.all ?? '-all'].join(' ');
  if (!isDeferred(value) && Buffer.byteLength(value) > SPF_SIZE_WARNING_OCTETS) {
    warnings.push(
      `spf: the record is ${Buffer.byteLength(value)} octets; RFC 7208 §3.4 asks for records that fit a 512-octet DNS answer. Merge addresses into networks.`,
    );
  }
  const record = { ...txtRecord('spf', domain, validateTtl(input.ttl, 'spf.ttl'), value), dnsLookups: lookups };
  return { record, warnings };
}

/** The terms in a fixed order (mx, a:, ip4:, ip6:, include:, then the caller's own), each with the field it came from. */
function spfTerms(input: SpfInput): { term: string; field: string }[] {
  const from = (key: 'a' | 'ip4' | 'ip6' | 'include' | 'mechanisms', prefix: string) =>
    (input[key] ?? []).map((v, i) => ({ term: `${prefix}${v}`, field: `spf.${key}[${i}]` }));
  return [
    ...((input.mx ?? true) ? [{ term: 'mx', field: 'spf.mx' }] : []),
    ...from('a', 'a:'),
    ...from('ip4', 'ip4:'),
    ...from('ip6', 'ip6:'),
    ...from('include', 'include:'),
    ...from('mechanisms', ''),
  ];
}

function checkAll(all: string | undefined): void {
  if (all !== undefined && !['-all', '~all', '?all'].includes(all)) {
    throw dnsError(
      'spf.all',
      all,
      'is not -all, ~all or ?all (`+all` lets the whole internet send as the domain)',
      'use -all (fail) or ~all (softfail) while testing',
    );
  }
}

/**
 * Check one term against RFC 7208 §12 and return its mechanism name. `all` and the modifiers are
 * refused here: `all` has its own field and must come last (§5.1), and `redirect` is ignored when
 * `all` is present (§6.1).
 */
export function checkSpfTerm(term: string, field: string): string {
  const m = /^([+\-~?]?)([a-z0-9]+)(?:([:=/])(.*))?$/i.exec(term);
  const kind = m ? m[2].toLowerCase() : '';
  const fix = 'write mechanisms as mx, a, a:host, ip4:192.0.2.1, ip6:2001:db8::1, include:domain or exists:domain';
  if (!m) throw dnsError(field, term, 'is not an SPF term', fix);
  if (m[3] === '=')
    throw dnsError(
      field,
      term,
      'is an SPF modifier; only mechanisms are accepted here',
      'leave out redirect= (ignored next to all, RFC 7208 §6.1) and use the `all` field',
    );
  if (kind === 'all')
    throw dnsError(field, term, '`all` must be the last term (RFC 7208 §5.1)', 'set the `all` field to -all, ~all or ?all instead');
  const arg = m[3] === undefined ? undefined : `${m[3] === '/' ? '/' : ''}${m[4]}`;
  if (isDeferred(term) && arg !== undefined) return kind;
  switch (kind) {
    case 'ip4':
      return checkIpTerm(term, field, arg, isIPv4, 32, kind);
    case 'ip6':
      return checkIpTerm(term, field, arg, isIPv6, 128, kind);
    case 'a':
    case 'mx':
      return checkHostTerm(term, field, arg, kind, true);
    case 'ptr':
      return checkHostTerm(term, field, arg, kind, false);
    case 'include':
    case 'exists':
      if (arg === undefined || arg.startsWith('/')) throw dnsError(field, term, `${kind} needs a domain`, `write ${kind}:example.org`);
      checkDomainSpec(arg, term, field);
      return kind;
    default:
      throw dnsError(field, term, `"${kind}" is not an SPF mechanism`, fix);
  }
}

function checkIpTerm(
  term: string,
  field: string,
  arg: string | undefined,
  isIp: (s: string) => boolean,
  maxPrefix: number,
  kind: string,
): string {
  const [ip, prefix, extra] = (arg ?? '').split('/');
  const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
  if (!isIp(ip) || !prefixOk || extra !== undefined) {
    const example = kind === 'ip4' ? 'ip4:192.0.2.10 or ip4:192.0.2.0/24' : 'ip6:2001:db8::25 or ip6:2001:db8::/64';
    throw dnsError(field, term, `is not an ${kind} address with an optional /prefix of 0 to ${maxPrefix}`, `write ${example}`);
  }
  return kind;
}

/** a, mx and ptr take an optional domain; a and mx also optional CIDR lengths `/24//64` (§5.6). */
function checkHostTerm(term: string, field: string, arg: string | undefined, kind: string, cidr: boolean): string {
  if (arg === undefined) return kind;
  const m = /^([^/]*)(?:\/(\d{1,2}))?(?:\/\/(\d{1,3}))?$/.exec(arg);
  const domain = m?.[1] ?? '';
  const bad =
    !m || (!cidr && (m[2] || m[3])) || Number(m[2] ?? 0) > 32 || Number(m[3] ?? 0) > 128 || (domain === '' && !arg.startsWith('/'));
  if (bad) {
    throw dnsError(
      field,
      term,
      `is not ${kind}[:domain]${cidr ? '[/ip4-prefix][//ip6-prefix]' : ''}`,
      `write ${kind}, ${kind}:mail.example.org${cidr ? ` or ${kind}/24` : ''}`,
    );
  }
  if (domain !== '') checkDomainSpec(domain, term, field);
  return kind;
}

/**
 * A domain-spec (RFC 7208 §7.1): a name whose labels may start with `_` (as in `_spf.example.org`)
 * and may hold macros such as `%{i}`; we check macros by shape and the rest as a name.
 */
function checkDomainSpec(spec: string, term: string, field: string): void {
  const macro = /%\{[slodiphcrtv][0-9]*r?[.\-+,/_=]*\}|%%|%_|%-/g;
  const plain = spec.replace(macro, 'x');
  const labels = plain.split('.');
  const ok = !plain.includes('%') && labels.length >= 2 && labels.every((l) => /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/.test(l));
  if (!ok) {
    throw dnsError(
      field,
      term,
      `"${spec}" is not a domain (or RFC 7208 §7 macro-expanded domain)`,
      'write a name such as _spf.example.org or %{i}._spf.example.org',
    );
  }
}
