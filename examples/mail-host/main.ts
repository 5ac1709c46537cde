/**
 * One mail host, configured the way the seed page intends, the 2026 way. The target comes from the
 * environment so the same program deploys to a lab host, a VM or production:
 *   MAIL_HOST         address or address:port (required for deploy; synth uses a placeholder)
 *   MAIL_SSH_USER     default root
 *   MAIL_SSH_KEY      private key path; default ssh-agent
 *   MAIL_KNOWN_HOSTS  default ~/.ssh/known_hosts
 *   MAIL_HOSTNAME     the host's myhostname; default mail.example.org
 */
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { PostfixHost, Submission, Submissions } from '../../index';

export interface MailHostStackProps {
  readonly env: NodeJS.ProcessEnv;
}

export class MailHostStack extends TerraformStack {
  readonly host: PostfixHost;

  constructor(scope: Construct, id: string, props: MailHostStackProps) {
    super(scope, id);
    const env = props.env;
    const [address, port] = (env.MAIL_HOST ?? 'mail.example.org').split(':');
    const hostname = env.MAIL_HOSTNAME ?? 'mail.example.org';
    this.host = new PostfixHost(this, 'mx', {
      connection: {
        host: address,
        port: port ? Number(port) : undefined,
        user: env.MAIL_SSH_USER ?? 'root',
        privateKeyPath: env.MAIL_SSH_KEY || undefined,
        knownHostsPath: env.MAIL_KNOWN_HOSTS || undefined,
      },
      settings: {
        myhostname: hostname,
        // Seed page: "message_size_limit = 25000000" (25 MB). Written as bytes, as Postfix stores it.
        message_size_limit: 25_000_000,
        smtpd_banner: '$myhostname ESMTP',
      },
    });
    // Seed page: "enable submission (587) and smtps (465)". 465 is "submissions" since RFC 8314;
    // both require TLS, and only local networks (or SASL users, once configured) may relay.
    this.host.addService(Submission.starttls());
    this.host.addService(Submissions.implicitTls());
  }
}

if (require.main === module) {
  const app = new App();
  new MailHostStack(app, 'mail', { env: process.env });
  app.synth();
}
