/**
 * DKIM key helpers and the DKIM key record, checked against the real tools: opendkim-genkey's own
 * TXT output, OpenDKIM signing with our key (opendkim-testmsg), and python3-dkim verifying
 * signatures against our record through a fake DNS function. Needs Debian's opendkim-tools and
 * python3-dkim (apt-get install -y opendkim opendkim-tools python3-dkim).
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dkimPublicKeyData, dkimRecord, generateDkimKeyPair, zoneLine } from '../../lib/model/dns';

const PYTHON = '/usr/bin/python3';
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dns-dkim-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rsa = generateDkimKeyPair();
const MESSAGE =
  'From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: DKIM proof\r\n' +
  'Date: Wed, 02 Dec 2026 04:00:00 +0000\r\nMessage-ID: <proof-1@example.org>\r\n\r\nHello, signed world.\r\n';

/** python3-dkim: optionally sign, then verify with DNS answered from `records` only (no network). */
const VERIFY_PY = `
import dkim, json, sys
job = json.load(sys.stdin)
msg = job['message'].encode()
if 'sign' in job:
    s = job['sign']
    sig = dkim.sign(msg, s['selector'].encode(), s['domain'].encode(), s['key'].encode(),
                    signature_algorithm=s['algorithm'].encode(), include_headers=[b'from', b'to', b'subject', b'date'])
    msg = sig + msg
asked = []
def dnsfunc(name, timeout=5):
    n = name.decode().rstrip('.')
    asked.append(n)
    return job['records'].get(n, '').encode()
print(json.dumps({'verified': bool(dkim.verify(msg, dnsfunc=dnsfunc)), 'asked': asked}))
`;

function pythonVerify(job: object): { verified: boolean; asked: string[] } {
  return JSON.parse(execFileSync(PYTHON, ['-c', VERIFY_PY], { input: JSON.stringify(job), encoding: 'utf8' }));
}

