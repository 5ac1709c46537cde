/**
 * An inbound MX for one mail domain: port 25 behind postscreen, no submission and no relay for
 * strangers, outgoing mail (bounces, local mail) DKIM-signed, and every DNS record the domain needs
 * as Terraform outputs. The target comes from the environment, as in examples/mail-host:
 *   MAIL_HOST, MAIL_SSH_USER, MAIL_SSH_KEY, MAIL_KNOWN_HOSTS   see examples/connection-from-env.ts
 *   MAIL_HOSTNAME          the host's myhostname and the MX target; default mx1.<MAIL_DOMAIN>
 * Other inputs:
 *   MAIL_DOMAIN            the mail domain; default example.org
 *   MAIL_DKIM_SELECTOR     DKIM selector (one DNS label); default mail. The key is generated on the
 *                          host; the output mx_dns_dkim_<selector>_command prints its p= value there
 *   MAIL_DKIM_PORT         port opendkim listens on (localhost); default 8891
 *   MAIL_DKIM_DIR          OpenDKIM's directory; default /etc/opendkim (opendkim.conf sits in it
 *                          when set, else /etc/opendkim.conf)
 *   MAIL_GREET_WAIT        postscreen_greet_wait; default 6s
 *   MAIL_POSTSCREEN_CHROOT "no" when the host has no chroot jail for postscreen and smtpd; default yes
 *   MAIL_DNSBL_SITES       comma-separated postscreen_dnsbl_sites, each domain[=filter][*weight],
 *                          e.g. "zen.spamhaus.org=127.0.0.[2..11]*3,bl.spamcop.net"; default none
 *   MAIL_DNSBL_THRESHOLD   default 1
 *   MAIL_DMARC_POLICY      none | quarantine | reject; default none
 *   MAIL_DMARC_RUA         a mailto: URI for aggregate reports; default none
 *   MAIL_TLS_CERT / MAIL_TLS_KEY   certificate and key paths on the host; default Debian's snakeoil pair
 *   MAIL_VIRTUAL_FILE / MAIL_TRANSPORT_FILE   TODO(lookup-table): virtual aliases and transports in
 *                          postmap's input format, once the LookupTable construct lands; until then
 *                          the domain is delivered locally (mydestination) and these are refused.
 */
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { DkimSigning, MailDnsRecords, PostfixHost, Postscreen, PostscreenDnsblSite, TlsPolicy } from '../../index';
import { PostfixConfigError } from '../../lib/model/errors';
import { connectionFromEnv } from '../connection-from-env';

export interface InboundMxStackProps {
  readonly env: NodeJS.ProcessEnv;
}

export class InboundMxStack extends TerraformStack {
  readonly host: PostfixHost;
  readonly dkim: DkimSigning;
  readonly dns: MailDnsRecords;

  constructor(scope: Construct, id: string, props: InboundMxStackProps) {
    super(scope, id);
    const env = props.env;
    const domain = env.MAIL_DOMAIN ?? 'example.org';
    const hostname = env.MAIL_HOSTNAME ?? `mx1.${domain}`;
    for (const name of ['MAIL_VIRTUAL_FILE', 'MAIL_TRANSPORT_FILE']) {
      // TODO(lookup-table): feed these into the LookupTable construct (virtual_alias_maps, transport_maps).
      if (env[name]) throw new PostfixConfigError(id, name, env[name], 'is not supported yet (virtual aliases and transports need the LookupTable construct)', `unset ${name}; mail for ${domain} is delivered locally for now`);
    }
    this.host = new PostfixHost(this, 'mx', {
      connection: connectionFromEnv(env),
      settings: {
        myhostname: hostname,
        smtpd_banner: '$myhostname ESMTP',
        // Inbound only: the domain is ours; strangers may send to it and nowhere else.
        mydestination: `$myhostname, localhost, ${domain}`,
        smtpd_relay_restrictions: 'permit_mynetworks, reject_unauth_destination',
      },
    });
    new TlsPolicy(this.host, 'tls', {
      certificates: [{ certFile: env.MAIL_TLS_CERT ?? '/etc/ssl/certs/ssl-cert-snakeoil.pem', keyFile: env.MAIL_TLS_KEY ?? '/etc/ssl/private/ssl-cert-snakeoil.key' }],
    });
    new Postscreen(this.host, 'postscreen', {
      greetWait: env.MAIL_GREET_WAIT,
      chroot: env.MAIL_POSTSCREEN_CHROOT !== 'no',
      dnsblSites: parseDnsblSites(env.MAIL_DNSBL_SITES),
      dnsblThreshold: env.MAIL_DNSBL_THRESHOLD ? Number(env.MAIL_DNSBL_THRESHOLD) : undefined,
    });
    const dir = env.MAIL_DKIM_DIR;
    this.dkim = new DkimSigning(this.host, 'dkim', {
      domain,
      selector: env.MAIL_DKIM_SELECTOR ?? 'mail',
      inetPort: env.MAIL_DKIM_PORT ? Number(env.MAIL_DKIM_PORT) : undefined,
      dataDirectory: dir,
      configPath: dir ? `${dir}/opendkim.conf` : undefined,
    });
    this.dns = new MailDnsRecords(this.host, 'dns', {
      domain,
      mxHost: hostname,
      dmarc: { p: env.MAIL_DMARC_POLICY ?? 'none', rua: env.MAIL_DMARC_RUA ? [env.MAIL_DMARC_RUA] : undefined },
      dkim: [this.dkim],
      outputPrefix: 'mx_dns',
    });
  }
}

/** `domain[=filter][*weight]`, comma-separated, as postconf(5) writes postscreen_dnsbl_sites. */
export function parseDnsblSites(text: string | undefined): PostscreenDnsblSite[] | undefined {
  if (!text?.trim()) return undefined;
  return text.split(',').map((item) => {
    const m = /^\s*([^=*\s]+)(?:=([^*\s]+))?(?:\*(-?\d+))?\s*$/.exec(item);
    if (!m) throw new PostfixConfigError('examples/inbound-mx', 'MAIL_DNSBL_SITES', item, 'is not domain[=filter][*weight]', 'write e.g. zen.spamhaus.org=127.0.0.[2..11]*3');
    return { domain: m[1], filter: m[2], weight: m[3] === undefined ? undefined : Number(m[3]) };
  });
}

if (require.main === module) {
  const app = new App();
  new InboundMxStack(app, 'inbound-mx', { env: process.env });
  app.synth();
}
