/** A TLS policy as the builder takes it: profile parameters, certificate uploads, and the submission requirement. */
import { createHash } from 'node:crypto';
import { PostfixConfigError } from '../model/errors';
import { DesiredFile } from '../model/host-state';
import { assertProfileName, profileParameters, TlsProfileName, validateTlsParameters } from '../model/tls';
import { checkHostPath, planCertificates, TlsCertificateSource } from '../model/tls-certificates';
import { IsUnresolved } from './unresolved';
import { TlsProfile } from './vocabulary';

/**
 * One certificate: give exactly one of chainFile, keyFile with certFile (paths on the host), or
 * privateKeyPem with certificatePem (content to upload; tokens are fine).
 */
export interface TlsCertificate {
  /** A file on the host holding a private key followed by its certificate chain. @default - not this kind */
  readonly chainFile?: string;
  /** Private key file on the host (with certFile). @default - not this kind */
  readonly keyFile?: string;
  /** Certificate chain file on the host (with keyFile). @default - not this kind */
  readonly certFile?: string;
  /** PEM private key to upload (with certificatePem); a token, never literal text. @default - not this kind */
  readonly privateKeyPem?: string;
  /** PEM certificate chain to upload (with privateKeyPem). @default - not this kind */
  readonly certificatePem?: string;
  /** File name of the upload under `<configDirectory>/tls/`. @default "server", then "server-2"... */
  readonly name?: string;
}

export interface TlsPolicyProps {
  /**
   * After Mozilla's server-side TLS guideline 6.0: "intermediate" (TLS 1.2+, ECDHE AEAD ciphers),
   * "modern" (TLS 1.3 only) or "legacyOldClients" (TLS 1.0+, old ciphers; the TLS lint still reports it).
   * @default TlsProfile.INTERMEDIATE
   */
  readonly profile?: TlsProfile;
  /** Files already on the host, each holding a private key followed by its certificate chain. @default - none */
  readonly chainFiles?: string[];
  /**
   * More certificates: host paths ({ chainFile } or { keyFile, certFile }) or PEM content
   * ({ privateKeyPem, certificatePem }, e.g. from @cdktf/provider-tls; tokens are fine), which is
   * uploaded as one 0600 file under `<configDirectory>/tls/` and never written into the bundle.
   * @default - none
   */
  readonly certificates?: TlsCertificate[];
  /** CA file for client certificates (smtpd_tls_CAfile). @default - none */
  readonly serverCAfile?: string;
  /** @default - none */
  readonly serverCApath?: string;
  /** CA file for verifying other servers (smtp_tls_CAfile), e.g. /etc/ssl/certs/ca-certificates.crt. @default - none */
  readonly clientCAfile?: string;
  /** @default - none */
  readonly clientCApath?: string;
  /** Cache outbound TLS sessions (smtp_tls_session_cache_database). @default true */
  readonly clientSessionCache?: boolean;
  /** smtpd_tls_loglevel and smtp_tls_loglevel. @default 1 */
  readonly logLevel?: number;
  /** Protocol and cipher in Received: headers (smtpd_tls_received_header). @default false */
  readonly receivedHeader?: boolean;
  /** AUTH only after STARTTLS (smtpd_tls_auth_only). @default true */
  readonly authOnlyWithTls?: boolean;
  /** Add -o smtpd_tls_security_level=encrypt to every submission (587) service of the host, whenever it was added. @default true */
  readonly requireTlsOnSubmission?: boolean;
  /** Extra or replacement TLS parameters; protocol lists and cipher grades are checked. @default - none */
  readonly parameters?: { readonly [name: string]: string };
}

export interface TlsPolicyPlan {
  readonly profile: TlsProfileName;
  /** The main.cf parameters this policy sets. */
  readonly parameters: Readonly<Record<string, string>>;
  /**
   * Parameters set as the profile's default, which another piece's value replaces in either order:
   * smtp_tls_security_level `may` (right for delivery to any MX, RFC 3207) yields to a relay that
   * requires TLS (SmartHostRelay's `encrypt`/`secure`), unless `parameters` names it.
   */
  readonly defaults: readonly string[];
  /** Certificate files uploaded from PEM content (secrets, through the environment). */
  readonly uploads: readonly DesiredFile[];
  readonly requireTlsOnSubmission: boolean;
}

