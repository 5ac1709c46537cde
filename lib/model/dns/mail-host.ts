/**
 * All DNS records one mail host needs, from one description: MX, SPF, DMARC, DKIM, TLSA (DANE),
 * MTA-STS and TLSRPT. This is the piece the construct layer wires into TerraformOutputs: it keys
 * each record by a stable name (`mx`, `spf`, `dkim-<selector>`, `tlsa-0`, ...) and checks what only
 * shows across records (the MTA-STS policy must admit the host's own MX).
 */
import { DnsRecord } from './record';
import { mxRecord } from './mx';
import { SpfInput, spfRecord } from './spf';
import { DmarcInput, dmarcRecord } from './dmarc';
import { DkimInput, dkimRecord } from './dkim';
import { TlsaInput, tlsaRecord } from './tlsa';
import { MtaStsInput, mtaSts, mtaStsPatternMatches, tlsRptRecord } from './mta-sts';
import { dnsError, isDeferred, validateDomain, validateTtl } from './names';
import { Built } from './built';

type Own<T> = Omit<T, 'domain' | 'ttl'>;

export interface MailHostDnsInput {
  /** The mail domain (`example.org`). */
  readonly domain: string;
  /** This host's name as the MX record names it (`mx1.example.org`). */
  readonly mxHost: string;
  /** TTL for every record; default 3600. */
  readonly ttl?: number;
  /** The MX record; false leaves it out (a send-only host). Default preference 10. */
  readonly mx?: { readonly preference?: number } | false;
  /** SPF; false leaves it out. Default `v=spf1 mx -all`. */
  readonly spf?: Own<SpfInput> | false;
  readonly dmarc?: Own<DmarcInput>;
  /** One key record per selector (two during a key rollover). */
  readonly dkim?: readonly Own<DkimInput>[];
  /** One TLSA record per key (current and next during a rollover, RFC 7671 §8.1). */
  readonly tlsa?: readonly Omit<TlsaInput, 'mxHost' | 'ttl'>[];
  /** MTA-STS; mx defaults to [mxHost]. */
  readonly mtaSts?: Omit<Own<MtaStsInput>, 'mx'> & { readonly mx?: readonly string[] };
  /** TLS reporting addresses; the `_smtp._tls` record is made only when given. */
  readonly tlsRptRua?: readonly string[];
}

export interface MailHostDns {
  /** Records keyed by a stable name, in a fixed order: mx, spf, dmarc, dkim-*, tlsa-*, mta-sts, tlsrpt. */
  readonly records: Readonly<Record<string, DnsRecord>>;
  /** The MTA-STS policy file and where to serve it, when MTA-STS is on. */
  readonly mtaStsPolicy?: { readonly text: string; readonly url: string };
  readonly warnings: readonly string[];
}

export function mailHostDns(input: MailHostDnsInput): MailHostDns {
  const domain = validateDomain(input.domain, 'domain');
  const mxHost = validateDomain(input.mxHost, 'mxHost');
  const ttl = validateTtl(input.ttl);
  const records: Record<string, DnsRecord> = {};
  const warnings: string[] = [];
  const add = (key: string, built: Built<DnsRecord>): void => {
    records[key] = built.record;
    warnings.push(...built.warnings);
  };
  if (input.mx !== false) add('mx', mxRecord({ domain, host: mxHost, preference: input.mx?.preference, ttl }));
  if (input.spf !== false) add('spf', spfRecord({ ...(input.spf ?? {}), domain, ttl }));
  if (input.dmarc) add('dmarc', dmarcRecord({ ...input.dmarc, domain, ttl }));
  for (const [i, dkim] of (input.dkim ?? []).entries()) {
    if (records[`dkim-${dkim.selector}`])
      throw dnsError(`dkim[${i}].selector`, dkim.selector, 'appears twice', 'give each selector once; a rollover uses a new selector');
    add(`dkim-${dkim.selector}`, dkimRecord({ ...dkim, domain, ttl }));
  }
  (input.tlsa ?? []).forEach((t, i) => add(`tlsa-${i}`, tlsaRecord({ ...t, mxHost, ttl })));
  const sts = input.mtaSts ? mtaSts({ ...input.mtaSts, mx: input.mtaSts.mx ?? [mxHost], domain, ttl }) : undefined;
  if (sts) {
    checkPolicyAdmitsMx(sts.policy, mxHost, input.mx !== false);
    add('mta-sts', sts);
  }
  if (input.tlsRptRua) add('tlsrpt', tlsRptRecord({ domain, rua: input.tlsRptRua, ttl }));
  warnings.push(...crossRecordWarnings(input));
  return { records, mtaStsPolicy: sts && { text: sts.policy, url: sts.policyUrl }, warnings };
}

/** In enforce mode a policy that omits our own MX makes senders refuse to deliver to it (RFC 8461 §4.1). */
function checkPolicyAdmitsMx(policy: string, mxHost: string, hasMx: boolean): void {
  if (!hasMx || isDeferred(policy) || isDeferred(mxHost) || /^mode: none$/m.test(policy)) return;
  const patterns = [...policy.matchAll(/^mx: (.+)$/gm)].map((m) => m[1]);
  if (!patterns.some((p) => mtaStsPatternMatches(p, mxHost))) {
    throw dnsError(
      'mtaSts.mx',
      patterns.join(', '),
      `does not match this host's MX ${mxHost}, so senders honouring the policy would refuse to deliver to it`,
      `add "${mxHost}" (or a *. pattern covering it) to mtaSts.mx`,
    );
  }
}

/** 2024+ bulk-sender rules at large mailbox providers want SPF, DKIM and DMARC together. */
function crossRecordWarnings(input: MailHostDnsInput): string[] {
  const warnings: string[] = [];
  if (input.dmarc && input.spf === false && (input.dkim ?? []).length === 0) {
    warnings.push('dmarc: without SPF or DKIM no message can pass DMARC (RFC 7489 §3.1 alignment needs one of them)');
  }
  if (!input.dmarc && (input.dkim ?? []).length > 0) {
    warnings.push('dmarc: no DMARC record; large mailbox providers expect one (p=none at least) from senders that sign with DKIM');
  }
  return warnings;
}
