/**
 * OpenSSH host certificates (PROTOCOL.certkeys in the OpenSSH sources): parsing, the CA signature,
 * and the checks `ssh` makes before it trusts a host through a `@cert-authority` known_hosts line.
 * Plain node crypto; ssh2 itself does not understand certificates.
 */
import { createPublicKey, KeyObject, verify } from 'crypto';

export interface HostCertificate {
  /** e.g. ssh-ed25519-cert-v01@openssh.com */
  readonly certType: string;
  /** The certified key as a plain public key blob (what the server signs the handshake with). */
  readonly keyBlob: Buffer;
  readonly serial: bigint;
  /** 1 = user, 2 = host. */
  readonly role: number;
  readonly keyId: string;
  readonly principals: string[];
  readonly validAfter: bigint;
  readonly validBefore: bigint;
  readonly criticalOptions: Buffer;
  /** The CA's public key blob. */
  readonly caKeyBlob: Buffer;
  readonly signature: Buffer;
  /** Everything the CA signed (the certificate up to and including the CA key). */
  readonly signedData: Buffer;
}

const FOREVER = 0xffffffffffffffffn;

/** Reads SSH wire types (RFC 4251 section 5) from a buffer; throws on truncation. */
export class SshReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  uint64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  string(): Buffer {
    const len = this.uint32();
    this.need(len);
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }
  text(): string {
    return this.string().toString('utf8');
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('truncated SSH data');
  }
}

export function sshString(data: Buffer | string): Buffer {
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

export function isCertificateType(type: string): boolean {
  return type.endsWith('-cert-v01@openssh.com');
}

/** Parse a certificate blob (as a known_hosts/keyscan line's base64 decodes to). */
export function parseHostCertificate(blob: Buffer): HostCertificate {
  const r = new SshReader(blob);
  const certType = r.text();
  if (!isCertificateType(certType)) throw new Error(`${certType} is not an OpenSSH certificate type`);
  const plainType = certType.replace(/-cert-v01@openssh\.com$/, '');
  r.string(); // nonce
  const keyStart = r.pos;
  const fields = plainType === 'ssh-rsa' ? 2 : plainType.startsWith('ecdsa-sha2-') ? 2 : plainType === 'ssh-ed25519' ? 1 : -1;
  if (fields < 0) throw new Error(`certificates of ${plainType} keys are not supported`);
  for (let i = 0; i < fields; i++) r.string();
  const keyBlob = Buffer.concat([sshString(plainType), blob.subarray(keyStart, r.pos)]);
  const serial = r.uint64();
  const role = r.uint32();
  const keyId = r.text();
  const principalList = new SshReader(r.string());
  const principals: string[] = [];
  while (principalList.pos < principalList.buf.length) principals.push(principalList.text());
  const validAfter = r.uint64();
  const validBefore = r.uint64();
  const criticalOptions = r.string();
  r.string(); // extensions
  r.string(); // reserved
  const caKeyBlob = r.string();
  const signedData = blob.subarray(0, r.pos);
  const signature = r.string();
  return { certType, keyBlob, serial, role, keyId, principals, validAfter, validBefore, criticalOptions, caKeyBlob, signature, signedData };
}

const base64url = (b: Buffer): string => b.toString('base64url');
const unsigned = (mpint: Buffer): Buffer => (mpint[0] === 0 ? mpint.subarray(1) : mpint);
const CURVES: Record<string, { crv: string; size: number; hash: string }> = {
  nistp256: { crv: 'P-256', size: 32, hash: 'sha256' },
  nistp384: { crv: 'P-384', size: 48, hash: 'sha384' },
  nistp521: { crv: 'P-521', size: 66, hash: 'sha512' },
};

/** A plain SSH public key blob as a node KeyObject (ed25519, ecdsa, rsa). */
export function sshPublicKeyObject(blob: Buffer): KeyObject {
  const r = new SshReader(blob);
  const type = r.text();
  if (type === 'ssh-ed25519') return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: base64url(r.string()) }, format: 'jwk' });
  if (type === 'ssh-rsa') {
    const e = unsigned(r.string());
    const n = unsigned(r.string());
    return createPublicKey({ key: { kty: 'RSA', n: base64url(n), e: base64url(e) }, format: 'jwk' });
  }
  const curve = CURVES[r.text()];
  if (type.startsWith('ecdsa-sha2-') && curve) {
    const point = r.string();
    const size = curve.size;
    if (point[0] !== 4 || point.length !== 1 + 2 * size) throw new Error('only uncompressed ECDSA points are supported');
    return createPublicKey({
      key: { kty: 'EC', crv: curve.crv, x: base64url(point.subarray(1, 1 + size)), y: base64url(point.subarray(1 + size)) },
      format: 'jwk',
    });
  }
  throw new Error(`keys of type ${type} are not supported`);
}

