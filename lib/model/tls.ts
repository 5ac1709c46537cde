/**
 * TLS vocabulary for Postfix 3.7 with OpenSSL 3.0: profiles (after Mozilla's server-side TLS
 * guideline 6.0) rendered as main.cf parameters and master.cf `-o` overrides, the protocol-list
 * grammar Postfix accepts. Certificate and key input: tls-certificates.ts. Pure: no cdktf, no I/O.
 */
import { PostfixConfigError } from './errors';
import { MasterServiceSpec, serviceKey } from './master-types';

export const MOZILLA_GUIDELINE_VERSION = '6.0';

/**
 * `legacyOldClients` is spelled out on purpose: it re-enables TLS 1.0/1.1 and non-forward-secret
 * ciphers, and nobody should pick it by accident (the lint still reports it).
 */
export const TLS_PROFILES = ['intermediate', 'modern', 'legacyOldClients'] as const;
export type TlsProfileName = (typeof TLS_PROFILES)[number];

/** Protocol names as Postfix spells them, oldest first. */
export const TLS_PROTOCOLS = ['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsProtocol = (typeof TLS_PROTOCOLS)[number];

/** Guideline 6.0 intermediate: ECDHE with AEAD only (DHE was dropped in 6.0), for TLS 1.2. */
export const INTERMEDIATE_CIPHERS: readonly string[] = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];

/**
 * Mozilla's last "old" list (guideline 5.7), minus DES-CBC3-SHA which OpenSSL 3.0 no longer builds.
 * `@SECLEVEL=0` is required because OpenSSL 3 refuses TLS 1.0/1.1 (SHA-1 signatures) at level 1+.
 */
export const LEGACY_CIPHERS: readonly string[] = [
  ...INTERMEDIATE_CIPHERS,
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA384',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES256-SHA',
  'DHE-RSA-AES128-SHA256',
  'DHE-RSA-AES256-SHA256',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-SHA256',
  'AES256-SHA256',
  'AES128-SHA',
  'AES256-SHA',
  '@SECLEVEL=0',
];

/**
 * Guideline 6.0 lists X25519MLKEM768 first; OpenSSL 3.0 does not know it and Postfix 3.7 would log
 * "ignoring unknown ECDHE curve" in every smtpd process, so it is left out here.
 */
export const ECDHE_CURVES = 'X25519 prime256v1 secp384r1';

/** Parameters whose value is a protocol list (server, client and LMTP client side). */
export const PROTOCOL_PARAMETERS = [
  'smtpd_tls_protocols',
  'smtpd_tls_mandatory_protocols',
  'smtp_tls_protocols',
  'smtp_tls_mandatory_protocols',
  'lmtp_tls_protocols',
  'lmtp_tls_mandatory_protocols',
] as const;

export const CIPHER_GRADE_PARAMETERS = [
  'smtpd_tls_ciphers',
  'smtpd_tls_mandatory_ciphers',
  'smtp_tls_ciphers',
  'smtp_tls_mandatory_ciphers',
  'lmtp_tls_ciphers',
  'lmtp_tls_mandatory_ciphers',
] as const;
export const CIPHER_GRADES = ['export', 'low', 'medium', 'high', 'null'] as const;

/** What Postfix 3.7 uses when a protocol parameter is not set (checked: `postconf -d`). */
export const POSTFIX_37_DEFAULT_PROTOCOLS = '>=TLSv1';

// ---------------------------------------------------------------------------------------------
// Protocol lists

export interface ProtocolSet {
  /** Protocols the value leaves enabled, oldest first. */
  readonly enabled: TlsProtocol[];
  /** Protocols named without `!` (the pre-3.6 inclusion syntax). */
  readonly included: TlsProtocol[];
}

/** Wire versions Postfix accepts in `>=0303` form. */
const HEX_VERSIONS: Record<string, TlsProtocol> = {
  '0300': 'SSLv3',
  '0301': 'TLSv1',
  '0302': 'TLSv1.1',
  '0303': 'TLSv1.2',
  '0304': 'TLSv1.3',
};

/**
 * Parse a protocol list with Postfix 3.7's grammar: names (case-insensitive), `!name`, and
 * `>=version` / `<=version` bounds, separated by commas, spaces or colons. Checked against
 * posttls-finger 3.7.11, which shares smtpd's parser: `;` separators, `>TLSv1.2`, `=>TLSv1.2` and
 * unknown names abort TLS; `>= TLSv1.2` (with a space) silently means "only TLSv1.2".
 * Throws PostfixConfigError naming `field`.
 */
