/**
 * TLS probe of a mail server: what a connection negotiates (protocol, cipher, key exchange,
 * certificate) and whether old protocols are refused. Uses `openssl s_client`, spawned with an argv
 * (no shell), because it speaks STARTTLS for SMTP and is installed wherever Postfix is.
 */
import { spawn } from 'child_process';
import { X509Certificate } from 'crypto';
import { isIP } from 'net';
import { formatEndpoint, parseEndpoint, WELL_KNOWN_PORTS } from '../model/endpoint';

export type TlsCheckMode = 'starttls' | 'implicit';
export type MinProtocol = 'TLSv1.2' | 'TLSv1.3';

export interface TlsCheckTarget {
  readonly host: string;
  readonly port: number;
  readonly mode: TlsCheckMode;
}

export interface TlsCheckPolicy {
  /** Older protocols must be refused. */
  readonly minProtocol: MinProtocol;
}

export interface TlsCheckOptions {
  /** @default "openssl" (found on PATH) */
  readonly openssl?: string;
  /** Per s_client run. @default 15000 */
  readonly timeoutMs?: number;
  /** EHLO name for STARTTLS. @default - s_client's default */
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
 * accepted: it did. not-offered-by-client: this OpenSSL cannot even offer it (e.g. SSLv3 in
 * OpenSSL 3), so nothing was learned: never counted as a pass. error: the probe itself failed.
 */
export type ProbeOutcome = 'refused' | 'accepted' | 'not-offered-by-client' | 'error';

export interface ProtocolProbe {
  readonly protocol: ProbeProtocol;
  readonly outcome: ProbeOutcome;
  /** Whether the policy says the server must refuse it. */
  readonly mustRefuse: boolean;
  readonly detail?: string;
}

export interface KeyExchange {
  /** e.g. X25519, prime256v1, DH. */
  readonly group: string;
  readonly bits: number;
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
  /** The chain verified against the client's trust store (and the host name, when checked). */
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

// --- running s_client ----------------------------------------------------------------------------

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Run a command without a shell; stdin is empty so s_client leaves right after the handshake. */
function run(command: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    child.on('error', (e) => { clearTimeout(timer); resolve({ code: null, stdout, stderr: `${stderr}${e.message}`, timedOut }); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, timedOut }); });
  });
}

function connectArgs(target: TlsCheckTarget, options: TlsCheckOptions): string[] {
  const hostPort = isIP(target.host) === 6 ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  const args = ['s_client', '-connect', hostPort];
  if (target.mode === 'starttls') {
    args.push('-starttls', 'smtp');
    if (options.ehloName) args.push('-name', options.ehloName);
  }
  if (isIP(target.host) === 0) args.push('-servername', target.host);
  return args;
}

// --- parsing s_client output ---------------------------------------------------------------------

export interface BriefFacts {
  readonly established: boolean;
  readonly protocol?: string;
  readonly cipher?: string;
  readonly keyExchange?: KeyExchange;
  readonly verifyError?: string;
  readonly verified?: boolean;
}

/**
 * `s_client -brief` (written to stderr): "Protocol version: TLSv1.3", "Ciphersuite: ...",
 * "Server Temp Key: X25519, 253 bits" (OpenSSL 3.0) or "Peer Temp Key: ..." (later releases),
 * "Verification: OK" or "Verification error: ...". The non-brief "New, TLSv1.0, Cipher is" line
 * names the cipher's origin version, not the negotiated protocol, so it is not used.
 */
export function parseBriefOutput(text: string): BriefFacts {
  const line = (re: RegExp) => re.exec(text)?.[1]?.trim();
  const temp = line(/^(?:Server|Peer) Temp Key: (.+)$/m);
  const verifyError = line(/^Verification error: (.+)$/m);
  return {
    established: /^CONNECTION ESTABLISHED$/m.test(text),
    protocol: line(/^Protocol version: (\S+)$/m),
    cipher: line(/^Ciphersuite: (\S+)$/m),
    keyExchange: temp ? parseTempKey(temp) : undefined,
    verifyError,
    verified: verifyError ? false : /^Verification: OK$/m.test(text) ? true : undefined,
  };
}

/** "X25519, 253 bits" | "ECDH, prime256v1, 256 bits" | "DH, 2048 bits". */
export function parseTempKey(text: string): KeyExchange | undefined {
  const parts = text.split(',').map((p) => p.trim());
  const bits = Number(/^(\d+) bits$/.exec(parts[parts.length - 1] ?? '')?.[1]);
  if (!Number.isFinite(bits) || parts.length < 2) return undefined;
  return { group: parts.length >= 3 ? parts[1] : parts[0], bits };
}

