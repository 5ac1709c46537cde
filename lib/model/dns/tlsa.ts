/**
 * DANE for SMTP (RFC 7672): a TLSA record `3 1 1 <sha256>` at `_25._tcp.<mx host>` (RFC 6698 §3)
 * pins the MX host's public key. Usage 3 (DANE-EE) with selector 1 (SPKI) survives certificate
 * renewals that keep the key, and RFC 7672 §3.1.1 asks SMTP servers to publish exactly this form.
 * It only protects when the zone is DNSSEC-signed (RFC 7672 §2.2).
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { dnsError, describeSecret, isDeferred, ownerName, validateDomain, validateIntRange, validateTtl } from './names';
import { TlsaRecord } from './record';
import { Built } from './built';

export interface TlsaInput {
  /** The MX host name clients connect to (the MX record's exchange). */
  readonly mxHost: string;
  /** Exactly one of: the certificate PEM (the first certificate of a chain file is the leaf), */
  readonly certificatePem?: string;
  /** a public key PEM (or private key PEM, whose public half is used), */
  readonly publicKeyPem?: string;
  /** or the hex SHA-256 of the DER SubjectPublicKeyInfo, usually a deferred token. */
  readonly spkiSha256?: string;
  /** SMTP port; 25 unless the MX listens elsewhere. */
  readonly port?: number;
  readonly ttl?: number;
}

export function tlsaRecord(input: TlsaInput): Built<TlsaRecord> {
  const host = validateDomain(input.mxHost, 'tlsa.mxHost');
  const port = validateIntRange(input.port ?? 25, 'tlsa.port', 1, 65535, 'use 25, the port DANE for SMTP covers (RFC 7672 §3)');
  const data = associationData(input);
  const record: TlsaRecord = {
    type: 'TLSA',
    purpose: 'tlsa',
    name: ownerName(`_${port}._tcp`, host, 'tlsa.mxHost'),
    ttl: validateTtl(input.ttl, 'tlsa.ttl'),
    usage: 3,
    selector: 1,
    matchingType: 1,
    certificateAssociationData: data,
    value: `3 1 1 ${data}`,
    deferred: isDeferred(data) || isDeferred(host),
  };
  return { record, warnings: [] };
}

function associationData(input: TlsaInput): string {
  const given = [input.certificatePem, input.publicKeyPem, input.spkiSha256].filter((s) => s !== undefined);
  if (given.length !== 1) {
    throw dnsError(
      'tlsa.certificatePem',
      undefined,
      `needs exactly one key source, got ${given.length}`,
      'give one of certificatePem, publicKeyPem or spkiSha256',
    );
  }
  if (input.spkiSha256 !== undefined) return checkHash(input.spkiSha256);
  if (input.certificatePem !== undefined) return spkiSha256OfCertificate(input.certificatePem);
  return spkiSha256OfKey(String(input.publicKeyPem));
}

/**
 * SHA-256 of the DER SubjectPublicKeyInfo of the first certificate in the text, lower-case hex.
 * The text may be a chain file in smtpd_tls_chain_files form (postconf(5): key first, then the
 * leaf certificate, then its issuers): only the first CERTIFICATE block is read.
 */
export function spkiSha256OfCertificate(pem: string, field = 'tlsa.certificatePem'): string {
  let cert: X509Certificate;
  try {
    const first = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(pem);
    cert = new X509Certificate(first ? first[0] : pem);
  } catch {
    throw dnsError(
      field,
      describeSecret(pem),
      'is not a PEM certificate',
      'give the text of the -----BEGIN CERTIFICATE----- block the MX host serves',
    );
  }
  return sha256Hex(cert.publicKey.export({ type: 'spki', format: 'der' }));
}

export function spkiSha256OfKey(pem: string, field = 'tlsa.publicKeyPem'): string {
  try {
    return sha256Hex(createPublicKey(pem).export({ type: 'spki', format: 'der' }));
  } catch {
    throw dnsError(
      field,
      describeSecret(pem),
      'is not a PEM public or private key',
      'give the -----BEGIN PUBLIC KEY----- block, or use certificatePem',
    );
  }
}

function sha256Hex(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

function checkHash(hex: string): string {
  if (isDeferred(hex)) return hex;
  if (!/^[0-9A-Fa-f]{64}$/.test(hex)) {
    throw dnsError(
      'tlsa.spkiSha256',
      hex,
      'is not 64 hex digits (a SHA-256)',
      'compute it with: openssl x509 -pubkey -noout -in CERT | openssl pkey -pubin -outform DER | sha256sum',
    );
  }
  return hex.toLowerCase();
}