export function parseProtocols(field: string, value: string): ProtocolSet {
  const tokens = value.trim() === '' ? [] : value.trim().split(/[\s,:]+/);
  let min = 0;
  let max = TLS_PROTOCOLS.length - 1;
  const included = new Set<TlsProtocol>();
  const excluded = new Set<TlsProtocol>();
  tokens.forEach((token, i) => {
    const bound = /^([<>]=)(.*)$/.exec(token);
    if (bound) {
      if (bound[2] === '' && i + 1 < tokens.length && protocolName(tokens[i + 1]) !== undefined) {
        throw protocolError(
          field,
          value,
          `"${bound[1]} ${tokens[i + 1]}" has a space after ${bound[1]}, so Postfix reads an empty bound plus "${tokens[i + 1]}" alone, which enables only that one protocol`,
          `write it without the space: ${bound[1]}${tokens[i + 1]}`,
        );
      }
      if (bound[2] === '') return; // an empty bound means "no bound" in Postfix
      const p = boundVersion(bound[2]);
      if (p === undefined)
        throw protocolError(field, value, `"${token}" is not a protocol version Postfix 3.7 knows`, 'use >=TLSv1.2 (or >=TLSv1.3)');
      const idx = TLS_PROTOCOLS.indexOf(p);
      if (bound[1] === '>=') min = Math.max(min, idx);
      else max = Math.min(max, idx);
      return;
    }
    const negated = token.startsWith('!');
    const p = protocolName(negated ? token.slice(1) : token);
    if (p === undefined) {
      throw protocolError(
        field,
        value,
        `"${token}" is not valid Postfix 3.7 protocol syntax`,
        'use the 3.6+ form >=TLSv1.2 (names: SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3; separators: comma, space or colon)',
      );
    }
    (negated ? excluded : included).add(p);
  });
  const enabled = TLS_PROTOCOLS.filter(
    (p, idx) => idx >= min && idx <= max && !excluded.has(p) && (included.size === 0 || included.has(p)),
  );
  if (enabled.length === 0) {
    throw protocolError(field, value, 'it leaves no protocol enabled, so every TLS handshake would fail', 'use >=TLSv1.2');
  }
  return { enabled, included: TLS_PROTOCOLS.filter((p) => included.has(p)) };
}

function protocolName(text: string): TlsProtocol | undefined {
  return TLS_PROTOCOLS.find((p) => p.toLowerCase() === text.toLowerCase());
}

function boundVersion(text: string): TlsProtocol | undefined {
  const hex = /^(?:0x)?([0-9a-f]{4})$/i.exec(text);
  return hex ? HEX_VERSIONS[hex[1]] : protocolName(text);
}

function protocolError(field: string, value: string, problem: string, fix: string): PostfixConfigError {
  return new PostfixConfigError('', field, value, problem, fix);
}

/** The protocols older than TLS 1.2 that a value leaves enabled (SSLv2 only when named: OpenSSL 3 has none). */
export function legacyProtocolsAllowed(set: ProtocolSet): TlsProtocol[] {
  return set.enabled.filter((p) => (p === 'SSLv2' ? set.included.includes(p) : ['SSLv3', 'TLSv1', 'TLSv1.1'].includes(p)));
}

// ---------------------------------------------------------------------------------------------
// Profiles

export interface TlsProfileOptions {
  /** Values for smtpd_tls_chain_files, in order (each file: key first, then its certificate chain). */
  readonly chainFiles?: readonly string[];
  /** @default - none */
  readonly serverCAfile?: string;
  readonly serverCApath?: string;
  /** @default - none (Debian: /etc/ssl/certs/ca-certificates.crt for verified outbound TLS) */
  readonly clientCAfile?: string;
  readonly clientCApath?: string;
  /** Cache outbound TLS sessions (smtp_tls_session_cache_database). @default true */
  readonly clientSessionCache?: boolean;
  /** smtpd_tls_loglevel and smtp_tls_loglevel, 0-4. @default 1 */
  readonly logLevel?: number;
  /** Record protocol and cipher in the Received: header (smtpd_tls_received_header). @default false */
  readonly receivedHeader?: boolean;
  /** Offer/require AUTH only after STARTTLS (smtpd_tls_auth_only). @default true */
  readonly authOnlyWithTls?: boolean;
  /** tls_eecdh_auto_curves. @default ECDHE_CURVES */
  readonly curves?: string;
}

/** The base of a profile: protocol floor, cipher list and grade. */
interface ProfileCore {
  readonly protocols: string;
  readonly cipherlist?: readonly string[];
}

const PROFILE_CORES: Record<TlsProfileName, ProfileCore> = {
  intermediate: { protocols: '>=TLSv1.2', cipherlist: INTERMEDIATE_CIPHERS },
  // TLS 1.3 suites are not chosen by tls_*_cipherlist; OpenSSL's defaults equal Mozilla's list.
  modern: { protocols: '>=TLSv1.3' },
  legacyOldClients: { protocols: '>=TLSv1', cipherlist: LEGACY_CIPHERS },
};