/** The first certificate (the server's own) from `s_client -showcerts` output. */
export function firstCertificatePem(text: string): string | undefined {
  return /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
}

export function forwardSecret(protocol: string | undefined, cipher: string | undefined): boolean {
  if (protocol === 'TLSv1.3') return true; // every TLS 1.3 key exchange is ephemeral
  return /^(ECDHE|DHE|EDH)-/.test(cipher ?? '');
}

function describeCertificate(pem: string, brief: BriefFacts, now: Date): CertificateInfo {
  const cert = new X509Certificate(pem);
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
    verified: brief.verified === true,
    verifyError: brief.verifyError,
  };
}

// --- probes --------------------------------------------------------------------------------------

const PROBE_FLAGS: Record<ProbeProtocol, string> = { SSLv3: '-ssl3', TLSv1: '-tls1', 'TLSv1.1': '-tls1_1', 'TLSv1.2': '-tls1_2' };

/** Signs that our own client could not offer the protocol, so the server was never asked. */
const CLIENT_CANNOT_OFFER = /Unknown option|unknown option|no protocols available|Option unknown|not supported in this build/i;
/** Signs that no TLS conversation happened at all (network, DNS, STARTTLS missing). */
const NO_CONVERSATION = /connect:errno|Connection refused|Name or service not known|No route to host|Network is unreachable|didn't find starttls/i;

async function probe(target: TlsCheckTarget, protocol: ProbeProtocol, mustRefuse: boolean, options: TlsCheckOptions): Promise<ProtocolProbe> {
  // SECLEVEL=0: OpenSSL 3 would otherwise refuse TLS 1.0/1.1 on our side, and we want the server's answer.
  const args = [...connectArgs(target, options), '-brief', PROBE_FLAGS[protocol], '-cipher', 'DEFAULT@SECLEVEL=0'];
  const r = await run(options.openssl ?? 'openssl', args, options.timeoutMs ?? 15_000);
  const text = `${r.stdout}\n${r.stderr}`;
  if (r.timedOut) return { protocol, mustRefuse, outcome: 'error', detail: 'timed out' };
  if (CLIENT_CANNOT_OFFER.test(text)) return { protocol, mustRefuse, outcome: 'not-offered-by-client', detail: `this openssl client cannot offer ${protocol}` };
  const brief = parseBriefOutput(text);
  if (brief.established) return { protocol, mustRefuse, outcome: 'accepted', detail: brief.cipher };
  if (NO_CONVERSATION.test(text)) return { protocol, mustRefuse, outcome: 'error', detail: firstErrorLine(text) };
  return { protocol, mustRefuse, outcome: 'refused', detail: firstErrorLine(text) };
}

