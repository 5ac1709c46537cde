/**
 * Certificate and key input for TLS: paths on the host or PEM content to upload, planned as
 * smtpd_tls_chain_files entries (postconf(5)), with checks that a key and certificate parse and
 * belong together. Pure: no cdktf, no I/O.
 */
import { X509Certificate, createPrivateKey, KeyObject } from 'crypto';
import { PostfixConfigError } from './errors';

/** Certificate material: a path on the host, a key/cert path pair, or PEM content to upload. */
export type TlsCertificateSource =
  | { readonly chainFile: string }
  | { readonly keyFile: string; readonly certFile: string }
  | { readonly privateKeyPem: string; readonly certificatePem: string; readonly name?: string };

export interface CertificateUpload {
  readonly path: string;
  readonly content: string;
  readonly mode: '0600';
}

export interface CertificatePlan {
  /** smtpd_tls_chain_files entries in order. */
  readonly chainFiles: string[];
  /** Files to place on the host (private keys: mode 0600, marked secret by the caller). */
  readonly uploads: CertificateUpload[];
}

/** Recognizes a value that is a placeholder for something only Terraform knows (cdktf tokens). */
export type UnresolvedCheck = (value: string) => boolean;

/** Default: cdktf's string token marker, so lib stays free of cdktf imports. */
export const looksLikeToken: UnresolvedCheck = (value) => /\$\{(TfToken\[|Token\[)/.test(value);

/**
 * Turn certificate sources into smtpd_tls_chain_files entries and uploads. Content goes into one
 * file per pair under `${configDirectory}/tls/`, key first then certificates, as smtpd_tls_chain_files
 * expects; a separate key/cert path pair becomes two list entries, key first (postconf(5) allows it).
 */
export function planCertificates(
  sources: readonly TlsCertificateSource[],
  configDirectory: string,
  isUnresolved: UnresolvedCheck = looksLikeToken,
): CertificatePlan {
  const chainFiles: string[] = [];
  const uploads: CertificateUpload[] = [];
  sources.forEach((source, i) => {
    const field = `certificates[${i}]`;
    if ('chainFile' in source) {
      chainFiles.push(checkHostPath(`${field}.chainFile`, source.chainFile, 'chain', isUnresolved));
    } else if ('keyFile' in source) {
      chainFiles.push(checkHostPath(`${field}.keyFile`, source.keyFile, 'key', isUnresolved));
      chainFiles.push(checkHostPath(`${field}.certFile`, source.certFile, 'certificate', isUnresolved));
    } else {
      checkKeyAndCertificate(field, source.privateKeyPem, source.certificatePem, isUnresolved);
      const name = source.name ?? (i === 0 ? 'server' : `server-${i + 1}`);
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
        throw new PostfixConfigError('', `${field}.name`, name, 'is not a safe file name', 'use letters, digits, dot, dash and underscore');
      }
      const path = `${configDirectory.replace(/\/+$/, '')}/tls/${name}.pem`;
      chainFiles.push(path);
      uploads.push({ path, mode: '0600', content: joinPem(source.privateKeyPem, source.certificatePem) });
    }
  });
  return { chainFiles, uploads };
}

function joinPem(...parts: string[]): string {
  return parts.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}

type PathRole = 'chain' | 'key' | 'certificate';

/**
 * A host path: absolute (or under $config_directory), no whitespace or commas (they would split
 * the list), and a name that matches its role.
 */
export function checkHostPath(field: string, path: string, role: PathRole, isUnresolved: UnresolvedCheck = looksLikeToken): string {
  if (isUnresolved(path)) return path;
  if (!/^(\/|\$\{?config_directory\}?\/)/.test(path) || /[\s,]/.test(path)) {
    throw new PostfixConfigError(
      '',
      field,
      path,
      'is not an absolute path without spaces or commas',
      'give the absolute path on the host, e.g. /etc/ssl/private/mx1.pem',
    );
  }
  if (role !== 'key' && /\.key$/i.test(path)) {
    throw new PostfixConfigError(
      '',
      field,
      path,
      `looks like a private key file, but a ${role === 'chain' ? 'chain file' : 'certificate'} is expected here`,
      role === 'chain'
        ? 'give a file holding the key followed by its certificate chain, or pass { keyFile, certFile } separately'
        : 'put the key path in keyFile and the certificate (.crt/.pem) in certFile',
    );
  }
  if (role === 'key' && /\.(crt|cer|der)$/i.test(path)) {
    throw new PostfixConfigError(
      '',
      field,
      path,
      'looks like a certificate file, but a private key is expected here',
      'put the private key path in keyFile and the certificate path in certFile',
    );
  }
  return path;
}

/**
 * PEM content checks: the certificate is a certificate (not a key), the key is an unencrypted
 * private key (Postfix cannot ask for a passphrase), and the two belong together. Terraform tokens
 * are skipped: their value is unknown until apply.
 */
export function checkKeyAndCertificate(
  field: string,
  keyPem: string,
  certPem: string,
  isUnresolved: UnresolvedCheck = looksLikeToken,
): void {
  const cert = isUnresolved(certPem) ? undefined : parseCertificate(`${field}.certificatePem`, certPem);
  const key = isUnresolved(keyPem) ? undefined : parsePrivateKey(`${field}.privateKeyPem`, keyPem);
  if (cert && key && !cert.checkPrivateKey(key)) {
    throw new PostfixConfigError(
      '',
      `${field}.privateKeyPem`,
      summary(keyPem),
      `does not belong to the certificate for ${cert.subject.replace(/\n/g, ', ')}`,
      'pass the private key that was used to request this certificate (or the certificate issued for this key)',
    );
  }
}

export function parseCertificate(field: string, pem: string): X509Certificate {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new PostfixConfigError(
      '',
      field,
      summary(pem),
      'holds a PRIVATE KEY, not a certificate',
      'pass the certificate (-----BEGIN CERTIFICATE-----) here and the key in privateKeyPem',
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new PostfixConfigError(
      '',
      field,
      summary(pem),
      'is not a PEM certificate',
      'pass PEM text starting with -----BEGIN CERTIFICATE-----',
    );
  }
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw new PostfixConfigError(
      '',
      field,
      summary(pem),
      `cannot be parsed (${(e as Error).message})`,
      'pass the certificate exactly as PEM',
      { cause: e },
    );
  }
}

export function parsePrivateKey(field: string, pem: string): KeyObject {
  if (/ENCRYPTED PRIVATE KEY|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw new PostfixConfigError(
      '',
      field,
      summary(pem),
      'is encrypted with a passphrase, which Postfix cannot enter',
      'pass the key unencrypted (openssl pkey -in key.pem -out plain.pem); it is uploaded with mode 0600',
    );
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new PostfixConfigError(
      '',
      field,
      summary(pem),
      'is not a PEM private key',
      pem.includes('BEGIN CERTIFICATE')
        ? 'this is a certificate: put it in certificatePem, and the key here'
        : 'pass PEM text starting with -----BEGIN PRIVATE KEY-----',
    );
  }
  try {
    return createPrivateKey(pem);
  } catch (e) {
    throw new PostfixConfigError(
      '',
      field,
      summary(pem),
      `cannot be parsed (${(e as Error).message})`,
      'pass the private key exactly as PEM',
      { cause: e },
    );
  }
}

/** Never echo key material into an error message: only its first line. */
function summary(pem: string): string {
  const first = pem.trim().split('\n')[0] ?? '';
  return first.length > 60 ? `${first.slice(0, 60)}...` : first;
}