export function assertProfileName(where: string, value: string): TlsProfileName {
  if ((TLS_PROFILES as readonly string[]).includes(value)) return value as TlsProfileName;
  throw new PostfixConfigError(
    where,
    'profile',
    value,
    'is not a known TLS profile',
    `use one of ${TLS_PROFILES.join(', ')} ("intermediate" suits almost every mail server)`,
  );
}

/**
 * main.cf parameters for a profile. Port 25 and outbound stay opportunistic (`may`, RFC 3207: a
 * public MX must not require TLS); submission gets `encrypt` through serviceOverrides().
 */
export function profileParameters(profile: TlsProfileName, options: TlsProfileOptions = {}): Record<string, string> {
  const core = PROFILE_CORES[profile];
  const logLevel = checkLogLevel(options.logLevel ?? 1);
  const params: Record<string, string> = {
    smtpd_tls_security_level: 'may',
    smtp_tls_security_level: 'may',
    smtpd_tls_auth_only: yesNo(options.authOnlyWithTls ?? true),
    smtpd_tls_protocols: core.protocols,
    smtpd_tls_mandatory_protocols: core.protocols,
    smtp_tls_protocols: core.protocols,
    smtp_tls_mandatory_protocols: core.protocols,
    tls_preempt_cipherlist: 'no',
    tls_eecdh_auto_curves: options.curves ?? ECDHE_CURVES,
    smtpd_tls_loglevel: String(logLevel),
    smtp_tls_loglevel: String(logLevel),
    smtpd_tls_received_header: yesNo(options.receivedHeader ?? false),
  };
  if (core.cipherlist) {
    params.tls_medium_cipherlist = core.cipherlist.join(':');
    params.smtpd_tls_mandatory_ciphers = 'medium';
    params.smtp_tls_mandatory_ciphers = 'medium';
  }
  if (options.chainFiles && options.chainFiles.length > 0) params.smtpd_tls_chain_files = options.chainFiles.join(', ');
  if (options.clientSessionCache ?? true) params.smtp_tls_session_cache_database = 'btree:${data_directory}/smtp_scache';
  setIf(params, 'smtpd_tls_CAfile', options.serverCAfile);
  setIf(params, 'smtpd_tls_CApath', options.serverCApath);
  setIf(params, 'smtp_tls_CAfile', options.clientCAfile);
  setIf(params, 'smtp_tls_CApath', options.clientCApath);
  return params;
}

function checkLogLevel(level: number): number {
  if (Number.isInteger(level) && level >= 0 && level <= 4) return level;
  throw new PostfixConfigError(
    '',
    'logLevel',
    String(level),
    'is not a Postfix TLS log level',
    'use 0 (off), 1 (summary, recommended) or 2 (handshake detail, for debugging only)',
  );
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

function setIf(params: Record<string, string>, name: string, value: string | undefined): void {
  if (value !== undefined && value !== '') params[name] = value;
}

export interface ServiceOverride {
  /** "service/type", e.g. "submission/inet". */
  readonly key: string;
  readonly name: string;
  readonly value: string;
}

/** Submission on port 587 (STARTTLS): TLS required. */
export function isSubmissionService(spec: MasterServiceSpec): boolean {
  return spec.type === 'inet' && spec.command === 'smtpd' && /(^|:)(submission|587)$/.test(spec.name);
}

/** Submissions on port 465 (implicit TLS). */
export function isSubmissionsService(spec: MasterServiceSpec): boolean {
  return spec.type === 'inet' && spec.command === 'smtpd' && /(^|:)(submissions|smtps|465)$/.test(spec.name);
}

/** The public MX listener on port 25 (smtpd, or postscreen in front of smtpd). */
export function isPort25Service(spec: MasterServiceSpec): boolean {
  return spec.type === 'inet' && /(^|:)(smtp|25)$/.test(spec.name);
}

/**
 * Per-service `-o` overrides: submission requires TLS. Port 25 gets none (main.cf says `may`), and
 * submissions (465) already runs TLS from the first byte through smtpd_tls_wrappermode.
 */
export function serviceOverrides(services: readonly MasterServiceSpec[]): ServiceOverride[] {
  return services.filter(isSubmissionService).map((s) => ({ key: serviceKey(s), name: 'smtpd_tls_security_level', value: 'encrypt' }));
}

/** Extra TLS parameters a user passes next to a profile: protocol lists and cipher grades are checked. */
export function validateTlsParameters(parameters: Record<string, string>): void {
  for (const [name, value] of Object.entries(parameters)) {
    if ((PROTOCOL_PARAMETERS as readonly string[]).includes(name)) parseProtocols(name, value);
    if ((CIPHER_GRADE_PARAMETERS as readonly string[]).includes(name) && !(CIPHER_GRADES as readonly string[]).includes(value)) {
      throw new PostfixConfigError(
        '',
        name,
        value,
        'is not a Postfix cipher grade',
        'use medium (or high); export, low and null are unsafe',
      );
    }
  }
}
