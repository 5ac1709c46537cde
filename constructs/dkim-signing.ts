import { Construct } from 'constructs';
import { Fn, Token } from './cdk';
import { DkimSigningProps } from '../lib/host/dkim';
import { dkimRecord, TxtRecord } from '../lib/model/dns';
import { PostfixHost } from './postfix-host';
import { MailDnsRecord, mailDnsRecord } from './dns-record';

export type { DkimSigningProps } from '../lib/host/dkim';

/**
 * DKIM signing for one domain through OpenDKIM (Debian's opendkim package must be installed on the
 * host): /etc/opendkim.conf, KeyTable, SigningTable and TrustedHosts, the key (generated on the host
 * or given as a token), opendkim (re)started whenever they change, and Postfix's milter settings.
 */
export class DkimSigning extends Construct {
  readonly domain: string;
  readonly selector: string;
  /** The private key's path on the host. */
  readonly keyPath: string;
  /** True when the key is generated on the host: the DNS record is then not known at synth. */
  readonly keyOnHost: boolean;
  /** The milter address in smtpd_milters / non_smtpd_milters. */
  readonly milter: string;
  /** The DKIM TXT record, when publicKeyPem was given (text or token). */
  readonly dnsRecord?: MailDnsRecord;
  /** @internal the engine's record, for MailDnsRecords' zone text */
  readonly _record?: TxtRecord;
  /** Run as root on the host: prints the `p=` value of the key there (for a host-generated key). */
  readonly publicKeyCommand: string;

  constructor(scope: Construct, id: string, props: DkimSigningProps) {
    super(scope, id);
    const plan = PostfixHost.of(this).builder.addDkimSigning(props, this.node.path);
    this.domain = plan.domain;
    this.selector = plan.selector;
    this.keyPath = plan.keyPath;
    this.keyOnHost = plan.keyOnHost;
    this.milter = plan.milter;
    this.publicKeyCommand = plan.publicKeyCommand;
    if (props.publicKeyPem !== undefined) {
      this._record = publishedRecord(plan.domain, plan.selector, props.publicKeyPem);
      this.dnsRecord = mailDnsRecord(this._record);
    }
  }
}

/**
 * The record from a public key PEM. A token (e.g. tls_private_key.public_key_pem) becomes a Terraform
 * expression that strips the PEM armour and line breaks, leaving the base64 SPKI that `p=` wants
 * (RFC 6376 §3.6.1); such a key is taken to be RSA.
 */
function publishedRecord(domain: string, selector: string, publicKeyPem: string): TxtRecord {
  if (!Token.isUnresolved(publicKeyPem)) return dkimRecord({ domain, selector, publicKeyPem }).record;
  let p: string = publicKeyPem;
  for (const armour of ['-----BEGIN PUBLIC KEY-----', '-----END PUBLIC KEY-----', '\n']) p = Fn.replace(p, armour, '');
  return dkimRecord({ domain, selector, publicKeyData: p, keyType: 'rsa' }).record;
}
