/**
 * Custom finite-field DH groups for Postfix. With OpenSSL 3 none are needed: an empty
 * smtpd_tls_dh1024_param_file lets OpenSSL pick RFC 7919 groups. They only matter when a profile
 * offers DHE ciphers (legacyOldClients; guideline 6.0 intermediate has none), and then they must be
 * 2048 bits or more (Logjam). Pure: validation and PEM inspection, no I/O.
 */
import { PostfixConfigError } from './errors';

export const MIN_DH_BITS = 2048;
/** Above this `openssl dhparam` takes minutes to hours on a small host, for no practical gain. */
export const MAX_DH_BITS = 8192;
export const DEFAULT_DH_BITS = 2048;

/** Bits must be a whole number in [2048, 8192]. */
export function validateDhBits(bits: number, field = 'bits'): number {
  if (!Number.isInteger(bits) || bits < MIN_DH_BITS) {
    throw new PostfixConfigError(
      '',
      field,
      String(bits),
      `DH groups under ${MIN_DH_BITS} bits are breakable (Logjam) and OpenSSL 3 rejects them at its default security level`,
      `use ${MIN_DH_BITS} or more, or no custom group at all (OpenSSL 3 then uses RFC 7919 groups)`,
    );
  }
  if (bits > MAX_DH_BITS) {
    throw new PostfixConfigError(
      '',
      field,
      String(bits),
      `generating more than ${MAX_DH_BITS} bits takes hours on the host`,
      `use ${MIN_DH_BITS}, 3072 or 4096`,
    );
  }
  return bits;
}

/** A DH parameter file path on the host: absolute, plain characters only (it reaches a shell script). */
export function validateDhPath(path: string, field = 'path'): string {
  if (!/^\/[A-Za-z0-9._/-]+$/.test(path) || path.split('/').includes('..')) {
    throw new PostfixConfigError(
      '',
      field,
      path,
      'is not an absolute path of plain characters',
      'use a path such as /etc/postfix/dh2048.pem (letters, digits, . _ - and /)',
    );
  }
  return path;
}

/** A rotation generation label (bumped to force a rotation): short, plain characters. */
export function validateGeneration(generation: string, field = 'generation'): string {
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(generation)) {
    throw new PostfixConfigError('', field, generation, 'is not a short plain label', 'use e.g. "2026-05-01" or "2"');
  }
  return generation;
}

/**
 * Size of the prime in a PEM `DH PARAMETERS` (PKCS#3) or `X9.42 DH PARAMETERS` block, read from
 * the DER so no OpenSSL call is needed. Throws if the text holds no DH parameters.
 */
export function dhParameterBits(pem: string): number {
  const bytes = dhParameterPrime(pem);
  return bytes.length === 0 ? 0 : (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]));
}

/**
 * The prime p of a PEM `DH PARAMETERS` (PKCS#3) or `X9.42 DH PARAMETERS` block, big-endian without
 * leading zero bytes: the same bytes a server sends as dh_p in a TLS 1.2 DHE ServerKeyExchange.
 */
export function dhParameterPrime(pem: string): Buffer {
  const m = /-----BEGIN (X9\.42 )?DH PARAMETERS-----([\s\S]*?)-----END (X9\.42 )?DH PARAMETERS-----/.exec(pem);
  if (!m) {
    throw new PostfixConfigError(
      '',
      'DH parameters',
      pem.trim().split('\n')[0],
      'is not a PEM DH PARAMETERS block',
      'generate one with openssl dhparam -out FILE 2048',
    );
  }
  const der = Buffer.from(m[2].replace(/\s+/g, ''), 'base64');
  const seq = readTlv(der, 0);
  const prime = readTlv(der, seq.contentStart);
  let bytes = der.subarray(prime.contentStart, prime.contentStart + prime.length);
  while (bytes.length > 0 && bytes[0] === 0) bytes = bytes.subarray(1);
  return Buffer.from(bytes);
}

/** PKCS#3 ("DH PARAMETERS", what Postfix 3.7 loads) or X9.42 ("X9.42 DH PARAMETERS", from -dsaparam). */
export function dhParameterFormat(pem: string): 'pkcs3' | 'x9.42' {
  dhParameterPrime(pem);
  return /-----BEGIN X9\.42 DH PARAMETERS-----/.test(pem) ? 'x9.42' : 'pkcs3';
}

function readTlv(der: Buffer, offset: number): { contentStart: number; length: number } {
  let pos = offset + 1;
  let length = der[pos++];
  if (length & 0x80) {
    const n = length & 0x7f;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[pos++];
  }
  return { contentStart: pos, length };
}
