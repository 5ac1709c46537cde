/**
 * TLS lint: reads the main.cf parameters and master.cf services a stack sets for one host and
 * reports dated or unsafe TLS settings, each with the fix. Pure; the TlsLint aspect turns findings
 * into construct annotations. Facts are for Postfix 3.7 with OpenSSL 3.0.
 */
import { getCiphers } from 'tls';
import { MasterServiceSpec, serviceKey } from './master-types';
import { PostfixConfigError } from './errors';
import {
  CIPHER_GRADE_PARAMETERS,
  POSTFIX_37_DEFAULT_PROTOCOLS,
  PROTOCOL_PARAMETERS,
  isPort25Service,
  isSubmissionService,
  isSubmissionsService,
  legacyProtocolsAllowed,
  parseProtocols,
} from './tls';
import { MIN_DH_BITS } from './dh';

export interface TlsFinding {
  /** Stable rule id, e.g. "tls-legacy-protocols". */
  rule: string;
  severity: 'warning' | 'error';
  /** The parameter at fault; `service/type -o name` for a master.cf override. */
  parameter: string;
  value: string;
  message: string;
  fix: string;
}

export interface TlsLintFile {
  /** Path on the host (as the stack places it). */
  path: string;
  /** Size of the DH prime when the file is a DH parameter file. */
  dhBits?: number;
  /** Encoding of a DH parameter file: Postfix 3.7 on OpenSSL 3 loads only PKCS#3. */
  dhFormat?: 'pkcs3' | 'x9.42';
}

/** Every rule the lint knows, for documentation and filtering. */
export const TLS_LINT_RULES = [
  'tls-protocols-invalid',
  'tls-legacy-protocols',
  'tls-weak-cipher-grade',
  'tls-obsolete-parameter',
  'tls-weak-dh-file',
  'tls-dh-file-x942',
  'tls-mandatory-on-port-25',
  'tls-mandatory-without-certificate',
  'tls-no-certificate',
  'tls-submission-not-encrypted',
  'tls-redundant-random-source',
  'tls-exclude-ciphers-dead-weight',
] as const;

type Params = Record<string, string>;

/** Lint one host's TLS settings. `services` are the master.cf entries the stack defines. */
export function lintTls(params: Params, services: MasterServiceSpec[], files: TlsLintFile[] = []): TlsFinding[] {
  return [
    ...lintProtocols(params, services),
    ...lintCipherGrades(params, services),
    ...lintObsolete(params, services),
    ...lintDhFiles(params, files),
    ...lintMandatoryTls(params, services),
    ...lintRandomSource(params),
    ...lintExcludeCiphers(params),
  ];
}

/** A parameter as main.cf sets it, plus every service that overrides it with -o. */
interface Occurrence {
  readonly parameter: string;
  readonly value: string;
}

function occurrences(params: Params, services: readonly MasterServiceSpec[], name: string): Occurrence[] {
  const out: Occurrence[] = [];
  if (params[name] !== undefined) out.push({ parameter: name, value: params[name] });
  for (const s of services) {
    const v = s.options?.[name];
    if (v !== undefined) out.push({ parameter: `${serviceKey(s)} -o ${name}`, value: v });
  }
  return out;
}

// --- protocols -------------------------------------------------------------------------------

const SERVER_TLS_ON = (v: string | undefined) => v !== undefined && ['may', 'encrypt'].includes(v);
const CLIENT_TLS_ON = (v: string | undefined) => v !== undefined && !['', 'none'].includes(v);

/** Whether the stack turns TLS on for a side (so Postfix defaults for that side matter). */
function sideEnabled(params: Params, services: readonly MasterServiceSpec[], side: 'smtpd' | 'smtp' | 'lmtp'): boolean {
  if (side === 'lmtp') return CLIENT_TLS_ON(params.lmtp_tls_security_level);
  const on = side === 'smtpd' ? SERVER_TLS_ON : CLIENT_TLS_ON;
  const levels = occurrences(params, services, `${side}_tls_security_level`).map((o) => o.value);
  return (
    levels.some(on) ||
    params[`${side}_use_tls`] === 'yes' ||
    params[`${side}_enforce_tls`] === 'yes' ||
    services.some((s) => s.options?.smtpd_tls_wrappermode === 'yes')
  );
}