export function planTlsPolicy(where: string, configDirectory: string, props: TlsPolicyProps, isUnresolved: IsUnresolved): TlsPolicyPlan {
  try {
    const profile = assertProfileName(where, props.profile ?? 'intermediate');
    const sources = (props.certificates ?? []).map(certificateSource);
    const plan = planCertificates(sources, configDirectory, isUnresolved);
    refuseLiteralPrivateKeys(sources, isUnresolved);
    const givenFiles = (props.chainFiles ?? []).map((p, i) => checkHostPath(`chainFiles[${i}]`, p, 'chain', isUnresolved));
    const chainFiles = [...givenFiles, ...plan.chainFiles];
    validateTlsParameters({ ...(props.parameters ?? {}) });
    const parameters = { ...profileParameters(profile, { ...props, chainFiles }), ...(props.parameters ?? {}) };
    const uploads = plan.uploads.map((u, i): DesiredFile => ({
      path: u.path,
      mode: u.mode,
      owner: 'root',
      group: 'root',
      secret: true,
      // The key never enters bundle.json: Terraform passes it to the runner in this variable.
      fromEnv: { name: envName(where, i), value: u.content },
    }));
    const defaults = props.parameters?.smtp_tls_security_level === undefined ? ['smtp_tls_security_level'] : [];
    return { profile, parameters, defaults, uploads, requireTlsOnSubmission: props.requireTlsOnSubmission ?? true };
  } catch (e) {
    throw e instanceof PostfixConfigError && e.where === '' ? e.at(where) : e;
  }
}

/** The one kind of source a TlsCertificate gives; mixed or incomplete kinds are refused by name. */
function certificateSource(c: TlsCertificate, i: number): TlsCertificateSource {
  const field = `certificates[${i}]`;
  const kinds = [
    c.chainFile !== undefined,
    c.keyFile !== undefined || c.certFile !== undefined,
    c.privateKeyPem !== undefined || c.certificatePem !== undefined,
  ];
  if (kinds.filter(Boolean).length !== 1) {
    throw new PostfixConfigError(
      '',
      field,
      undefined,
      kinds.some(Boolean) ? 'mixes kinds of certificate source' : 'gives no certificate',
      'give exactly one of: chainFile; keyFile with certFile; privateKeyPem with certificatePem',
    );
  }
  if (c.chainFile !== undefined) return { chainFile: c.chainFile };
  if (kinds[1]) return { keyFile: need(field, 'keyFile', c.keyFile, 'certFile'), certFile: need(field, 'certFile', c.certFile, 'keyFile') };
  return {
    privateKeyPem: need(field, 'privateKeyPem', c.privateKeyPem, 'certificatePem'),
    certificatePem: need(field, 'certificatePem', c.certificatePem, 'privateKeyPem'),
    ...(c.name !== undefined ? { name: c.name } : {}),
  };
}

function need(field: string, name: string, value: string | undefined, partner: string): string {
  if (value === undefined)
    throw new PostfixConfigError('', `${field}.${name}`, undefined, `${partner} is given without ${name}`, `give ${name} too`);
  return value;
}

/**
 * A private key written as text in the program would land in the synthesized stack (the runner's
 * environment in cdk.tf.json). Only unresolved values may carry one: Terraform resolves them at
 * apply time and keeps them out of the files. (Checked after planCertificates, so a mismatched pair
 * is reported as such.)
 */
function refuseLiteralPrivateKeys(sources: readonly TlsCertificateSource[], isUnresolved: IsUnresolved): void {
  sources.forEach((source, i) => {
    if ('privateKeyPem' in source && !isUnresolved(source.privateKeyPem)) {
      throw new PostfixConfigError(
        '',
        `certificates[${i}].privateKeyPem`,
        undefined,
        'a private key given as text would be written into the synthesized stack (cdk.tf.json)',
        "pass it as a token (a tls_private_key resource's private_key_pem, or a sensitive TerraformVariable set through TF_VAR_...), or keep the key on the host and use { keyFile, certFile } or chainFiles",
      );
    }
  });
}

function envName(where: string, i: number): string {
  return `CDKTF_POSTFIX_TLS_${createHash('sha256').update(`${where}#${i}`).digest('hex').slice(0, 12).toUpperCase()}`;
}
