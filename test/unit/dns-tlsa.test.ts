/**
 * TLSA 3 1 1 (DANE, RFC 7672) against the command operators use to compute it:
 * openssl x509 -pubkey -noout -in CERT | openssl pkey -pubin -outform DER | sha256sum
 */
import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tlsaRecord, zoneLine } from '../../lib/model/dns';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dns-tlsa-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed certificate and its key, made by openssl itself. */
function selfSigned(name: string, keyArgs: string[]): { cert: string; key: string; certPath: string } {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', ...keyArgs, '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '30', '-subj', '/CN=mx1.example.org'],
    { stdio: 'pipe' },
  );
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath };
}

/** The operators' pipeline, run by the shell exactly as written in RFC 7671-style guides. */
function opensslSpkiSha256(certPath: string): string {
  const out = execSync(`openssl x509 -pubkey -noout -in '${certPath}' | openssl pkey -pubin -outform DER | sha256sum`, {
    encoding: 'utf8',
  });
  return out.split(' ')[0];
}

describe('TLSA 3 1 1', () => {
  test.each([
    ['rsa', ['-newkey', 'rsa:2048']],
    ['ecdsa', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']],
  ])('%s certificate: the hash equals openssl | sha256sum', (name, keyArgs) => {
    const { cert, key, certPath } = selfSigned(name, keyArgs);
    const expected = opensslSpkiSha256(certPath);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
    const { record } = tlsaRecord({ mxHost: 'MX1.example.org.', certificatePem: cert });
    expect(record).toMatchObject({
      type: 'TLSA',
      name: '_25._tcp.mx1.example.org',
      usage: 3,
      selector: 1,
      matchingType: 1,
      certificateAssociationData: expected,
    });
    expect(record.value).toBe(`3 1 1 ${expected}`);
    expect(zoneLine(record)).toBe(`_25._tcp.mx1.example.org. 3600 IN TLSA 3 1 1 ${expected}`);
    // The key alone (public half of the private key) gives the same record: renewals with the same key keep it.
    expect(tlsaRecord({ mxHost: 'mx1.example.org', publicKeyPem: key }).record.value).toBe(record.value);
  });

  test('a chain file (key, leaf, issuer as smtpd_tls_chain_files holds them) hashes the leaf', () => {
    const leaf = selfSigned('leaf', ['-newkey', 'rsa:2048']);
    const other = selfSigned('other', ['-newkey', 'rsa:2048']);
    const { record } = tlsaRecord({ mxHost: 'mx1.example.org', certificatePem: other.key + leaf.cert + other.cert });
    expect(record.certificateAssociationData).toBe(opensslSpkiSha256(leaf.certPath));
  });

  test('a given hash is lower-cased; a deferred one passes through; port is configurable', () => {
    const hex = 'AB'.repeat(32);
    expect(tlsaRecord({ mxHost: 'mx1.example.org', spkiSha256: hex }).record.value).toBe(`3 1 1 ${hex.toLowerCase()}`);
    const deferred = tlsaRecord({ mxHost: 'mx1.example.org', spkiSha256: '${TfToken[TOKEN.3]}', port: 2525 }).record;
    expect(deferred).toMatchObject({ name: '_2525._tcp.mx1.example.org', value: '3 1 1 ${TfToken[TOKEN.3]}', deferred: true });
  });
});

describe('TLSA validation', () => {
  test('a hash that is not 64 hex digits is refused with the openssl recipe', () => {
    expect(() => tlsaRecord({ mxHost: 'mx1.example.org', spkiSha256: 'abc' })).toThrow(
      /tlsa\.spkiSha256 = "abc": is not 64 hex digits.*Fix: compute it with: openssl x509 -pubkey/,
    );
  });
  test('text that is no certificate is refused', () => {
    expect(() => tlsaRecord({ mxHost: 'mx1.example.org', certificatePem: 'hello' })).toThrow(
      /tlsa\.certificatePem = "\(5 characters, not shown\)": is not a PEM certificate/,
    );
  });
  test('a bad key PEM is refused', () => {
    expect(() =>
      tlsaRecord({ mxHost: 'mx1.example.org', publicKeyPem: '-----BEGIN PUBLIC KEY-----\nAA\n-----END PUBLIC KEY-----' }),
    ).toThrow(/tlsa\.publicKeyPem = "-----BEGIN PUBLIC KEY-----": is not a PEM public or private key/);
  });
  test('zero or two sources are refused', () => {
    expect(() => tlsaRecord({ mxHost: 'mx1.example.org' })).toThrow(/needs exactly one key source, got 0/);
    expect(() => tlsaRecord({ mxHost: 'mx1.example.org', spkiSha256: 'a'.repeat(64), publicKeyPem: 'x' })).toThrow(/got 2/);
  });
  test('a bad MX host and port are refused', () => {
    expect(() => tlsaRecord({ mxHost: 'https://mx1', spkiSha256: 'a'.repeat(64) })).toThrow(
      /tlsa\.mxHost = "https:\/\/mx1": is not a fully qualified domain name/,
    );
    expect(() => tlsaRecord({ mxHost: 'mx1.example.org', spkiSha256: 'a'.repeat(64), port: 0 })).toThrow(
      /tlsa\.port = "0": is not a whole number from 1 to 65535/,
    );
  });
});