function firstErrorLine(text: string): string | undefined {
  return text.split('\n').find((l) => /error|alert|errno|didn't/i.test(l))?.trim();
}

function probePlan(policy: TlsCheckPolicy): { protocol: ProbeProtocol; mustRefuse: boolean }[] {
  const plan: { protocol: ProbeProtocol; mustRefuse: boolean }[] = [
    { protocol: 'SSLv3', mustRefuse: true }, { protocol: 'TLSv1', mustRefuse: true }, { protocol: 'TLSv1.1', mustRefuse: true },
  ];
  if (policy.minProtocol === 'TLSv1.3') plan.push({ protocol: 'TLSv1.2', mustRefuse: true });
  return plan;
}

// --- the check -----------------------------------------------------------------------------------

const PROTOCOL_RANK: Record<string, number> = { SSLv3: 0, TLSv1: 1, 'TLSv1.1': 2, 'TLSv1.2': 3, 'TLSv1.3': 4 };

/**
 * Connect once with defaults (what a normal client gets), once more for the certificate chain,
 * then once per old protocol. Runs the probes one after another so a server with a connection
 * rate limit (postscreen, anvil) is not hit in parallel.
 */
export async function checkTls(target: TlsCheckTarget, policy: TlsCheckPolicy = { minProtocol: 'TLSv1.2' },
  options: TlsCheckOptions = {}): Promise<TlsCheckResult> {
  // The host goes into s_client's argv: the endpoint parser refuses anything option-like.
  parseEndpoint(formatEndpoint(target.host, target.port), { field: 'tls-check target', requirePort: true });
  const openssl = options.openssl ?? 'openssl';
  const timeout = options.timeoutMs ?? 15_000;
  const base = connectArgs(target, options);
  const verify = options.verifyHostname !== false && isIP(target.host) === 0 ? ['-verify_hostname', target.host] : [];
  const main = await run(openssl, [...base, '-brief', ...verify], timeout);
  const brief = parseBriefOutput(`${main.stdout}\n${main.stderr}`);
  if (!brief.established) {
    const error = main.timedOut ? 'timed out' : firstErrorLine(`${main.stdout}\n${main.stderr}`) ?? `openssl exited with ${main.code}`;
    return finish({ target, policy, connected: false, error, probes: [], violations: [], warnings: [] });
  }
  const chain = await run(openssl, [...base, '-showcerts'], timeout);
  const pem = firstCertificatePem(chain.stdout);
  const now = options.now ?? new Date();
  const certificate = pem ? describeCertificate(pem, brief, now) : undefined;
  const probes: ProtocolProbe[] = [];
  for (const p of probePlan(policy)) probes.push(await probe(target, p.protocol, p.mustRefuse, options));
  const facts = { protocol: brief.protocol, cipher: brief.cipher, keyExchange: brief.keyExchange,
    forwardSecrecy: forwardSecret(brief.protocol, brief.cipher), certificate };
  return finish({ target, policy, connected: true, ...facts, probes, ...judge(policy, facts, probes, options) });
}

function judge(policy: TlsCheckPolicy, facts: { protocol?: string; forwardSecrecy: boolean; certificate?: CertificateInfo },
  probes: readonly ProtocolProbe[], options: TlsCheckOptions): { violations: string[]; warnings: string[] } {
  const violations: string[] = [];
  const warnings: string[] = [];
  if ((PROTOCOL_RANK[facts.protocol ?? ''] ?? -1) < PROTOCOL_RANK[policy.minProtocol]) {
    violations.push(`negotiated ${facts.protocol ?? 'an unknown protocol'}, below the policy minimum ${policy.minProtocol}`);
  }
  if (!facts.forwardSecrecy) violations.push('the negotiated cipher has no forward secrecy (no ECDHE/DHE key exchange)');
  for (const p of probes) {
    if (p.mustRefuse && p.outcome === 'accepted') violations.push(`${p.protocol} is accepted, but the policy (minimum ${policy.minProtocol}) says it must be refused`);
    if (p.outcome === 'not-offered-by-client') warnings.push(`${p.protocol} not tested: not offered by this client (${p.detail})`);
    if (p.outcome === 'error') warnings.push(`${p.protocol} probe failed: ${p.detail ?? 'unknown error'}`);
  }
  const cert = facts.certificate;
  if (!cert) warnings.push('no certificate was shown');
  else {
    if (cert.expired) violations.push(`the certificate expired on ${cert.notAfter}`);
    else if (cert.daysLeft < (options.expiryWarningDays ?? 14)) warnings.push(`the certificate expires in ${cert.daysLeft} days (${cert.notAfter})`);
    if (!cert.verified) warnings.push(`the certificate did not verify: ${cert.verifyError ?? 'unknown reason'} (opportunistic SMTP TLS still works; MTA-STS/DANE need it)`);
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
  refused: 'refused', accepted: 'ACCEPTED', 'not-offered-by-client': 'not tested (not offered by this client)', error: 'probe failed',
};

/** Human-readable report. */
export function formatTlsCheck(r: TlsCheckResult): string {
  const lines = [`${r.target.host}:${r.target.port} (${r.target.mode === 'starttls' ? 'STARTTLS' : 'implicit TLS'}), policy: minimum ${r.policy.minProtocol}`];
  if (!r.connected) {
    lines.push(`  no TLS session: ${r.error ?? 'unknown error'}`);
    return lines.join('\n');
  }
  const kx = r.keyExchange ? `${r.keyExchange.group}, ${r.keyExchange.bits} bits` : 'not reported';
  lines.push(`  protocol:        ${r.protocol}`, `  cipher:          ${r.cipher}`, `  key exchange:    ${kx}`,
    `  forward secrecy: ${r.forwardSecrecy ? 'yes' : 'NO'}`);
  if (r.certificate) {
    const c = r.certificate;
    lines.push(`  certificate:     ${c.subject}`, `    issuer:        ${c.issuer}`,
      `    sha256:        ${c.fingerprint256}`,
      `    expires:       ${c.notAfter} (${c.expired ? 'EXPIRED' : `${c.daysLeft} days left`})`,
      `    verified:      ${c.verified ? 'yes' : `no (${c.verifyError ?? 'unknown'})`}`);
  }
  for (const p of r.probes) lines.push(`  ${p.protocol.padEnd(8)} ${OUTCOME_TEXT[p.outcome]}${p.mustRefuse ? '' : ' (allowed by policy)'}`);
  for (const v of r.violations) lines.push(`  VIOLATION: ${v}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  lines.push(`  result: ${r.ok ? 'OK' : 'FAIL'}`);
  return lines.join('\n');
}
