/**
 * DMARC (RFC 7489): the `v=DMARC1; p=...` TXT record at `_dmarc.<domain>` (§6.1) telling receivers
 * what to do with mail whose From domain fails SPF and DKIM alignment, and where to send reports.
 */
import { dnsError, isDeferred, ownerName, validateDomain, validateIntRange, validateReportUri, validateTtl } from './names';
import { TxtRecord, txtRecord } from './record';
import { Built } from './built';

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';
export type DmarcAlignment = 'r' | 's';

export interface DmarcInput {
  /** The From domain the policy covers. */
  readonly domain: string;
  /** Policy for the domain (§6.3 `p`): none (monitor), quarantine or reject. */
  readonly p: DmarcPolicy;
  /** Policy for subdomains (§6.3 `sp`); receivers use `p` when absent. */
  readonly sp?: DmarcPolicy;
  /** Aggregate report URIs (`rua`), `mailto:` with an optional size limit such as `!10m` (§6.2). */
  readonly rua?: readonly string[];
  /** Failure report URIs (`ruf`). */
  readonly ruf?: readonly string[];
  /** Percentage of failing mail the policy applies to (`pct`, 0 to 100, default 100). */
  readonly pct?: number;
  /** DKIM alignment (`adkim`): r relaxed (default) or s strict. */
  readonly adkim?: DmarcAlignment;
  /** SPF alignment (`aspf`): r relaxed (default) or s strict. */
  readonly aspf?: DmarcAlignment;
  /** Failure reporting options (`fo`): 0, 1, d, s (§6.3). */
  readonly fo?: readonly ('0' | '1' | 'd' | 's')[];
  /** Aggregate report interval in seconds (`ri`, default 86400). */
  readonly ri?: number;
  readonly ttl?: number;
}

const POLICIES: readonly string[] = ['none', 'quarantine', 'reject'];

/** Build the DMARC record; tags in the order v, p, sp, adkim, aspf, pct, fo, ri, rua, ruf (v first, §6.4). */
export function dmarcRecord(input: DmarcInput): Built<TxtRecord> {
  const domain = validateDomain(input.domain, 'dmarc.domain');
  const tags: string[] = ['v=DMARC1', `p=${checkPolicy(input.p, 'dmarc.p')}`];
  if (input.sp !== undefined) tags.push(`sp=${checkPolicy(input.sp, 'dmarc.sp')}`);
  if (input.adkim !== undefined) tags.push(`adkim=${checkAlignment(input.adkim, 'dmarc.adkim')}`);
  if (input.aspf !== undefined) tags.push(`aspf=${checkAlignment(input.aspf, 'dmarc.aspf')}`);
  if (input.pct !== undefined)
    tags.push(`pct=${validateIntRange(input.pct, 'dmarc.pct', 0, 100, 'give a percentage such as 100, or leave pct out')}`);
  if (input.fo !== undefined) tags.push(`fo=${checkFailureOptions(input.fo)}`);
  if (input.ri !== undefined)
    tags.push(`ri=${validateIntRange(input.ri, 'dmarc.ri', 1, 2147483647, 'use 86400 (one day), the interval receivers honour')}`);
  const warnings: string[] = [];
  for (const key of ['rua', 'ruf'] as const) {
    const uris = input[key] ?? [];
    if (uris.length === 0) continue;
    const checked = uris.map((u, i) => validateReportUri(u, `dmarc.${key}[${i}]`, { allowHttps: false, allowSizeLimit: true }));
    tags.push(`${key}=${checked.map((c) => c.uri).join(',')}`);
    for (const c of checked) {
      if (c.domain !== undefined && !isDeferred(domain) && !sameOrganization(c.domain, domain)) {
        warnings.push(
          `dmarc: reports for ${domain} go to ${c.domain}; receivers send them only if ${c.domain} publishes ` +
            `${dmarcReportAuthorizationName(domain, c.domain)} TXT "v=DMARC1" (RFC 7489 §7.1)`,
        );
      }
    }
  }
  if (input.p === 'none' && (input.rua ?? []).length === 0) {
    warnings.push('dmarc: p=none without rua only monitors, and nobody receives the reports; add rua=mailto:...');
  }
  const record = txtRecord('dmarc', ownerName('_dmarc', domain, 'dmarc.domain'), validateTtl(input.ttl, 'dmarc.ttl'), tags.join('; '));
  return { record, warnings };
}

/**
 * The record a report receiver in another domain publishes to accept reports (RFC 7489 §7.1):
 * `<policy domain>._report._dmarc.<receiver domain>` TXT `v=DMARC1`.
 */
export function dmarcReportAuthorization(policyDomain: string, reportDomain: string, ttl?: number): TxtRecord {
  const name = dmarcReportAuthorizationName(
    validateDomain(policyDomain, 'dmarc.domain'),
    validateDomain(reportDomain, 'dmarc.reportDomain'),
  );
  return txtRecord('dmarc-report-authorization', name, validateTtl(ttl, 'dmarc.ttl'), 'v=DMARC1');
}

function dmarcReportAuthorizationName(policyDomain: string, reportDomain: string): string {
  return `${policyDomain}._report._dmarc.${reportDomain}`;
}

/** Same domain or one is a parent of the other; the full organizational-domain rule needs the PSL, so this errs toward warning. */
function sameOrganization(a: string, b: string): boolean {
  return a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);
}

function checkPolicy(p: string, field: string): DmarcPolicy {
  if (!POLICIES.includes(p)) {
    throw dnsError(
      field,
      p,
      'is not a DMARC policy (RFC 7489 §6.3 allows none, quarantine, reject)',
      'use none to monitor, then quarantine, then reject',
    );
  }
  return p as DmarcPolicy;
}

function checkAlignment(mode: string, field: string): DmarcAlignment {
  if (mode !== 'r' && mode !== 's') {
    throw dnsError(field, mode, 'is not an alignment mode (RFC 7489 §6.3 allows r and s)', 'use r (relaxed, the default) or s (strict)');
  }
  return mode;
}

function checkFailureOptions(fo: readonly string[]): string {
  const bad = fo.find((o) => !['0', '1', 'd', 's'].includes(o));
  if (bad !== undefined || fo.length === 0) {
    throw dnsError(
      'dmarc.fo',
      fo.join(':'),
      'holds an option other than 0, 1, d, s (RFC 7489 §6.3)',
      'use e.g. ["1"] to report any failure, or leave fo out',
    );
  }
  return fo.join(':');
}
