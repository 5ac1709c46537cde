/**
 * DKIM keys with node's crypto: generate a pair locally (tests, and the "key generated locally"
 * mode), and read the public key data a DKIM TXT record publishes from a public or private key PEM.
 * Private keys never appear in errors (describeSecret shows the PEM header only).
 */
import { createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { dnsError, describeSecret } from './names';

export type DkimKeyType = 'rsa' | 'ed25519';

export interface DkimKeyPair {
  readonly type: DkimKeyType;
  /** PKCS#8 PEM (`BEGIN PRIVATE KEY`), the form opendkim-genkey writes and OpenDKIM reads. A secret. */
  readonly privateKeyPem: string;
  /** SPKI PEM (`BEGIN PUBLIC KEY`). */
  readonly publicKeyPem: string;
}

/** RSA sizes we generate: RFC 8301 §3.2 says signers SHOULD use 2048 bits, verifiers handle up to 4096. */
export const DKIM_RSA_BITS = [2048, 3072, 4096] as const;

const PUBLIC_PEM = { type: 'spki', format: 'pem' } as const;
const PRIVATE_PEM = { type: 'pkcs8', format: 'pem' } as const;

export function generateDkimKeyPair(opts: { type?: DkimKeyType; bits?: number } = {}): DkimKeyPair {
  const type = opts.type ?? 'rsa';
  if (type === 'ed25519') {
    const pair = generateKeyPairSync('ed25519', { publicKeyEncoding: PUBLIC_PEM, privateKeyEncoding: PRIVATE_PEM });
    return { type, privateKeyPem: pair.privateKey, publicKeyPem: pair.publicKey };
  }
  if (type !== 'rsa') throw dnsError('dkim.keyType', String(type), 'is not a DKIM key type', 'use rsa (RFC 6376) or ed25519 (RFC 8463)');
  const bits = opts.bits ?? 2048;
  if (!(DKIM_RSA_BITS as readonly number[]).includes(bits)) {
    throw dnsError('dkim.bits', String(bits), 'is not a DKIM RSA key size we generate', 'use 2048 (RFC 8301 §3.2), 3072 or 4096');
  }
  const pair = generateKeyPairSync('rsa', { modulusLength: bits, publicKeyEncoding: PUBLIC_PEM, privateKeyEncoding: PRIVATE_PEM });
  return { type, privateKeyPem: pair.privateKey, publicKeyPem: pair.publicKey };
}

export interface DkimPublicKeyData {
  readonly type: DkimKeyType;
  /** The `p=` value: base64 DER SubjectPublicKeyInfo for RSA (RFC 6376 §3.6.1), raw 32-byte key for ed25519 (RFC 8463 §4.2). */
  readonly p: string;
  /** RSA modulus size; 256 for ed25519. */
  readonly bits: number;
}

/**
 * The public key data of a PEM public key (SPKI or PKCS#1) or private key (PKCS#8, PKCS#1); a
 * private key yields its public half.
 */
export function dkimPublicKeyData(pem: string, field = 'dkim.publicKeyPem'): DkimPublicKeyData {
  const key = readPublicKey(pem, field);
  if (key.asymmetricKeyType === 'rsa') {
    const der = key.export({ type: 'spki', format: 'der' });
    return { type: 'rsa', p: der.toString('base64'), bits: key.asymmetricKeyDetails?.modulusLength ?? 0 };
  }
  if (key.asymmetricKeyType === 'ed25519') {
    const jwk = key.export({ format: 'jwk' });
    return { type: 'ed25519', p: Buffer.from(String(jwk.x), 'base64url').toString('base64'), bits: 256 };
  }
  throw dnsError(
    field,
    describeSecret(pem),
    `holds a ${key.asymmetricKeyType} key, which DKIM does not define`,
    'use an RSA key (RFC 6376) or an ed25519 key (RFC 8463)',
  );
}

function readPublicKey(pem: string, field: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch {
    throw dnsError(
      field,
      describeSecret(pem),
      'is not a PEM public or private key',
      'give the text of a -----BEGIN PUBLIC KEY----- or -----BEGIN PRIVATE KEY----- block (e.g. from opendkim-genkey or generateDkimKeyPair)',
    );
  }
}
