/**
 * A smarthost relay with SASL as the builder takes it (SASL_README "Enabling SASL authentication in
 * the Postfix SMTP client"): relayhost, the password map and the TLS that protects the password.
 * The password map's content travels like a TLS private key: Terraform passes it to the runner in an
 * environment variable, so it never enters bundle.json, cdk.tf.json or state (only its sha256 does).
 */
import { createHash } from 'node:crypto';
import { PostfixConfigError } from '../model/errors';
import { DesiredFile } from '../model/host-state';
import { parseRelayhost, validateSaslPassword, validateSaslTlsLevel, validateSaslUsername } from '../model/smarthost';
import { IsUnresolved } from './unresolved';

export interface SmartHostProps {
  /** `[smtp.example.net]:587`: where all outbound mail goes (postconf(5) relayhost). */
  readonly relayhost: string;
  /** Allow `host:port` without brackets, which makes Postfix look up the MX records of host. @default false */
  readonly mxLookup?: boolean;
  /** The SASL account on the smarthost. */
  readonly username: string;
  /**
   * The SASL password: a token known at deploy time only (a sensitive TerraformVariable, set through
   * TF_VAR_...). Text written in the program is refused: it would land in the synthesized stack.
   */
  readonly password: string;
  /** "encrypt" (TLS required) or "secure" (TLS required, certificate verified). Never "may". @default "encrypt" */
  readonly tlsLevel?: string;
  /** CA bundle for the smarthost's certificate (smtp_tls_CAfile). @default "/etc/ssl/certs/ca-certificates.crt" */
  readonly caFile?: string;
  /** File name of the password map under the config directory. @default "sasl_passwd" */
  readonly mapName?: string;
}

export interface SmartHostPlan {
  readonly parameters: Readonly<Record<string, string>>;
  /** Parameters set as a default another piece's value replaces: smtp_tls_CAfile when caFile is not given. */
  readonly defaults: readonly string[];
  /** Advice per parameter when another piece sets it differently. */
  readonly fixes: Readonly<Record<string, string>>;
  readonly file: DesiredFile;
}

export const DEFAULT_CA_FILE = '/etc/ssl/certs/ca-certificates.crt';

export function planSmartHost(where: string, configDirectory: string, props: SmartHostProps, isUnresolved: IsUnresolved): SmartHostPlan {
  const relay = isUnresolved(props.relayhost) ? undefined : parseRelayhost(where, props.relayhost, props.mxLookup ?? false);
  if (!isUnresolved(props.username)) validateSaslUsername(where, props.username);
  if (!isUnresolved(props.password)) {
    validateSaslPassword(where, props.password);
    throw new PostfixConfigError(
      where,
      'password',
      undefined,
      'a password given as text would be written into the synthesized stack (cdk.tf.json) and Terraform state',
      'pass it as a token: a sensitive TerraformVariable (new TerraformVariable(stack, "smarthost_password", { type: "string", sensitive: true }).stringValue, set through TF_VAR_smarthost_password), or use passwordEnv',
    );
  }
  const tlsLevel = validateSaslTlsLevel(where, props.tlsLevel ?? 'encrypt');
  const mapName = props.mapName ?? 'sasl_passwd';
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(mapName)) {
    throw new PostfixConfigError(where, 'mapName', mapName, 'not a plain file name', 'use a name such as sasl_passwd');
  }
  const mapPath = `${configDirectory.replace(/\/$/, '')}/${mapName}`;
  const relayhost = relay?.relayhost ?? props.relayhost;
  return {
    parameters: {
      relayhost,
      smtp_sasl_auth_enable: 'yes',
      smtp_sasl_password_maps: `hash:${mapPath}`,
      // postconf(5): no anonymous mechanisms; plaintext mechanisms are fine, TLS is required below.
      smtp_sasl_security_options: 'noanonymous',
      smtp_tls_security_level: tlsLevel,
      smtp_tls_CAfile: props.caFile ?? DEFAULT_CA_FILE,
    },
    defaults: props.caFile === undefined ? ['smtp_tls_CAfile'] : [],
    fixes: {
      smtp_tls_security_level: `SmartHostRelay requires TLS to the smarthost (SASL would otherwise send the password in clear): choose "encrypt" or "secure" with its tlsLevel, and drop smtp_tls_security_level from the other source (a TlsPolicy's default "may" gives way by itself; one named in its parameters or in settings does not)`,
    },
    file: {
      path: mapPath,
      mode: '0600',
      owner: 'root',
      group: 'root',
      postmap: 'hash',
      secret: true,
      // SASL_README: the key is the relayhost exactly as written, the value user:password.
      fromEnv: { name: envName(where, mapPath), value: `${relayhost} ${props.username}:${props.password}\n` },
    },
  };
}

function envName(where: string, path: string): string {
  return `CDKTF_POSTFIX_SASL_${createHash('sha256').update(`${where}#${path}`).digest('hex').slice(0, 12).toUpperCase()}`;
}
