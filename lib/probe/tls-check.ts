/**
 * TLS probe of a mail server: what a connection negotiates (protocol, cipher, key exchange,
 * certificate) and whether old protocols are refused. Each connection is one handshake made by
 * node's tls module (lib/probe/handshake.ts), which speaks STARTTLS for SMTP itself, so the facts
 * come from the TLS API rather than from a tool's text output.
 */
import { X509Certificate } from 'crypto';
import { formatEndpoint, parseEndpoint, WELL_KNOWN_PORTS } from '../model/endpoint';
import { HandshakeFacts, KeyExchange, TlsCheckMode, TlsCheckTarget, tlsHandshake } from './handshake';

export type { KeyExchange, TlsCheckMode, TlsCheckTarget } from './handshake';
export { tlsHandshake, defaultEhloName, isEhloName } from './handshake';
export type { HandshakeFacts, HandshakeOptions, HandshakeStage } from './handshake';

export type MinProtocol = 'TLSv1.2' | 'TLSv1.3';

export interface TlsCheckPolicy {
  /** Older protocols must be refused. */
  readonly minProtocol: MinProtocol;
}

export interface TlsCheckOptions {
  /** Per connection. @default 15000 */
  readonly timeoutMs?: number;
  /** EHLO name for STARTTLS. @default this machine's dotted name, else localhost */
  readonly ehloName?: string;
  /** Check the certificate name against the host (names only, not IP addresses). @default true */
  readonly verifyHostname?: boolean;
  /** Warn when the certificate expires within this many days. @default 14 */
  readonly expiryWarningDays?: number;
  /** Clock for expiry checks (tests). @default now */
  readonly now?: Date;
}

export type ProbeProtocol = 'SSLv3' | 'TLSv1' | 'TLSv1.1' | 'TLSv1.2';

/**
 * refused: the server would not complete a handshake with only this protocol offered.
 * accepted: it did. not-offered-by-client: node's TLS cannot even offer it (SSLv3: node has no
 * SSLv3 at all), so nothing was learned: never counted as a pass. error: the probe itself failed
 * before the TLS handshake (no connection, no STARTTLS, a timeout).
 */
export type ProbeOutcome = 'refused' | 'accepted' | 'not-offered-by-client' | 'error';

export interface ProtocolProbe {
  readonly protocol: ProbeProtocol;
  readonly outcome: ProbeOutcome;
  /** Whether the policy says the server must refuse it. */
  readonly mustRefuse: boolean;
  readonly detail?: string;
}

export interface CertificateInfo {
  readonly subject: string;
  readonly issuer: string;
  readonly subjectAltName?: string;
  /** SHA-256 fingerprint, colon-separated upper-case hex (as `openssl x509 -fingerprint -sha256` prints it). */
  readonly fingerprint256: string;
  /** ISO 8601. */
  readonly notBefore: string;
  readonly notAfter: string;
  readonly daysLeft: number;
  readonly expired: boolean;
  /** The chain verified against node's CA store (and the host name, when checked). */
  readonly verified: boolean;
  readonly verifyError?: string;
}

export interface TlsCheckResult {
  readonly target: TlsCheckTarget;
  readonly policy: TlsCheckPolicy;
  /** A TLS session was established with default settings. */
  readonly connected: boolean;
  /** Why no session could be established. */
  readonly error?: string;
  readonly protocol?: string;
  readonly cipher?: string;
  readonly keyExchange?: KeyExchange;
  readonly forwardSecrecy?: boolean;
  readonly certificate?: CertificateInfo;
  readonly probes: ProtocolProbe[];
  /** Policy violations: any makes the check fail. */
  readonly violations: string[];
  /** Worth knowing, not a failure (e.g. a probe that could not be run). */
  readonly warnings: string[];
  /** connected and no violations. */
  readonly ok: boolean;
}

/** STARTTLS on smtp (25) and submission (587), implicit TLS on submissions (465) and any other port. */
export function defaultMode(port: number): TlsCheckMode {
  return port === WELL_KNOWN_PORTS.smtp || port === WELL_KNOWN_PORTS.submission ? 'starttls' : 'implicit';
}

// --- the facts of one handshake -------------------------------------------------------------------

export function forwardSecret(protocol: string | undefined, cipher: string | undefined): boolean {
  if (protocol === 'TLSv1.3') return true; // every TLS 1.3 key exchange is ephemeral
  return /^(ECDHE|DHE|EDH)-/.test(cipher ?? '');
}

