/** A TLS policy as the builder takes it: profile parameters, certificate uploads, and the submission requirement. */
import { createHash } from 'node:crypto';
import { PostfixConfigError } from '../model/errors';
import { DesiredFile } from '../model/host-state';
import { assertProfileName, checkHostPath, planCertificates, profileParameters, TlsCertificateSource, TlsProfileName, validateTlsParameters } from '../model/tls';
import { IsUnresolved } from './unresolved';

export interface TlsPolicyProps {
  /**
   * After Mozilla's server-side TLS guideline 6.0: "intermediate" (TLS 1.2+, ECDHE AEAD ciphers),
   * "modern" (TLS 1.3 only) or "legacyOldClients" (TLS 1.0+, old ciphers; the TLS lint still reports it).
   * @default "intermediate"
   */
  readonly profile?: TlsProfileName;
  /** Files already on the host, each holding a private key followed by its certificate chain. @default - none */
  readonly chainFiles?: readonly string[];
  /**
   * More certificates: host paths ({ chainFile } or { keyFile, certFile }) or PEM content
   * ({ privateKeyPem, certificatePem }, e.g. from @cdktf/provider-tls; tokens are fine), which is
   * uploaded as one 0600 file under `<configDirectory>/tls/` and never written into the bundle.
   * @default - none
   */
  readonly certificates?: readonly TlsCertificateSource[];
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
  readonly parameters?: Readonly<Record<string, string>>;
}

export interface TlsPolicyPlan {
  readonly profile: TlsProfileName;
  /** The main.cf parameters this policy sets. */
  readonly parameters: Readonly<Record<string, string>>;
  /** Certificate files uploaded from PEM content (secrets, through the environment). */
  readonly uploads: readonly DesiredFile[];
  readonly requireTlsOnSubmission: boolean;
}

export function planTlsPolicy(where: string, configDirectory: string, props: TlsPolicyProps, isUnresolved: IsUnresolved): TlsPolicyPlan {
  try {
    const profile = assertProfileName(where, props.profile ?? 'intermediate');
    const plan = planCertificates(props.certificates ?? [], configDirectory, isUnresolved);
    refuseLiteralPrivateKeys(props.certificates ?? [], isUnresolved);
    const givenFiles = (props.chainFiles ?? []).map((p, i) => checkHostPath(`chainFiles[${i}]`, p, 'chain', isUnresolved));
    const chainFiles = [...givenFiles, ...plan.chainFiles];
    validateTlsParameters({ ...(props.parameters ?? {}) });
    const parameters = { ...profileParameters(profile, { ...props, chainFiles }), ...(props.parameters ?? {}) };
    const uploads = plan.uploads.map((u, i): DesiredFile => ({
      path: u.path, mode: u.mode, owner: 'root', group: 'root', secret: true,
      // The key never enters bundle.json: Terraform passes it to the runner in this variable.
      fromEnv: { name: envName(where, i), value: u.content },
    }));
    return { profile, parameters, uploads, requireTlsOnSubmission: props.requireTlsOnSubmission ?? true };
  } catch (e) {
    throw e instanceof PostfixConfigError && e.where === '' ? e.at(where) : e;
  }
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
      throw new PostfixConfigError('', `certificates[${i}].privateKeyPem`, undefined,
        'a private key given as text would be written into the synthesized stack (cdk.tf.json)',
        'pass it as a token (a tls_private_key resource\'s private_key_pem, or a sensitive TerraformVariable set through TF_VAR_...), or keep the key on the host and use { keyFile, certFile } or chainFiles');
    }
  });
}

function envName(where: string, i: number): string {
  return `CDKTF_POSTFIX_TLS_${createHash('sha256').update(`${where}#${i}`).digest('hex').slice(0, 12).toUpperCase()}`;
}