function lintProtocols(params: Params, services: readonly MasterServiceSpec[]): TlsFinding[] {
  const findings: TlsFinding[] = [];
  for (const name of PROTOCOL_PARAMETERS) {
    const found = occurrences(params, services, name);
    const side = name.split('_')[0] as 'smtpd' | 'smtp' | 'lmtp';
    if (params[name] === undefined && sideEnabled(params, services, side)) {
      found.push({ parameter: name, value: `(not set: Postfix 3.7 default ${POSTFIX_37_DEFAULT_PROTOCOLS})` });
    }
    for (const o of found) findings.push(...checkProtocolValue(name, o));
  }
  return findings;
}

function checkProtocolValue(name: string, o: Occurrence): TlsFinding[] {
  const value = o.value.startsWith('(not set') ? POSTFIX_37_DEFAULT_PROTOCOLS : o.value;
  let legacy: string[];
  try {
    legacy = legacyProtocolsAllowed(parseProtocols(name, value));
  } catch (e) {
    const err = e as PostfixConfigError;
    return [
      {
        rule: 'tls-protocols-invalid',
        severity: 'error',
        parameter: o.parameter,
        value: o.value,
        message: `Postfix 3.7 rejects or misreads this protocol list: ${err.problem}`,
        fix: err.fix,
      },
    ];
  }
  if (legacy.length === 0) return [];
  return [
    {
      rule: 'tls-legacy-protocols',
      severity: 'warning',
      parameter: o.parameter,
      value: o.value,
      message: `allows ${legacy.join(', ')}, which are broken or deprecated (RFC 8996)`,
      fix: `set ${name} = >=TLSv1.2 (Postfix 3.6+ syntax)`,
    },
  ];
}

// --- ciphers ---------------------------------------------------------------------------------

function lintCipherGrades(params: Params, services: readonly MasterServiceSpec[]): TlsFinding[] {
  const findings: TlsFinding[] = [];
  for (const name of CIPHER_GRADE_PARAMETERS) {
    for (const o of occurrences(params, services, name)) {
      const grade = o.value.trim().toLowerCase();
      if (!['export', 'low', 'null'].includes(grade)) continue;
      findings.push({
        rule: 'tls-weak-cipher-grade',
        severity: 'warning',
        parameter: o.parameter,
        value: o.value,
        message:
          grade === 'null'
            ? 'the "null" grade allows only ciphers without encryption'
            : `the "${grade}" grade asks for EXPORT/LOW-strength ciphers (FREAK, Logjam era)`,
        fix: `set ${name} = medium (the default) and choose ciphers through a TLS profile`,
      });
    }
  }
  return findings;
}

/**
 * Cipher classes OpenSSL 3.0 no longer builds (checked with `openssl ciphers CLASS:@SECLEVEL=0`:
 * no match). Case matters: aECDH (static ECDH, gone) is not AECDH (anonymous ECDH, still there).
 */
const DEAD_CIPHER_CLASSES = new Set([
  'EXPORT',
  'EXP',
  'EXP40',
  'EXP56',
  'DES',
  '3DES',
  'RC4',
  'RC2',
  'IDEA',
  'SEED',
  'LOW',
  'SSLv2',
  'aECDH',
  'kECDH',
  'kDH',
  'aDH',
  'FORTEZZA',
]);
const EXCLUDE_PARAMETERS = [
  'smtpd_tls_exclude_ciphers',
  'smtpd_tls_mandatory_exclude_ciphers',
  'smtp_tls_exclude_ciphers',
  'smtp_tls_mandatory_exclude_ciphers',
];