function describeCertificate(cert: X509Certificate, facts: HandshakeFacts, now: Date): CertificateInfo {
  const notAfter = new Date(cert.validTo);
  const oneLine = (dn: string) => dn.split('\n').filter(Boolean).join(', ');
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    subjectAltName: cert.subjectAltName,
    fingerprint256: cert.fingerprint256,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000),
    expired: notAfter.getTime() < now.getTime(),
    verified: facts.verified === true,
    verifyError: facts.verifyError,
  };
}

// --- probes --------------------------------------------------------------------------------------

/** What node's tls takes for each protocol; SSLv3 has none (node cannot offer it at all). */
const PROBE_VERSION: Record<ProbeProtocol, 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | undefined> = {
  SSLv3: undefined,
  TLSv1: 'TLSv1',
  'TLSv1.1': 'TLSv1.1',
  'TLSv1.2': 'TLSv1.2',
};

/**
 * Offer exactly one old protocol. SECLEVEL=0: OpenSSL 3 would otherwise refuse TLS 1.0/1.1 (and
 * their SHA-1 signatures) on our side, and we want the server's answer, not our own.
 */
async function probe(
  target: TlsCheckTarget,
  protocol: ProbeProtocol,
  mustRefuse: boolean,
  options: TlsCheckOptions,
): Promise<ProtocolProbe> {
  const version = PROBE_VERSION[protocol];
  if (!version) return { protocol, mustRefuse, outcome: 'not-offered-by-client', detail: `node's TLS cannot offer ${protocol}` };
  const r = await tlsHandshake(target, {
    minVersion: version,
    maxVersion: version,
    ciphers: 'DEFAULT@SECLEVEL=0',
    ehloName: options.ehloName,
    timeoutMs: options.timeoutMs,
    verifyHostname: false,
  });
  if (r.established) return { protocol, mustRefuse, outcome: 'accepted', detail: r.cipher };
  if (r.failedAt === 'client') return { protocol, mustRefuse, outcome: 'not-offered-by-client', detail: r.error };
  if (r.failedAt === 'tls' && !r.timedOut) return { protocol, mustRefuse, outcome: 'refused', detail: r.error };
  return { protocol, mustRefuse, outcome: 'error', detail: r.error };
}

function probePlan(policy: TlsCheckPolicy): { protocol: ProbeProtocol; mustRefuse: boolean }[] {
  const plan: { protocol: ProbeProtocol; mustRefuse: boolean }[] = [
    { protocol: 'SSLv3', mustRefuse: true },
    { protocol: 'TLSv1', mustRefuse: true },
    { protocol: 'TLSv1.1', mustRefuse: true },
  ];
  if (policy.minProtocol === 'TLSv1.3') plan.push({ protocol: 'TLSv1.2', mustRefuse: true });
  return plan;
}

// --- the check -----------------------------------------------------------------------------------

const PROTOCOL_RANK: Record<string, number> = { SSLv3: 0, TLSv1: 1, 'TLSv1.1': 2, 'TLSv1.2': 3, 'TLSv1.3': 4 };

/**
 * Connect once with defaults (what a normal client gets), then once per old protocol. Runs the
 * probes one after another so a server with a connection rate limit (postscreen, anvil) is not
 * hit in parallel.
 */
export async function checkTls(
  target: TlsCheckTarget,
  policy: TlsCheckPolicy = { minProtocol: 'TLSv1.2' },
  options: TlsCheckOptions = {},
): Promise<TlsCheckResult> {
  // One parser for every endpoint: a host that is not a name or an address is refused here.
  parseEndpoint(formatEndpoint(target.host, target.port), { field: 'tls-check target', requirePort: true });
  const main = await tlsHandshake(target, {
    ehloName: options.ehloName,
    timeoutMs: options.timeoutMs,
    verifyHostname: options.verifyHostname,
  });
  if (!main.established) {
    return finish({ target, policy, connected: false, error: main.error ?? 'no TLS session', probes: [], violations: [], warnings: [] });
  }
  const certificate = main.certificate ? describeCertificate(main.certificate, main, options.now ?? new Date()) : undefined;
  const probes: ProtocolProbe[] = [];
  for (const p of probePlan(policy)) probes.push(await probe(target, p.protocol, p.mustRefuse, options));
  const facts = {
    protocol: main.protocol,
    cipher: main.cipher,
    keyExchange: main.keyExchange,
    forwardSecrecy: forwardSecret(main.protocol, main.cipher),
    certificate,
  };
  return finish({ target, policy, connected: true, ...facts, probes, ...judge(policy, facts, probes, options) });
}

