import { Construct } from 'constructs';
import { TerraformStack, TerraformVariable } from './cdk';
import { PostfixConfigError } from '../lib/model/errors';
import { PostfixHost } from './postfix-host';

export interface SmartHostRelayProps {
  /** `[smtp.example.net]:587`: where all outbound mail goes (postconf(5) relayhost). */
  readonly relayhost: string;
  /** Allow `host:port` without brackets, which makes Postfix look up the MX records of host. @default false */
  readonly mxLookup?: boolean;
  /** The SASL account on the smarthost. */
  readonly username: string;
  /**
   * The SASL password as a token (a sensitive TerraformVariable's stringValue, a secret manager's
   * attribute). Text written in the program is refused at synth. Give this or passwordEnv.
   * @default - from passwordEnv
   */
  readonly password?: string;
  /**
   * Read the password from the environment of the machine that runs the deploy: this declares a
   * sensitive Terraform variable of this name, which Terraform reads from `TF_VAR_<name>`.
   * @default - from password
   */
  readonly passwordEnv?: string;
  /** "encrypt" (TLS required) or "secure" (TLS required, certificate verified). Never "may". @default "encrypt" */
  readonly tlsLevel?: string;
  /** CA bundle for the smarthost's certificate (smtp_tls_CAfile). @default "/etc/ssl/certs/ca-certificates.crt" */
  readonly caFile?: string;
  /** File name of the password map under the config directory (mode 0600, postmap'd on the host). @default "sasl_passwd" */
  readonly mapName?: string;
}

/**
 * All outbound mail through a smarthost that requires SASL AUTH: relayhost, smtp_sasl_* and a
 * password map whose content reaches the host only through the runner's environment (never
 * bundle.json, cdk.tf.json or state), over TLS that is required.
 */
export class SmartHostRelay extends Construct {
  readonly relayhost: string;
  /** The main.cf parameters this relay sets. */
  readonly parameters: Readonly<Record<string, string>>;
  /** Path of the password map on the host. */
  readonly mapPath: string;

  constructor(scope: Construct, id: string, props: SmartHostRelayProps) {
    super(scope, id);
    const plan = PostfixHost.of(this).builder.addSmartHost({ ...props, password: passwordOf(this, props) }, this.node.path);
    this.relayhost = plan.parameters.relayhost;
    this.parameters = plan.parameters;
    this.mapPath = plan.file.path;
  }
}

function passwordOf(scope: Construct, props: SmartHostRelayProps): string {
  const where = scope.node.path;
  if ((props.password === undefined) === (props.passwordEnv === undefined)) {
    throw new PostfixConfigError(
      where,
      'password',
      undefined,
      props.password === undefined ? 'neither password nor passwordEnv is given' : 'both password and passwordEnv are given',
      'give the password as a token (password) or name the variable to read it from (passwordEnv)',
    );
  }
  if (props.password !== undefined) return props.password;
  const name = props.passwordEnv!;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new PostfixConfigError(
      where,
      'passwordEnv',
      name,
      'not a Terraform variable name',
      'use letters, digits and underscores, e.g. smarthost_password (set TF_VAR_smarthost_password)',
    );
  }
  const stack = TerraformStack.of(scope);
  const existing = stack.node.tryFindChild(name);
  const variable =
    existing instanceof TerraformVariable
      ? existing
      : new TerraformVariable(stack, name, {
          type: 'string',
          sensitive: true,
          description: `SASL password for ${props.username} at ${props.relayhost} (set TF_VAR_${name})`,
        });
  return variable.stringValue;
}