function lintExcludeCiphers(params: Params): TlsFinding[] {
  const known = new Set(getCiphers().map((c) => c.toLowerCase()));
  const findings: TlsFinding[] = [];
  for (const name of EXCLUDE_PARAMETERS) {
    const value = params[name];
    if (value === undefined) continue;
    const dead = value
      .split(/[\s,:]+/)
      .filter(Boolean)
      .filter((t) => isDeadCipherName(t, known));
    if (dead.length === 0) continue;
    findings.push({
      rule: 'tls-exclude-ciphers-dead-weight',
      severity: 'warning',
      parameter: name,
      value,
      message: `${dead.join(', ')} name ciphers OpenSSL 3 no longer has (or are misspelt), so excluding them does nothing`,
      fix: `remove ${name}; a TLS profile's cipher list (tls_medium_cipherlist) already selects only strong ciphers`,
    });
  }
  return findings;
}

function isDeadCipherName(token: string, known: Set<string>): boolean {
  const t = token.replace(/^[!+-]/, '');
  if (DEAD_CIPHER_CLASSES.has(t) || /^KRB5/i.test(t)) return true;
  // A concrete suite name (has a dash) that this OpenSSL does not know: removed or misspelt.
  return t.includes('-') && !known.has(t.toLowerCase());
}

// --- obsolete parameters ---------------------------------------------------------------------

const OBSOLETE: Record<string, { why: string; fix: string }> = {
  smtpd_use_tls: { why: 'obsolete since Postfix 2.3', fix: 'replace with smtpd_tls_security_level = may' },
  smtp_use_tls: { why: 'obsolete since Postfix 2.3', fix: 'replace with smtp_tls_security_level = may' },
  smtpd_enforce_tls: { why: 'obsolete since Postfix 2.3', fix: 'replace with smtpd_tls_security_level = encrypt, on submission only' },
  smtp_enforce_tls: {
    why: 'obsolete since Postfix 2.3',
    fix: 'replace with smtp_tls_security_level = encrypt (or per destination in smtp_tls_policy_maps)',
  },
  smtpd_tls_eecdh_grade: {
    why: 'ignored since Postfix 3.6, which always negotiates ECDHE curves automatically',
    fix: 'remove it; set tls_eecdh_auto_curves if you must choose curves',
  },
  smtpd_tls_dh512_param_file: {
    why: 'ignored: 512-bit export DH went away with EXPORT ciphers',
    fix: 'remove it and delete the 512-bit file',
  },
};

function lintObsolete(params: Params, services: readonly MasterServiceSpec[]): TlsFinding[] {
  const findings: TlsFinding[] = [];
  for (const [name, info] of Object.entries(OBSOLETE)) {
    for (const o of occurrences(params, services, name)) {
      findings.push({
        rule: 'tls-obsolete-parameter',
        severity: 'warning',
        parameter: o.parameter,
        value: o.value,
        message: `${name} is ${info.why}`,
        fix: info.fix,
      });
    }
  }
  return findings;
}

// --- DH files --------------------------------------------------------------------------------

function lintDhFiles(params: Params, files: readonly TlsLintFile[]): TlsFinding[] {
  const findings: TlsFinding[] = [];
  for (const name of ['smtpd_tls_dh1024_param_file', 'smtpd_tls_dh512_param_file']) {
    const value = params[name];
    if (!value) continue;
    const path = expandDirectories(value, params);
    const file = files.find((f) => f.path === path);
    if (file?.dhFormat === 'x9.42') {
      findings.push({
        rule: 'tls-dh-file-x942',
        severity: 'error',
        parameter: name,
        value,
        message: `${path} holds X9.42 DH parameters (openssl dhparam -dsaparam); Postfix 3.7 logs "error decoding DH parameters" and silently uses its compiled-in group`,
        fix: 'generate PKCS#3 parameters (openssl dhparam -out FILE 2048, without -dsaparam), or use DhParameters',
      });
      continue;
    }
    if (file?.dhBits === undefined || file.dhBits >= MIN_DH_BITS) continue;
    findings.push({
      rule: 'tls-weak-dh-file',
      severity: 'warning',
      parameter: name,
      value,
      message: `${path} holds ${file.dhBits}-bit DH parameters; under ${MIN_DH_BITS} bits is breakable (Logjam)`,
      fix: `leave ${name} empty so OpenSSL 3 uses RFC 7919 groups, or use DhParameters with bits >= ${MIN_DH_BITS}`,
    });
  }
  return findings;
}

