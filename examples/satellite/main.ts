/**
 * A satellite (null client): sends only, relays every message through a smarthost that requires
 * SASL AUTH over TLS, listens on loopback only and delivers nothing locally. The target and inputs
 * come from the environment:
 *   MAIL_HOST           address or address:port (synth alone works with the placeholder)
 *   MAIL_SSH_USER       default root
 *   MAIL_SSH_KEY        private key path; default ssh-agent
 *   MAIL_KNOWN_HOSTS    default ~/.ssh/known_hosts
 *   MAIL_HOSTNAME       the host's myhostname; default satellite.example.org
 *   MAIL_SMARTHOST      the smarthost as [host]:port; default [smtp.example.net]:587
 *   MAIL_SASL_USER      the SASL account on the smarthost; default relay@example.org
 *   MAIL_SASL_PASSWORD  the SASL password. Never read at synth (it would land in cdk.tf.json):
 *                       Terraform reads it at deploy from TF_VAR_sasl_password, the sensitive
 *                       variable this stack declares: `TF_VAR_sasl_password="$MAIL_SASL_PASSWORD" cdktf deploy`
 *   MAIL_ROOT_ALIAS     the operator's address: mail to root (cron, daemons) goes there through the
 *                       smarthost; default: root stays root@$myorigin, which the smarthost must accept
 * The root alias is a virtual(5) alias (LookupTable.virtualAlias, an inline table), not an aliases(5)
 * entry (the Aliases construct): a null client delivers nothing locally, and only local(8) reads
 * aliases(5), whereas virtual aliasing rewrites the recipient before the message leaves, and leaves
 * the sender (root@$myorigin) as it was.
 */
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { LookupTable, PostfixConfigError, PostfixHost, Presets } from '../../index';
import { connectionFromEnv } from '../connection-from-env';

export interface SatelliteStackProps {
  readonly env: NodeJS.ProcessEnv;
}

/** The Terraform variable that carries MAIL_SASL_PASSWORD (TF_VAR_sasl_password). */
export const SASL_PASSWORD_VARIABLE = 'sasl_password';

export class SatelliteStack extends TerraformStack {
  readonly host: PostfixHost;

  constructor(scope: Construct, id: string, props: SatelliteStackProps) {
    super(scope, id);
    const env = props.env;
    const rootAlias = env.MAIL_ROOT_ALIAS;
    if (rootAlias !== undefined && !/^[^\s{},=@]+@[^\s{},=@]+$/.test(rootAlias)) {
      throw new PostfixConfigError(
        id,
        'MAIL_ROOT_ALIAS',
        rootAlias,
        'not a single mail address',
        'give one address such as ops@example.org',
      );
    }
    this.host = Presets.satellite(this, 'satellite', {
      connection: connectionFromEnv(env),
      settings: { myhostname: env.MAIL_HOSTNAME ?? 'satellite.example.org' },
      smarthost: {
        relayhost: env.MAIL_SMARTHOST ?? '[smtp.example.net]:587',
        username: env.MAIL_SASL_USER ?? 'relay@example.org',
        passwordEnv: SASL_PASSWORD_VARIABLE,
      },
    });
    // virtual(5): the key `root` matches root@$myorigin, where cron and daemons send.
    if (rootAlias) LookupTable.virtualAlias(this.host, 'root_alias', { type: 'inline', entries: [{ key: 'root', value: rootAlias }] });
  }
}

if (require.main === module) {
  const app = new App();
  new SatelliteStack(app, 'satellite', { env: process.env });
  app.synth();
}