function judge(
  policy: TlsCheckPolicy,
  facts: { protocol?: string; forwardSecrecy: boolean; certificate?: CertificateInfo },
  probes: readonly ProtocolProbe[],
  options: TlsCheckOptions,
): { violations: string[]; warnings: string[] } {
  const violations: string[] = [];
  const warnings: string[] = [];
  if ((PROTOCOL_RANK[facts.protocol ?? ''] ?? -1) < PROTOCOL_RANK[policy.minProtocol]) {
    violations.push(`negotiated ${facts.protocol ?? 'an unknown protocol'}, below the policy minimum ${policy.minProtocol}`);
  }
  if (!facts.forwardSecrecy) violations.push('the negotiated cipher has no forward secrecy (no ECDHE/DHE key exchange)');
  for (const p of probes) {
    if (p.mustRefuse && p.outcome === 'accepted')
      violations.push(`${p.protocol} is accepted, but the policy (minimum ${policy.minProtocol}) says it must be refused`);
    if (p.outcome === 'not-offered-by-client') warnings.push(`${p.protocol} not tested: not offered by this client (${p.detail})`);
    if (p.outcome === 'error') warnings.push(`${p.protocol} probe failed: ${p.detail ?? 'unknown error'}`);
  }
  const cert = facts.certificate;
  if (!cert) warnings.push('no certificate was shown');
  else {
    if (cert.expired) violations.push(`the certificate expired on ${cert.notAfter}`);
    else if (cert.daysLeft < (options.expiryWarningDays ?? 14))
      warnings.push(`the certificate expires in ${cert.daysLeft} days (${cert.notAfter})`);
    if (!cert.verified)
      warnings.push(
        `the certificate did not verify: ${cert.verifyError ?? 'unknown reason'} (opportunistic SMTP TLS still works; MTA-STS/DANE need it)`,
      );
  }
  return { violations, warnings };
}

function finish(r: Omit<TlsCheckResult, 'ok'>): TlsCheckResult {
  return { ...r, ok: r.connected && r.violations.length === 0 };
}

// --- output --------------------------------------------------------------------------------------

/** Exit status for the CLI: 0 ok, 1 policy violation, 2 no TLS session at all. */
export function exitCodeFor(result: TlsCheckResult): number {
  if (!result.connected) return 2;
  return result.violations.length > 0 ? 1 : 0;
}

const OUTCOME_TEXT: Record<ProbeOutcome, string> = {
  refused: 'refused',
  accepted: 'ACCEPTED',
  'not-offered-by-client': 'not tested (not offered by this client)',
  error: 'probe failed',
};

/** Human-readable report. */
export function formatTlsCheck(r: TlsCheckResult): string {
  const lines = [
    `${r.target.host}:${r.target.port} (${r.target.mode === 'starttls' ? 'STARTTLS' : 'implicit TLS'}), policy: minimum ${r.policy.minProtocol}`,
  ];
  if (!r.connected) {
    lines.push(`  no TLS session: ${r.error ?? 'unknown error'}`);
    return lines.join('\n');
  }
  const kx = r.keyExchange ? `${r.keyExchange.group}, ${r.keyExchange.bits} bits` : 'not reported';
  lines.push(
    `  protocol:        ${r.protocol}`,
    `  cipher:          ${r.cipher}`,
    `  key exchange:    ${kx}`,
    `  forward secrecy: ${r.forwardSecrecy ? 'yes' : 'NO'}`,
  );
  if (r.certificate) {
    const c = r.certificate;
    lines.push(
      `  certificate:     ${c.subject}`,
      `    issuer:        ${c.issuer}`,
      `    sha256:        ${c.fingerprint256}`,
      `    expires:       ${c.notAfter} (${c.expired ? 'EXPIRED' : `${c.daysLeft} days left`})`,
      `    verified:      ${c.verified ? 'yes' : `no (${c.verifyError ?? 'unknown'})`}`,
    );
  }
  for (const p of r.probes) lines.push(`  ${p.protocol.padEnd(8)} ${OUTCOME_TEXT[p.outcome]}${p.mustRefuse ? '' : ' (allowed by policy)'}`);
  for (const v of r.violations) lines.push(`  VIOLATION: ${v}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  lines.push(`  result: ${r.ok ? 'OK' : 'FAIL'}`);
  return lines.join('\n');
}