const DIRECTORY_DEFAULTS: Record<string, string> = {
  config_directory: '/etc/postfix',
  data_directory: '/var/lib/postfix',
  queue_directory: '/var/spool/postfix',
};

/** Expand $config_directory-style references, the only ones file parameters use in practice. */
export function expandDirectories(value: string, params: Params): string {
  return value.replace(
    /\$\{?(config_directory|data_directory|queue_directory)\}?/g,
    (_m, name: string) => params[name] ?? DIRECTORY_DEFAULTS[name],
  );
}

// --- mandatory TLS, certificates, submission -------------------------------------------------

const CERT_PARAMETERS = ['smtpd_tls_chain_files', 'smtpd_tls_cert_file', 'smtpd_tls_eccert_file', 'smtpd_tls_dcert_file'];

function hasCertificate(params: Params, service?: MasterServiceSpec): boolean {
  return CERT_PARAMETERS.some((n) => (service?.options?.[n] ?? params[n] ?? '').trim() !== '');
}

/** The value a service sees: its own -o, else main.cf. */
function effective(params: Params, service: MasterServiceSpec | undefined, name: string): string | undefined {
  return service?.options?.[name] ?? params[name];
}

/** Whether smtpd behind this service (or main.cf when undefined) requires TLS. */
function requiresTls(params: Params, service?: MasterServiceSpec): string | undefined {
  const level = effective(params, service, 'smtpd_tls_security_level');
  if (level === 'encrypt') return `smtpd_tls_security_level = ${level}`;
  if (level === undefined && effective(params, service, 'smtpd_enforce_tls') === 'yes') return 'smtpd_enforce_tls = yes';
  if (effective(params, service, 'smtpd_tls_req_ccert') === 'yes') return 'smtpd_tls_req_ccert = yes';
  return undefined;
}

function lintMandatoryTls(params: Params, services: readonly MasterServiceSpec[]): TlsFinding[] {
  return [...lintPort25(params, services), ...lintCertificates(params, services), ...lintSubmission(params, services)];
}

/**
 * main.cf's level reaches port 25 unless the smtp/inet entry overrides it; a stack that defines no
 * smtp/inet entry leaves the stock one in place, which has no override.
 */
function lintPort25(params: Params, services: readonly MasterServiceSpec[]): TlsFinding[] {
  const listeners = services.filter(isPort25Service);
  const smtpdPass = services.find((s) => s.name === 'smtpd' && s.type === 'pass');
  const targets: (MasterServiceSpec | undefined)[] = listeners.length > 0 ? listeners : [undefined];
  const findings: TlsFinding[] = [];
  for (const listener of targets) {
    // Behind postscreen, smtpd runs as the smtpd/pass service: its -o settings count.
    const service = listener?.command === 'postscreen' ? smtpdPass : listener;
    const why = requiresTls(params, service);
    if (!why) continue;
    const parameter =
      service?.options?.smtpd_tls_security_level !== undefined ? `${serviceKey(service)} -o smtpd_tls_security_level` : why.split(' = ')[0];
    findings.push({
      rule: 'tls-mandatory-on-port-25',
      severity: 'warning',
      parameter,
      value: why.split(' = ')[1],
      message: `port 25 (${listener ? serviceKey(listener) : 'smtp/inet from the stock master.cf'}) requires TLS through ${why}; RFC 3207 forbids that for a publicly referenced MX, and servers without TLS cannot deliver`,
      fix: 'set smtpd_tls_security_level = may in main.cf and -o smtpd_tls_security_level=encrypt on submission only',
    });
  }
  return findings;
}

