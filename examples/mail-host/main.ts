/**
 * One mail host, configured the way the seed page intends, the 2026 way. The target comes from the
 * environment so the same program deploys to a lab host, a VM or production:
 *   MAIL_HOST         address or address:port (synth alone works with the placeholder)
 *   MAIL_SSH_USER     default root
 *   MAIL_SSH_KEY      private key path; default ssh-agent
 *   MAIL_KNOWN_HOSTS  default ~/.ssh/known_hosts
 *   MAIL_HOSTNAME     the host's myhostname; default mail.example.org
 *   MAIL_TLS_CERT / MAIL_TLS_KEY   certificate and key paths on the host; default Debian's snakeoil pair
 *   MAIL_BLACKLIST    a file with one blacklist entry a line (the seed page's blacklist); default: one entry in code
 */
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { PostfixHost, Submission, Submissions, TlsLint, TlsPolicy } from '../../index';
import { addSeedPolicy } from './policy';
import { connectionFromEnv } from '../connection-from-env';

export interface MailHostStackProps {
  readonly env: NodeJS.ProcessEnv;
}

export class MailHostStack extends TerraformStack {
  readonly host: PostfixHost;

  constructor(scope: Construct, id: string, props: MailHostStackProps) {
    super(scope, id);
    const env = props.env;
    const hostname = env.MAIL_HOSTNAME ?? 'mail.example.org';
    this.host = new PostfixHost(this, 'mx', {
      connection: connectionFromEnv(env),
      settings: {
        myhostname: hostname,
        smtpd_banner: '$myhostname ESMTP',
      },
      // Seed page: smtpd_use_tls/smtp_use_tls = yes. Obsolete since Postfix 2.3; the security levels
      // that TlsPolicy sets replace them, so they are removed if the host's main.cf still has them.
      removeSettings: ['smtpd_use_tls', 'smtp_use_tls'],
    });
    // Seed page: "enable submission (587) and smtps (465)". 465 is "submissions" since RFC 8314;
    // both require TLS, and only local networks (or SASL users, once configured) may relay.
    this.host.addService(Submission.starttls());
    this.host.addService(Submissions.implicitTls());

    // Seed page: SSLv3/TLSv1 as mandatory protocols, 512/1024-bit DH files, smtpd_tls_eecdh_grade,
    // tls_preempt_cipherlist = yes. Today: Mozilla's "intermediate" profile (TLS 1.2+, ECDHE AEAD
    // ciphers, server order off); no custom DH files (OpenSSL 3 uses the RFC 7919 groups, and the
    // profile has no DHE suites anyway); port 25 stays opportunistic, submission requires TLS.
    new TlsPolicy(this.host, 'tls', {
      certificates: [
        {
          certFile: env.MAIL_TLS_CERT ?? '/etc/ssl/certs/ssl-cert-snakeoil.pem',
          keyFile: env.MAIL_TLS_KEY ?? '/etc/ssl/private/ssl-cert-snakeoil.key',
        },
      ],
    });

    // Seed page: message size, blacklist, header censoring, per-home forwarding (see policy.ts for
    // where and why each departs from the page).
    addSeedPolicy(this.host, {
      messageSize: '25MB',
      blacklist: env.MAIL_BLACKLIST ? { fromFile: env.MAIL_BLACKLIST } : { entries: { 'spam@bad.example': 'REJECT' } },
    });
  }
}

if (require.main === module) {
  const app = new App();
  new MailHostStack(app, 'mail', { env: process.env });
  TlsLint.addTo(app);
  app.synth();
}