/** Verify an SSH signature blob (string format, string sig) over data with an SSH public key blob. */
export function verifySshSignature(keyBlob: Buffer, data: Buffer, signatureBlob: Buffer): boolean {
  const key = sshPublicKeyObject(keyBlob);
  const r = new SshReader(signatureBlob);
  const format = r.text();
  const sig = r.string();
  const keyType = new SshReader(keyBlob).text();
  if (format === 'ssh-ed25519' && keyType === 'ssh-ed25519') return verify(null, data, key, sig);
  // ssh-rsa (SHA-1) signatures are refused, as OpenSSH's default CASignatureAlgorithms does.
  if ((format === 'rsa-sha2-256' || format === 'rsa-sha2-512') && keyType === 'ssh-rsa')
    return verify(format === 'rsa-sha2-256' ? 'sha256' : 'sha512', data, key, sig);
  if (format.startsWith('ecdsa-sha2-') && format === keyType) {
    const curve = CURVES[format.slice('ecdsa-sha2-'.length)];
    const rs = new SshReader(sig);
    const pad = (b: Buffer) => Buffer.concat([Buffer.alloc(Math.max(0, curve.size - b.length)), b]).subarray(-curve.size);
    const p1363 = Buffer.concat([pad(unsigned(rs.string())), pad(unsigned(rs.string()))]);
    return verify(curve.hash, data, { key, dsaEncoding: 'ieee-p1363' }, p1363);
  }
  return false;
}

/** When a certificate's window is, for messages. */
function when(seconds: bigint): string {
  return seconds >= FOREVER ? 'forever' : new Date(Number(seconds) * 1000).toISOString();
}

/**
 * Why this certificate must not be trusted for any of `names`, or undefined when it may. The
 * caller has already matched the CA key against a @cert-authority line. Stricter than ssh in one
 * way: an empty principal list (valid for every host) is refused, since a deploy names its host.
 */
export function certificateProblem(
  cert: HostCertificate,
  names: readonly string[],
  nowSeconds = BigInt(Math.floor(Date.now() / 1000)),
): string | undefined {
  if (cert.role !== 2) return `certificate "${cert.keyId}" is a user certificate, not a host certificate (sign it with ssh-keygen -h)`;
  if (isCertificateType(new SshReader(cert.caKeyBlob).text()))
    return `certificate "${cert.keyId}" is signed by a certificate, not by a CA key`;
  if (!verifySshSignature(cert.caKeyBlob, cert.signedData, cert.signature))
    return `certificate "${cert.keyId}" has a CA signature that does not verify`;
  if (nowSeconds < cert.validAfter) return `certificate "${cert.keyId}" is not valid before ${when(cert.validAfter)}`;
  if (nowSeconds >= cert.validBefore) return `certificate "${cert.keyId}" expired at ${when(cert.validBefore)}`;
  if (cert.criticalOptions.length > 0) return `certificate "${cert.keyId}" has critical options, which host certificates must not have`;
  if (cert.principals.length === 0)
    return `certificate "${cert.keyId}" names no principals (valid for any host); sign it with -n ${names[0]}`;
  if (!cert.principals.some((p) => names.includes(p)))
    return `certificate "${cert.keyId}" is for ${cert.principals.join(', ')}, not for ${names.join(' or ')}`;
  return undefined;
}
