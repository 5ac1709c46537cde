/**
 * examples/inbound-mx with its DNS published: every record MailDnsRecords computes for the host is
 * fed into a record resource of @cdktf/provider-dns (hashicorp/dns: RFC 2136 dynamic updates, signed
 * with TSIG, to the zone's primary server). Takes every input of examples/inbound-mx (the target,
 * MAIL_DOMAIN, MAIL_DKIM_*, MAIL_DMARC_*, MAIL_SPF_IP4, MAIL_TLSA_CERT_FILE, MAIL_MTA_STS_MODE,
 * MAIL_TLSRPT_RUA...) and these:
 *   MAIL_DNS_ZONE          the zone the records go into; default MAIL_DOMAIN
 *   MAIL_DNS_SERVER        the zone's primary (RFC 2136 updates); default 127.0.0.1
 *   MAIL_DNS_KEY_NAME      TSIG key name, e.g. "mail-stack."; default none (unsigned updates)
 *   MAIL_DNS_KEY_ALGORITHM TSIG algorithm; default hmac-sha256
 *   The TSIG secret is never read at synth: Terraform reads it at deploy from TF_VAR_dns_key_secret,
 *   the sensitive variable this stack declares when MAIL_DNS_KEY_NAME is given.
 * Publish a DKIM record only for a key known at synth: give MAIL_DKIM_PUBLIC_KEY_FILE (the private
 * key through TF_VAR_dkim_private_key). A key generated on the host has no record here; its output
 * mx_dns_dkim_<selector>_command prints the value to publish.
 * hashicorp/dns has no TLSA resource: the DANE record stays in the outputs mx_dns_tlsa_<n> and
 * mx_dns_zone (zone-file form) for a provider that has one, or for the zone file.
 */
import { App, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { mxRecordSet, provider, txtRecordSet } from '@cdktf/provider-dns';
import { MailDnsRecord, PostfixConfigError } from '../../index';
import { InboundMxStack, InboundMxStackProps } from '../inbound-mx/main';

/** The Terraform variable that carries the TSIG secret (TF_VAR_dns_key_secret). */
export const DNS_KEY_SECRET_VARIABLE = 'dns_key_secret';

export class DnsRecordsStack extends InboundMxStack {
  /** The provider-dns resources, by record key (mx, spf, dmarc, dkim-<selector>, mta-sts, tlsrpt). */
  readonly dnsResources: Record<string, mxRecordSet.MxRecordSet | txtRecordSet.TxtRecordSet> = {};
  /** Records no provider-dns resource can hold (TLSA), by key. */
  readonly unpublished: string[] = [];

  constructor(scope: Construct, id: string, props: InboundMxStackProps) {
    super(scope, id, props);
    const env = props.env;
    const zone = (env.MAIL_DNS_ZONE ?? env.MAIL_DOMAIN ?? 'example.org').replace(/\.$/, '').toLowerCase();
    const keyName = env.MAIL_DNS_KEY_NAME;
    new provider.DnsProvider(this, 'dns', {
      update: [
        {
          server: env.MAIL_DNS_SERVER ?? '127.0.0.1',
          ...(keyName
            ? {
                keyName: keyName.endsWith('.') ? keyName : `${keyName}.`,
                keyAlgorithm: env.MAIL_DNS_KEY_ALGORITHM ?? 'hmac-sha256',
                keySecret: new TerraformVariable(this, DNS_KEY_SECRET_VARIABLE, {
                  type: 'string',
                  sensitive: true,
                  description: 'TSIG secret for RFC 2136 updates (set TF_VAR_dns_key_secret)',
                }).stringValue,
              }
            : {}),
        },
      ],
    });
    for (const [key, record] of Object.entries(this.dns.records)) {
      const made = recordResource(this, `record_${key.replace(/-/g, '_')}`, zone, record);
      if (made) this.dnsResources[key] = made;
      else this.unpublished.push(key);
    }
  }
}

/**
 * One provider-dns resource for a record, or undefined for a type hashicorp/dns cannot hold. The
 * provider takes the zone as an FQDN with the trailing dot and the name relative to it (none at the
 * apex). A TXT record is one element of `txt`: the provider makes one TXT record per element and
 * joins a record's character-strings when it reads it back, so a DKIM key longer than 255 octets is
 * one element too.
 */
export function recordResource(
  scope: Construct,
  id: string,
  zone: string,
  record: MailDnsRecord,
): mxRecordSet.MxRecordSet | txtRecordSet.TxtRecordSet | undefined {
  const where = { zone: `${zone}.`, name: relativeName(scope.node.path, zone, record.name), ttl: record.ttl };
  switch (record.type) {
    case 'MX':
      return new mxRecordSet.MxRecordSet(scope, id, {
        ...where,
        mx: [{ preference: record.preference!, exchange: `${record.exchange!}.` }],
      });
    case 'TXT':
      return new txtRecordSet.TxtRecordSet(scope, id, { ...where, txt: [record.value] });
    default:
      return undefined;
  }
}

function relativeName(where: string, zone: string, name: string): string | undefined {
  if (name === zone) return undefined;
  if (name.endsWith(`.${zone}`)) return name.slice(0, -zone.length - 1);
  throw new PostfixConfigError(
    where,
    'MAIL_DNS_ZONE',
    zone,
    `does not contain the record ${name}`,
    `give the zone that holds ${name} (e.g. its mail domain), or leave MAIL_DNS_ZONE unset`,
  );
}

if (require.main === module) {
  const app = new App();
  new DnsRecordsStack(app, 'dns-records', { env: process.env });
  app.synth();
}