function lintCertificates(params: Params, services: readonly MasterServiceSpec[]): TlsFinding[] {
  const findings: TlsFinding[] = [];
  // Only services with their own override: one inheriting main.cf is covered by the main.cf finding.
  const ownOverride = ['smtpd_tls_security_level', 'smtpd_tls_wrappermode', 'smtpd_enforce_tls', 'smtpd_tls_req_ccert'];
  const smtpdServices = services.filter((s) => s.command === 'smtpd' && ownOverride.some((n) => s.options?.[n] !== undefined));
  for (const s of smtpdServices) {
    const why = requiresTls(params, s) ?? (s.options?.smtpd_tls_wrappermode === 'yes' ? 'smtpd_tls_wrappermode = yes' : undefined);
    if (!why || hasCertificate(params, s)) continue;
    findings.push({
      rule: 'tls-mandatory-without-certificate',
      severity: 'error',
      parameter: `${serviceKey(s)} ${why.split(' = ')[0]}`,
      value: why.split(' = ')[1],
      message: `${serviceKey(s)} requires TLS but no server certificate is configured, so every client on it fails`,
      fix: 'give a certificate through TlsPolicy (chainFiles or certificates), which sets smtpd_tls_chain_files',
    });
  }
  const mainRequires = requiresTls(params);
  if (!hasCertificate(params) && (mainRequires || sideEnabled(params, [], 'smtpd'))) {
    const level =
      params.smtpd_tls_security_level !== undefined
        ? 'smtpd_tls_security_level'
        : params.smtpd_use_tls !== undefined
          ? 'smtpd_use_tls'
          : 'smtpd_enforce_tls';
    findings.push({
      rule: mainRequires ? 'tls-mandatory-without-certificate' : 'tls-no-certificate',
      severity: mainRequires ? 'error' : 'warning',
      parameter: level,
      value: params[level] ?? '',
      message: mainRequires
        ? 'main.cf requires TLS but no server certificate is configured, so no client can send mail'
        : 'TLS is turned on but no server certificate is configured; Postfix logs a warning and offers no STARTTLS',
      fix: 'give a certificate through TlsPolicy (chainFiles or certificates), which sets smtpd_tls_chain_files',
    });
  }
  return findings;
}

function lintSubmission(params: Params, services: readonly MasterServiceSpec[]): TlsFinding[] {
  return services
    .filter((s) => isSubmissionService(s) && !isSubmissionsService(s))
    .filter((s) => effective(params, s, 'smtpd_tls_security_level') !== 'encrypt' && s.options?.smtpd_tls_wrappermode !== 'yes')
    .map((s) => ({
      rule: 'tls-submission-not-encrypted',
      severity: 'warning' as const,
      parameter: `${serviceKey(s)} -o smtpd_tls_security_level`,
      value: effective(params, s, 'smtpd_tls_security_level') ?? '(not set)',
      message: `${serviceKey(s)} accepts mail submission without TLS, so passwords and mail can cross the network in clear`,
      fix: `add -o smtpd_tls_security_level=encrypt to ${serviceKey(s)} (TlsPolicy does this for services defined before it)`,
    }));
}

// --- randomness --------------------------------------------------------------------------------

/**
 * Checked on Postfix 3.7.11: `postconf -d tls_random_source` is already dev:/dev/urandom, so the
 * seed page's line is harmless; it is reported as dead configuration to remove, not as a risk.
 */
function lintRandomSource(params: Params): TlsFinding[] {
  const value = params.tls_random_source;
  if (value === undefined || value.trim() !== 'dev:/dev/urandom') return [];
  return [
    {
      rule: 'tls-redundant-random-source',
      severity: 'warning',
      parameter: 'tls_random_source',
      value,
      message: 'harmless: dev:/dev/urandom is already the Postfix 3.7 default on Linux, so the line only adds noise',
      fix: 'remove tls_random_source',
    },
  ];
}
