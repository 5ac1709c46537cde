import { Construct } from 'constructs';
import { DnsRecord, mailHostDns, MailHostDnsInput, zoneText } from '../lib/model/dns';
import { PostfixConfigError } from '../lib/model/errors';
import { DkimSigning } from './dkim-signing';
import { MailDnsRecord, mailDnsRecord } from './dns-record';
import { outputName, uniqueOutput } from './outputs';
import { PostfixHost } from './postfix-host';

export type { MailDnsRecord } from './dns-record';

/** SPF terms besides the domain (RFC 7208); `v=spf1 mx -all` when none are given. */
export interface MailSpfProps {
  readonly mx?: boolean;
  readonly a?: string[];
  readonly ip4?: string[];
  readonly ip6?: string[];
  readonly include?: string[];
  readonly mechanisms?: string[];
  /** "-all", "~all" or "?all". @default "-all" */
  readonly all?: string;
}

/** DMARC (RFC 7489): p is none, quarantine or reject. */
export interface MailDmarcProps {
  readonly p: string;
  readonly sp?: string;
  readonly rua?: string[];
  readonly ruf?: string[];
  readonly pct?: number;
  /** "r" or "s". */
  readonly adkim?: string;
  readonly aspf?: string;
}

/** One TLSA `3 1 1` record: from the certificate or public key PEM (text), or the SPKI hash (a token is fine). */
export interface MailTlsaProps {
  readonly certificatePem?: string;
  readonly publicKeyPem?: string;
  readonly spkiSha256?: string;
  /** @default 25 */
  readonly port?: number;
}

/** MTA-STS (RFC 8461): mode enforce, testing or none; mx defaults to the host's mxHost. */
export interface MailMtaStsProps {
  readonly mode: string;
  readonly mx?: string[];
  readonly maxAge?: number;
  readonly id?: string;
}

export interface MailDnsRecordsProps {
  /** The mail domain (`example.org`). */
  readonly domain: string;
  /**
   * This host's name as the MX record names it (`mx1.example.org`).
   * @default - the enclosing PostfixHost's myhostname (when the records are created inside a host that sets it)
   */
  readonly mxHost?: string;
  /** @default 3600 */
  readonly ttl?: number;
  /** @default 10 */
  readonly mxPreference?: number;
  /** No MX record (a send-only host). @default false */
  readonly sendOnly?: boolean;
  /** @default `v=spf1 mx -all` */
  readonly spf?: MailSpfProps;
  /** No SPF record (another stack publishes it). @default false */
  readonly omitSpf?: boolean;
  /** @default - no DMARC record */
  readonly dmarc?: MailDmarcProps;
  /** DKIM records from these signers (those given a publicKeyPem). @default - none */
  readonly dkim?: DkimSigning[];
  /** @default - no TLSA record */
  readonly tlsa?: MailTlsaProps[];
  /** @default - no MTA-STS */
  readonly mtaSts?: MailMtaStsProps;
  /** TLS reporting addresses (`_smtp._tls`). @default - no TLSRPT record */
  readonly tlsRptRua?: string[];
  /** Prefix of the Terraform output names. @default the construct id */
  readonly outputPrefix?: string;
}

/**
 * The DNS records a mail host needs, typed (`records`) and as Terraform outputs a DNS provider's
 * resources (or another stack) can consume: one output `<prefix>_<key>` per record holding
 * `{ name, type, ttl, value }` (keys: mx, spf, dmarc, dkim_<selector>, tlsa_<n>, mta_sts, tlsrpt),
 * `<prefix>_zone` with all of them in zone-file form, `<prefix>_mta_sts_policy` with the policy
 * file, and for a DKIM key generated on the host `<prefix>_dkim_<selector>_command`: the command
 * that prints its `p=` value there (the key is born on the host, so synth cannot know it).
 */
