/**
 * The typed DNS records a mail host needs, in the shape DNS provider resources take them: an owner
 * name, a type, a TTL, the exact value text, and per type the structured fields (MX preference and
 * exchange, TXT chunks, TLSA parameters). Values may hold deferred parts (see isDeferred); then
 * `deferred` is true and the chunking of TXT values is left to the provider.
 */
import { isDeferred } from './names';

interface RecordBase {
  /** Fully qualified owner name without the trailing dot, lower case: `_dmarc.example.org`. */
  readonly name: string;
  readonly ttl: number;
  /** What the record is for, one short phrase (`dkim`, `spf`, ...), stable for output names. */
  readonly purpose: RecordPurpose;
  /** True when the value still holds a token the construct layer resolves at deploy time. */
  readonly deferred: boolean;
}

export type RecordPurpose = 'mx' | 'spf' | 'dmarc' | 'dkim' | 'tlsa' | 'mta-sts' | 'tlsrpt' | 'dmarc-report-authorization';

export interface MxRecord extends RecordBase {
  readonly type: 'MX';
  readonly preference: number;
  /** The mail exchanger host, without trailing dot. */
  readonly exchange: string;
  /** `10 mx1.example.org.` (RFC 1035 §3.3.9 presentation form). */
  readonly value: string;
}

export interface TxtRecord extends RecordBase {
  readonly type: 'TXT';
  /** The whole text as one string (what a resolver's client joins the chunks into). */
  readonly value: string;
  /**
   * The text split into character-strings of at most 255 octets (RFC 1035 §3.3.14), for providers
   * that take one string per chunk. A deferred value is one chunk: its length is unknown at synth.
   */
  readonly chunks: readonly string[];
}

export interface TlsaRecord extends RecordBase {
  readonly type: 'TLSA';
  /** RFC 7672 §3.1: DANE-EE(3) is the usage SMTP servers should publish. */
  readonly usage: 3;
  /** SPKI(1): the hash covers the public key only, so a renewal with the same key keeps the record. */
  readonly selector: 1;
  /** SHA2-256(1). */
  readonly matchingType: 1;
  /** Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo. */
  readonly certificateAssociationData: string;
  /** `3 1 1 <hex>` (RFC 6698 §2.2). */
  readonly value: string;
}

export type DnsRecord = MxRecord | TxtRecord | TlsaRecord;

/** RFC 1035 §3.3: a <character-string> is one length octet and at most 255 octets of text. */
export const TXT_CHUNK_OCTETS = 255;

/**
 * Split text into chunks of at most 255 UTF-8 octets, never inside a multi-byte character.
 * Receivers join the chunks without separators (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
 */
export function splitTxt(text: string): string[] {
  if (isDeferred(text)) return [text];
  const chunks: string[] = [];
  let current = '';
  let octets = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (octets + size > TXT_CHUNK_OCTETS) {
      chunks.push(current);
      current = '';
      octets = 0;
    }
    current += ch;
    octets += size;
  }
  chunks.push(current);
  return chunks;
}

export function txtRecord(purpose: RecordPurpose, name: string, ttl: number, value: string): TxtRecord {
  return { type: 'TXT', purpose, name, ttl, value, chunks: splitTxt(value), deferred: isDeferred(value) };
}

/** A character-string in zone-file form: quoted, with `"` and `\` escaped (RFC 1035 §5.1). */
function quote(chunk: string): string {
  return `"${chunk.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The record's RDATA in zone-file presentation form; TXT values become quoted chunks. */
export function rdata(record: DnsRecord): string {
  return record.type === 'TXT' ? record.chunks.map(quote).join(' ') : record.value;
}

/** One zone-file line: `name. TTL IN TYPE rdata`, for review, BIND-style zones and docs. */
export function zoneLine(record: DnsRecord): string {
  return `${record.name}. ${record.ttl} IN ${record.type} ${rdata(record)}`;
}

/** All records as a zone-file fragment, one line each, ending in a newline. */
export function zoneText(records: readonly DnsRecord[]): string {
  return records.map((r) => `${zoneLine(r)}\n`).join('');
}
