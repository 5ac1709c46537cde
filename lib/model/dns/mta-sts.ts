/**
 * MTA-STS (RFC 8461) and SMTP TLS reporting (RFC 8460). MTA-STS is two parts: the policy file served
 * at `https://mta-sts.<domain>/.well-known/mta-sts.txt` (§3.3) and the `_mta-sts.<domain>` TXT record
 * whose `id` tells senders when the policy changed (§3.1). The id here is derived from the policy
 * text, so it changes exactly when the policy does. TLSRPT is the `_smtp._tls.<domain>` TXT record
 * naming where senders report TLS failures (RFC 8460 §3).
 */
import { createHash } from 'node:crypto';
import { dnsError, isDeferred, ownerName, validateDomain, validateIntRange, validateReportUri, validateTtl } from './names';
import { TxtRecord, txtRecord } from './record';
import { Built } from './built';

export type MtaStsMode = 'enforce' | 'testing' | 'none';

/** RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year). */
export const MTA_STS_MAX_AGE_LIMIT = 31557600;
/** One week; §3.2 expects max_age "in the range of weeks or greater". */
export const MTA_STS_DEFAULT_MAX_AGE = 604800;

export interface MtaStsInput {
  readonly domain: string;
  readonly mode: MtaStsMode;
  /** MX patterns: host names, or `*.example.net` matching one leftmost label (§4.1). */
  readonly mx: readonly string[];
  /** Seconds senders cache the policy; default one week. */
  readonly maxAge?: number;
  /** The policy id; derived from the policy text unless given. Required when an mx entry is deferred. */
  readonly id?: string;
  readonly ttl?: number;
}

export interface MtaSts {
  /** The `_mta-sts.<domain>` TXT record `v=STSv1; id=<id>`. */
  readonly record: TxtRecord;
  /** The policy file text, LF line ends, ending in a newline. */
  readonly policy: string;
  /** Where the policy must be served (HTTPS, a certificate valid for mta-sts.<domain>). */
  readonly policyUrl: string;
  readonly id: string;
  readonly warnings: readonly string[];
}

export function mtaSts(input: MtaStsInput): MtaSts {
  const domain = validateDomain(input.domain, 'mtaSts.domain');
  const policy = mtaStsPolicy(input);
  const id = input.id !== undefined ? checkId(input.id) : derivedId(policy);
  const record = txtRecord(
    'mta-sts',
    ownerName('_mta-sts', domain, 'mtaSts.domain'),
    validateTtl(input.ttl, 'mtaSts.ttl'),
    `v=STSv1; id=${id}`,
  );
  const warnings =
    input.mode === 'testing' ? ['mta-sts: mode testing only reports; switch to enforce once TLS reports are clean (RFC 8461 §5)'] : [];
  return { record, policy, policyUrl: `https://mta-sts.${domain}/.well-known/mta-sts.txt`, id, warnings };
}

/** The policy file (§3.2): version, mode, one `mx:` line per pattern, max_age. */
export function mtaStsPolicy(input: Omit<MtaStsInput, 'domain' | 'id' | 'ttl'>): string {
  const mode = checkMode(input.mode);
  const maxAge = validateIntRange(
    input.maxAge ?? MTA_STS_DEFAULT_MAX_AGE,
    'mtaSts.maxAge',
    0,
    MTA_STS_MAX_AGE_LIMIT,
    `use ${MTA_STS_DEFAULT_MAX_AGE} (one week) or more, at most ${MTA_STS_MAX_AGE_LIMIT} (RFC 8461 §3.2)`,
  );
  if (input.mx.length === 0 && mode !== 'none') {
    throw dnsError(
      'mtaSts.mx',
      '',
      `is empty, so mode ${mode} would forbid every MX`,
      'list the MX host names (the exchanges of the MX records), e.g. ["mx1.example.org"]',
    );
  }
  const mx = input.mx.map((p, i) => checkMxPattern(p, `mtaSts.mx[${i}]`));
  return ['version: STSv1', `mode: ${mode}`, ...mx.map((p) => `mx: ${p}`), `max_age: ${maxAge}`].map((l) => `${l}\n`).join('');
}

/** Does an MX host match a policy pattern (§4.1: `*.` matches exactly one leftmost label)? */
export function mtaStsPatternMatches(pattern: string, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase();
  if (!p.startsWith('*.')) return p === h;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}

/** 32 hex digits of the policy's SHA-256: within §3.1's 1*32(ALPHA / DIGIT), stable for the same text. */
function derivedId(policy: string): string {
  if (isDeferred(policy)) {
    throw dnsError(
      'mtaSts.id',
      undefined,
      'cannot be derived from a policy that holds deploy-time values',
      'give an id yourself (1 to 32 letters or digits), and change it whenever the policy changes',
    );
  }
  return createHash('sha256').update(policy).digest('hex').slice(0, 32);
}

function checkId(id: string): string {
  if (!isDeferred(id) && !/^[A-Za-z0-9]{1,32}$/.test(id)) {
    throw dnsError(
      'mtaSts.id',
      id,
      'is not 1 to 32 letters or digits (RFC 8461 §3.1)',
      'use e.g. a date and counter such as 20260101T01, or leave id out to derive it from the policy',
    );
  }
  return id;
}

function checkMode(mode: string): MtaStsMode {
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') {
    throw dnsError(
      'mtaSts.mode',
      mode,
      'is not an MTA-STS mode (RFC 8461 §3.2 allows enforce, testing, none)',
      'use testing first, then enforce; none withdraws the policy',
    );
  }
  return mode;
}

function checkMxPattern(pattern: string, field: string): string {
  if (isDeferred(pattern)) return pattern;
  const wildcard = pattern.startsWith('*.');
  return `${wildcard ? '*.' : ''}${validateDomain(wildcard ? pattern.slice(2) : pattern, field)}`;
}

export interface TlsRptInput {
  readonly domain: string;
  /** Report URIs: `mailto:` or `https:` (RFC 8460 §3). */
  readonly rua: readonly string[];
  readonly ttl?: number;
}

/** `_smtp._tls.<domain>` TXT `v=TLSRPTv1; rua=<uri>[,<uri>]` (RFC 8460 §3). */
export function tlsRptRecord(input: TlsRptInput): Built<TxtRecord> {
  const domain = validateDomain(input.domain, 'tlsRpt.domain');
  if (input.rua.length === 0) {
    throw dnsError(
      'tlsRpt.rua',
      '',
      'is empty; a TLSRPT record needs at least one report address (RFC 8460 §3)',
      'give e.g. ["mailto:tls-reports@example.org"], or leave TLS reporting out',
    );
  }
  const uris = input.rua.map((u, i) => validateReportUri(u, `tlsRpt.rua[${i}]`, { allowHttps: true, allowSizeLimit: false }).uri);
  const record = txtRecord(
    'tlsrpt',
    ownerName('_smtp._tls', domain, 'tlsRpt.domain'),
    validateTtl(input.ttl, 'tlsRpt.ttl'),
    `v=TLSRPTv1; rua=${uris.join(',')}`,
  );
  return { record, warnings: [] };
}
