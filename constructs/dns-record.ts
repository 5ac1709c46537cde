import { DnsRecord } from '../lib/model/dns';

/**
 * One DNS record as the constructs expose it: one flat shape that jsii can carry to every language
 * (the engine's own records are a union with literal types). The fields of the other types are absent.
 */
export interface MailDnsRecord {
  /** Fully qualified owner name without the trailing dot, lower case: `_dmarc.example.org`. */
  readonly name: string;
  /** `MX`, `TXT` or `TLSA`. */
  readonly type: string;
  readonly ttl: number;
  /** The record data in presentation form: `10 mx1.example.org.`, the TXT text, `3 1 1 <hex>`. */
  readonly value: string;
  /** What it is for (`mx`, `spf`, `dmarc`, `dkim`, `tlsa`, `mta-sts`, `tlsrpt`, ...), stable for output names. */
  readonly purpose: string;
  /** True when the value still holds a token that Terraform resolves at deploy time. */
  readonly deferred: boolean;
  /** MX: the preference. @default - not an MX record */
  readonly preference?: number;
  /** MX: the mail exchanger, without trailing dot. @default - not an MX record */
  readonly exchange?: string;
  /** TXT: the text in character-strings of at most 255 octets (RFC 1035 §3.3.14). @default - not a TXT record */
  readonly chunks?: string[];
  /** TLSA: certificate usage, selector and matching type (3 1 1, RFC 7672 §3.1). @default - not a TLSA record */
  readonly usage?: number;
  readonly selector?: number;
  readonly matchingType?: number;
  /** TLSA: lower-case hex SHA-256 of the DER SubjectPublicKeyInfo. @default - not a TLSA record */
  readonly certificateAssociationData?: string;
}

export function mailDnsRecord(r: DnsRecord): MailDnsRecord {
  const common = { name: r.name, type: r.type, ttl: r.ttl, value: r.value, purpose: r.purpose, deferred: r.deferred };
  switch (r.type) {
    case 'MX':
      return { ...common, preference: r.preference, exchange: r.exchange };
    case 'TXT':
      return { ...common, chunks: [...r.chunks] };
    case 'TLSA':
      return {
        ...common,
        usage: r.usage,
        selector: r.selector,
        matchingType: r.matchingType,
        certificateAssociationData: r.certificateAssociationData,
      };
  }
}