describe('generateDkimKeyPair', () => {
  test('makes a 2048-bit RSA pair in PKCS#8/SPKI PEM', () => {
    expect(rsa.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(rsa.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(createPrivateKey(rsa.privateKeyPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(dkimPublicKeyData(rsa.privateKeyPem)).toEqual(dkimPublicKeyData(rsa.publicKeyPem));
  });

  test('refuses sizes RFC 8301 does not recommend', () => {
    expect(() => generateDkimKeyPair({ bits: 1024 })).toThrow(/dkim\.bits = "1024".*Fix: use 2048/);
  });

  test('refuses unknown key types', () => {
    expect(() => generateDkimKeyPair({ type: 'dsa' as never })).toThrow(/dkim\.keyType = "dsa".*Fix: use rsa/);
  });
});

describe('DKIM TXT record', () => {
  test('exact text for an RSA key: v=DKIM1; k=rsa; p=<base64 SPKI>', () => {
    const { record, warnings } = dkimRecord({ domain: 'Example.org', selector: 'mail', publicKeyPem: rsa.publicKeyPem });
    const spki = rsa.publicKeyPem.replace(/-----[A-Z ]+-----|\n/g, '');
    expect(record.name).toBe('mail._domainkey.example.org');
    expect(record.value).toBe(`v=DKIM1; k=rsa; p=${spki}`);
    expect(record.ttl).toBe(3600);
    expect(warnings).toEqual([]);
    // 2048-bit keys make ~410 octets: two chunks, the first exactly 255, joined back to the value.
    expect(record.chunks.map((c) => Buffer.byteLength(c))).toEqual([255, record.value.length - 255]);
    expect(record.chunks.join('')).toBe(record.value);
    expect(zoneLine(record)).toBe(`mail._domainkey.example.org. 3600 IN TXT "${record.chunks[0]}" "${record.chunks[1]}"`);
  });

  test('the private key gives the same record as its public key', () => {
    const a = dkimRecord({ domain: 'example.org', selector: 's1', privateKeyPem: rsa.privateKeyPem }).record;
    const b = dkimRecord({ domain: 'example.org', selector: 's1', publicKeyPem: rsa.publicKeyPem }).record;
    expect(a.value).toBe(b.value);
  });

  test('p= equals what opendkim-genkey publishes for its own key', () => {
    execFileSync('opendkim-genkey', ['-b', '2048', '-s', 'gk', '-d', 'example.org', '-D', dir]);
    const published = readFileSync(join(dir, 'gk.txt'), 'utf8');
    const joined = [...published.matchAll(/"([^"]*)"/g)].map((m) => m[1]).join('');
    const p = /p=([A-Za-z0-9+/=]+)/.exec(joined)?.[1];
    const ours = dkimRecord({ domain: 'example.org', selector: 'gk', privateKeyPem: readFileSync(join(dir, 'gk.private'), 'utf8') }).record;
    expect(p).toBeDefined();
    expect(ours.value).toBe(`v=DKIM1; k=rsa; p=${p}`);
    expect(joined).toContain('k=rsa;');
  });

  test('python3-dkim verifies an rsa-sha256 signature made with our key against our record', () => {
    const { record } = dkimRecord({ domain: 'example.org', selector: 'mail', publicKeyPem: rsa.publicKeyPem });
    const job = {
      message: MESSAGE,
      records: { [record.name]: record.value },
      sign: { selector: 'mail', domain: 'example.org', key: rsa.privateKeyPem, algorithm: 'rsa-sha256' },
    };
    expect(pythonVerify(job)).toEqual({ verified: true, asked: ['mail._domainkey.example.org'] });
  });

  test("the same signature fails against another key's record (the check can fail)", () => {
    const other = dkimRecord({ domain: 'example.org', selector: 'mail', publicKeyPem: generateDkimKeyPair().publicKeyPem }).record;
    const job = {
      message: MESSAGE,
      records: { [other.name]: other.value },
      sign: { selector: 'mail', domain: 'example.org', key: rsa.privateKeyPem, algorithm: 'rsa-sha256' },
    };
    expect(pythonVerify(job).verified).toBe(false);
  });

  test('OpenDKIM signs with our generated key file and python3-dkim verifies it against our record', () => {
    const keyFile = join(dir, 'mail.private');
    writeFileSync(keyFile, rsa.privateKeyPem, { mode: 0o600 });
    const signed = execFileSync('opendkim-testmsg', ['-C', '-d', 'example.org', '-s', 'mail', '-k', keyFile], {
      input: MESSAGE,
      encoding: 'utf8',
    });
    expect(signed).toMatch(/^DKIM-Signature: v=1; a=rsa-sha\d+; c=relaxed\/simple; d=example\.org; s=mail;/);
    const { record } = dkimRecord({ domain: 'example.org', selector: 'mail', privateKeyPem: rsa.privateKeyPem });
    expect(pythonVerify({ message: signed, records: { [record.name]: record.value } }).verified).toBe(true);
  });

  test('ed25519: k=ed25519; p=<raw 32-byte key>, verified by python3-dkim (RFC 8463)', () => {
    const ed = generateDkimKeyPair({ type: 'ed25519' });
    const { record, warnings } = dkimRecord({ domain: 'example.org', selector: 'ed', privateKeyPem: ed.privateKeyPem });
    const raw = createPrivateKey(ed.privateKeyPem).export({ format: 'jwk' });
    expect(record.value).toBe(`v=DKIM1; k=ed25519; p=${Buffer.from(String(raw.x), 'base64url').toString('base64')}`);
    expect(Buffer.from(record.value.split('p=')[1], 'base64')).toHaveLength(32);
    expect(warnings.join()).toMatch(/RFC 8463/);
    const seed = Buffer.from(String(raw.d), 'base64url').toString('base64'); // dkimpy takes the raw seed
    const job = {
      message: MESSAGE,
      records: { [record.name]: record.value },
      sign: { selector: 'ed', domain: 'example.org', key: seed, algorithm: 'ed25519-sha256' },
    };
    expect(pythonVerify(job).verified).toBe(true);
  });

  test('testing flag adds t=y before p=', () => {
    const { record } = dkimRecord({ domain: 'example.org', selector: 'mail', publicKeyPem: rsa.publicKeyPem, testing: true });
    expect(record.value).toMatch(/^v=DKIM1; k=rsa; t=y; p=MIIB/);
  });

  test('a deferred p= passes through unchanged as one chunk', () => {
    const { record } = dkimRecord({ domain: 'example.org', selector: 'mail', publicKeyData: '${TfToken[TOKEN.7]}', keyType: 'rsa' });
    expect(record.value).toBe('v=DKIM1; k=rsa; p=${TfToken[TOKEN.7]}');
    expect(record).toMatchObject({ deferred: true, chunks: [record.value] });
  });
});

describe('DKIM validation', () => {
  const key = { domain: 'example.org', publicKeyPem: rsa.publicKeyPem };
  test('a selector with a dot is refused with the fix', () => {
    expect(() => dkimRecord({ ...key, selector: 'my.selector' })).toThrow(
      /dkim\.selector = "my\.selector": contains a dot.*Fix: .*"my-selector"/,
    );
  });
  test('a selector that is no DNS label is refused', () => {
    expect(() => dkimRecord({ ...key, selector: 'bad_sel' })).toThrow(/dkim\.selector = "bad_sel": is not a DNS label/);
    expect(() => dkimRecord({ ...key, selector: '' })).toThrow(/dkim\.selector/);
  });
  test('a bad domain is refused', () => {
    expect(() => dkimRecord({ ...key, selector: 'mail', domain: 'example' })).toThrow(
      /dkim\.domain = "example": is not a fully qualified domain name/,
    );
  });
  test('no key source, or two, is refused', () => {
    expect(() => dkimRecord({ domain: 'example.org', selector: 'mail' })).toThrow(/needs exactly one key source, got 0/);
    expect(() => dkimRecord({ ...key, selector: 'mail', privateKeyPem: rsa.privateKeyPem })).toThrow(/got 2/);
  });
  test('garbage PEM is refused without echoing it', () => {
    const secret = '-----BEGIN PRIVATE KEY-----\nTOPSECRETBYTES\n-----END PRIVATE KEY-----\n';
    let message = '';
    try {
      dkimRecord({ domain: 'example.org', selector: 'mail', privateKeyPem: secret });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/dkim\.privateKeyPem = "-----BEGIN PRIVATE KEY-----": is not a PEM public or private key/);
    expect(message).not.toContain('TOPSECRET');
  });
  test('RSA keys under 1024 bits are refused, 1024 warned about (RFC 8301)', () => {
    const tiny = generateKeyPairSync('rsa', { modulusLength: 768 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => dkimRecord({ domain: 'example.org', selector: 'mail', publicKeyPem: tiny })).toThrow(
      /"768-bit RSA key": is too short.*RFC 8301/,
    );
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(dkimRecord({ domain: 'example.org', selector: 'mail', publicKeyPem: small }).warnings.join()).toMatch(
      /1024-bit RSA key is weak/,
    );
  });
  test('non-DKIM key types are refused', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => dkimRecord({ domain: 'example.org', selector: 'mail', publicKeyPem: ec })).toThrow(
      /holds a ec key, which DKIM does not define/,
    );
  });
  test('publicKeyData needs keyType and base64, ed25519 needs 32 bytes', () => {
    expect(() => dkimRecord({ domain: 'example.org', selector: 'mail', publicKeyData: 'AAAA' })).toThrow(
      /dkim\.keyType: must say which key/,
    );
    expect(() => dkimRecord({ domain: 'example.org', selector: 'mail', publicKeyData: 'not base64!', keyType: 'rsa' })).toThrow(
      /dkim\.publicKeyData = "not base64!": is not base64/,
    );
    expect(() => dkimRecord({ domain: 'example.org', selector: 'mail', publicKeyData: 'AAAA', keyType: 'ed25519' })).toThrow(
      /not a raw 32-byte ed25519 key/,
    );
  });
  test('keyType contradicting the PEM is refused', () => {
    expect(() => dkimRecord({ ...key, selector: 'mail', keyType: 'ed25519' })).toThrow(
      /dkim\.keyType = "ed25519": does not match the rsa key/,
    );
  });
});
