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
 *   MAIL_DKIM_PUBLIC_KEY_FILE  a local PEM public key: the key pair was made elsewhere, so the DKIM
 *                          record is known at synth (output mx_dns_dkim_<selector>). Its private key
 *                          is never read at synth: Terraform reads it at deploy from
 *                          TF_VAR_dkim_private_key (the sensitive variable this stack then declares)
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
 *   MAIL_SPF_IP4           comma-separated ip4: terms besides `mx` in the SPF record; default none
 *   MAIL_TLSA_CERT_FILE    a local copy of the certificate the host serves on port 25 (PEM): adds
 *                          the DANE record `3 1 1 <sha256 of its public key>`; default none
 *   MAIL_MTA_STS_MODE      enforce | testing | none: the _mta-sts record and the policy text
 *                          (output mx_dns_mta_sts_policy); default none published
 *   MAIL_TLSRPT_RUA        a mailto: URI for TLS reports (_smtp._tls); default none
 *   MAIL_TLS_CERT / MAIL_TLS_KEY   certificate and key paths on the host; default Debian's snakeoil pair
 *   MAIL_VIRTUAL_FILE      a local file of virtual(5) aliases in postmap's input format
 *                          (`sales@example.org alice@example.org`): virtual_alias_maps; default none
 *   MAIL_TRANSPORT_FILE    a local file of transport(5) entries (`example.net smtp:[relay.example.net]:25`):
 *                          transport_maps; default none
 * The domain's mail is delivered locally (the domain is in mydestination) unless these redirect it.
 */
import { readFileSync } from 'fs';
import { App, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { DkimSigning, LookupTable, MailDnsRecords, PostfixHost, Postscreen, PostscreenDnsblSite, TlsPolicy } from '../../index';
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
      certificates: [
        {
          certFile: env.MAIL_TLS_CERT ?? '/etc/ssl/certs/ssl-cert-snakeoil.pem',
          keyFile: env.MAIL_TLS_KEY ?? '/etc/ssl/private/ssl-cert-snakeoil.key',
        },
      ],
    });
    new Postscreen(this.host, 'postscreen', {
      greetWait: env.MAIL_GREET_WAIT,
      chroot: env.MAIL_POSTSCREEN_CHROOT !== 'no',
      dnsblSites: parseDnsblSites(env.MAIL_DNSBL_SITES),
      dnsblThreshold: env.MAIL_DNSBL_THRESHOLD ? Number(env.MAIL_DNSBL_THRESHOLD) : undefined,
    });
    if (env.MAIL_VIRTUAL_FILE) LookupTable.virtualAlias(this.host, 'virtual', { fromFile: env.MAIL_VIRTUAL_FILE });
    if (env.MAIL_TRANSPORT_FILE) LookupTable.transport(this.host, 'transport', { fromFile: env.MAIL_TRANSPORT_FILE });
    const dir = env.MAIL_DKIM_DIR;
    const publicKeyFile = env.MAIL_DKIM_PUBLIC_KEY_FILE;
    this.dkim = new DkimSigning(this.host, 'dkim', {
      domain,
      selector: env.MAIL_DKIM_SELECTOR ?? 'mail',
      // A key pair made elsewhere: the public half is read now, the private half at deploy only.
      ...(publicKeyFile
        ? {
            publicKeyPem: readLocal(id, 'MAIL_DKIM_PUBLIC_KEY_FILE', publicKeyFile),
            privateKeyPem: new TerraformVariable(this, DKIM_PRIVATE_KEY_VARIABLE, {
              type: 'string',
              sensitive: true,
              description: 'DKIM private key PEM (set TF_VAR_dkim_private_key)',
            }).stringValue,
          }
        : {}),
      inetPort: env.MAIL_DKIM_PORT ? Number(env.MAIL_DKIM_PORT) : undefined,
      dataDirectory: dir,
      configPath: dir ? `${dir}/opendkim.conf` : undefined,
    });
    this.dns = new MailDnsRecords(this.host, 'dns', {
      domain,
      mxHost: hostname,
      spf: env.MAIL_SPF_IP4 ? { ip4: env.MAIL_SPF_IP4.split(',').map((s) => s.trim()) } : undefined,
      dmarc: { p: env.MAIL_DMARC_POLICY ?? 'none', rua: env.MAIL_DMARC_RUA ? [env.MAIL_DMARC_RUA] : undefined },
      dkim: [this.dkim],
      tlsa: env.MAIL_TLSA_CERT_FILE ? [{ certificatePem: readLocal(id, 'MAIL_TLSA_CERT_FILE', env.MAIL_TLSA_CERT_FILE) }] : undefined,
      mtaSts: env.MAIL_MTA_STS_MODE ? { mode: env.MAIL_MTA_STS_MODE } : undefined,
      tlsRptRua: env.MAIL_TLSRPT_RUA ? [env.MAIL_TLSRPT_RUA] : undefined,
      outputPrefix: 'mx_dns',
    });
  }
}

/** The Terraform variable that carries the DKIM private key when MAIL_DKIM_PUBLIC_KEY_FILE is given. */
export const DKIM_PRIVATE_KEY_VARIABLE = 'dkim_private_key';

function readLocal(where: string, name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new PostfixConfigError(
      where,
      name,
      path,
      `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      'give the path of a readable local PEM file',
    );
  }
}

/** `domain[=filter][*weight]`, comma-separated, as postconf(5) writes postscreen_dnsbl_sites. */
export function parseDnsblSites(text: string | undefined): PostscreenDnsblSite[] | undefined {
  if (!text?.trim()) return undefined;
  return text.split(',').map((item) => {
    const m = /^\s*([^=*\s]+)(?:=([^*\s]+))?(?:\*(-?\d+))?\s*$/.exec(item);
    if (!m)
      throw new PostfixConfigError(
        'examples/inbound-mx',
        'MAIL_DNSBL_SITES',
        item,
        'is not domain[=filter][*weight]',
        'write e.g. zen.spamhaus.org=127.0.0.[2..11]*3',
      );
    return { domain: m[1], filter: m[2], weight: m[3] === undefined ? undefined : Number(m[3]) };
  });
}

if (require.main === module) {
  const app = new App();
  new InboundMxStack(app, 'inbound-mx', { env: process.env });
  app.synth();
}