export class MailDnsRecords extends Construct {
  /** Records by key, in the order mx, spf, dmarc, dkim-*, tlsa-*, mta-sts, tlsrpt. */
  readonly records: { readonly [key: string]: MailDnsRecord };
  readonly mtaStsPolicy?: string;
  readonly warnings: string[];

  constructor(scope: Construct, id: string, props: MailDnsRecordsProps) {
    super(scope, id);
    const built = atPath(this.node.path, () => mailHostDns(toInput(props, mxHostOf(this, props))));
    const records: Record<string, DnsRecord> = { ...built.records };
    const commands: Record<string, string> = {};
    for (const signer of props.dkim ?? []) {
      if (records[`dkim-${signer.selector}`] || commands[`dkim-${signer.selector}-command`]) {
        throw new PostfixConfigError(
          this.node.path,
          'MailDnsRecords.dkim',
          signer.selector,
          'names a selector twice',
          'give each DkimSigning its own selector',
        );
      }
      if (signer._record === undefined) commands[`dkim-${signer.selector}-command`] = signer.publicKeyCommand;
      else records[`dkim-${signer.selector}`] = signer._record;
    }
    this.records = Object.fromEntries(Object.entries(records).map(([key, r]) => [key, mailDnsRecord(r)]));
    this.mtaStsPolicy = built.mtaStsPolicy?.text;
    this.warnings = [...built.warnings];
    const prefix = props.outputPrefix ?? id;
    const output = (key: string, value: unknown, description: string): void => {
      uniqueOutput(this, key, outputName(this.node.path, 'outputPrefix', prefix, key), 'outputPrefix', { value, description });
    };
    for (const [key, r] of Object.entries(records))
      output(key, { name: r.name, type: r.type, ttl: r.ttl, value: r.value }, `${r.type} record ${r.name}`);
    output('zone', zoneText(Object.values(records)), 'every record in zone-file form');
    if (built.mtaStsPolicy) output('mta-sts-policy', built.mtaStsPolicy.text, `serve at ${built.mtaStsPolicy.url}`);
    for (const [key, command] of Object.entries(commands))
      output(key, command, 'run as root on the host; prints the p= value of the host-generated DKIM key');
  }
}

function atPath<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof PostfixConfigError && e.where === '' ? e.at(where) : e;
  }
}

/** props.mxHost, else the myhostname of the PostfixHost the records belong to. */
function mxHostOf(scope: Construct, props: MailDnsRecordsProps): string {
  if (props.mxHost !== undefined) return props.mxHost;
  const host = scope.node.scopes.find((s): s is PostfixHost => s instanceof PostfixHost);
  const hostname = host?.hostname;
  if (hostname === undefined) {
    throw new PostfixConfigError(
      scope.node.path,
      'MailDnsRecords.mxHost',
      undefined,
      host
        ? `is not given, and ${host.node.path} sets no literal myhostname to take it from`
        : 'is not given, and the records are not inside a PostfixHost to take it from',
      'give mxHost (e.g. "mx1.example.org"), or set myhostname in the host\'s settings and create the records inside that host',
    );
  }
  return hostname;
}

function toInput(props: MailDnsRecordsProps, mxHost: string): MailHostDnsInput {
  if (props.sendOnly && props.mtaSts) {
    throw new PostfixConfigError(
      '',
      'MailDnsRecords.mtaSts',
      props.mtaSts.mode,
      'is set for a send-only host (sendOnly: true), which receives no mail',
      "leave mtaSts out, or publish it from the stack of the domain's MX",
    );
  }
  return {
    domain: props.domain,
    mxHost,
    ttl: props.ttl,
    mx: props.sendOnly ? false : { preference: props.mxPreference },
    spf: props.omitSpf ? false : (props.spf as MailHostDnsInput['spf']),
    dmarc: props.dmarc as MailHostDnsInput['dmarc'],
    tlsa: props.tlsa,
    mtaSts: props.mtaSts as MailHostDnsInput['mtaSts'],
    tlsRptRua: props.tlsRptRua,
  };
}
