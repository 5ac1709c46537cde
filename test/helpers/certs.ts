/**
 * Self-signed key and certificate pairs for tests, made by `openssl req -x509`, the command operators
 * use. One place, so every test's certificate is made the same way.
 */
import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';

export interface SelfSignedOptions {
  /** The subject's common name. */
  readonly cn: string;
  /** @default 'rsa' (RSA 2048); 'ec' is P-256 */
  readonly key?: 'rsa' | 'ec';
  /** A subjectAltName extension, e.g. 'DNS:host1.lab.test'. @default none */
  readonly san?: string;
  /** File names in the directory: `${name}.key` and `${name}.crt`. @default key.pem and cert.pem */
  readonly name?: string;
  /** @default 2 */
  readonly days?: number;
}

export interface SelfSigned {
  readonly keyPath: string;
  readonly certPath: string;
  readonly keyPem: string;
  readonly certPem: string;
}

/** Writes a new self-signed pair into dir and returns its paths and PEM texts. */
export function selfSigned(dir: string, options: SelfSignedOptions): SelfSigned {
  const keyPath = join(dir, options.name ? `${options.name}.key` : 'key.pem');
  const certPath = join(dir, options.name ? `${options.name}.crt` : 'cert.pem');
  const keyArgs = options.key === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  const san = options.san ? ['-addext', `subjectAltName=${options.san}`] : [];
  const days = String(options.days ?? 2);
  const args = [
    'req',
    '-x509',
    ...keyArgs,
    '-nodes',
    '-days',
    days,
    '-subj',
    `/CN=${options.cn}`,
    ...san,
    '-keyout',
    keyPath,
    '-out',
    certPath,
  ];
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return { keyPath, certPath, keyPem: readFileSync(keyPath, 'utf8'), certPem: readFileSync(certPath, 'utf8') };
}
