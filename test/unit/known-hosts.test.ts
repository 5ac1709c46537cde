import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { fingerprintOf, hostFieldMatches, knownHostsName, keyTypeOf, verifyHostKey } from '../../lib/transport/known-hosts';

const dir = mkdtempSync(join(tmpdir(), 'kh-unit-'));
function newKey(name: string): { blob: Buffer; line: string; fingerprint: string } {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
  const pub = readFileSync(join(dir, `${name}.pub`), 'utf8').trim();
  const [type, b64] = pub.split(' ');
  const fingerprint = execFileSync('ssh-keygen', ['-lf', join(dir, `${name}.pub`)], { encoding: 'utf8' }).split(' ')[1];
  return { blob: Buffer.from(b64, 'base64'), line: `${type} ${b64}`, fingerprint };
}
const good = newKey('good');
const evil = newKey('evil');

test('fingerprints match ssh-keygen -lf and key types are read from the blob', () => {
  expect(fingerprintOf(good.blob)).toBe(good.fingerprint);
  expect(keyTypeOf(good.blob)).toBe('ssh-ed25519');
});

test('known_hosts names: bare for port 22, [host]:port otherwise', () => {
  expect(knownHostsName('mx1.example.org', 22)).toBe('mx1.example.org');
  expect(knownHostsName('mx1.example.org', 2222)).toBe('[mx1.example.org]:2222');
});

test('plain, wildcard, negated and hashed host fields', () => {
  expect(hostFieldMatches('mx1.example.org,192.0.2.1', '192.0.2.1')).toBe(true);
  expect(hostFieldMatches('*.example.org', 'mx1.example.org')).toBe(true);
  expect(hostFieldMatches('*.example.org,!mx2.example.org', 'mx2.example.org')).toBe(false);
  const file = join(dir, 'hashed');
  writeFileSync(file, `[mx1.example.org]:2222 ${good.line}\n`);
  execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
  const hashedField = readFileSync(file, 'utf8').trim().split(' ')[0];
  expect(hashedField.startsWith('|1|')).toBe(true);
  expect(hostFieldMatches(hashedField, '[mx1.example.org]:2222')).toBe(true);
  expect(hostFieldMatches(hashedField, 'mx1.example.org')).toBe(false);
});

describe('verifyHostKey', () => {
  const kh = join(dir, 'known_hosts');
  writeFileSync(kh, `# comment\nmx1.example.org ${good.line}\n@revoked * ${evil.line}\n`);

  test('a known key is accepted', () => {
    expect(verifyHostKey({ host: 'mx1.example.org', port: 22, knownHostsPath: kh }, good.blob)).toEqual({ ok: true });
  });

  test('an unknown host is refused with its fingerprint and how to pin it', () => {
    const v = verifyHostKey({ host: 'mx9.example.org', port: 22, knownHostsPath: kh }, good.blob);
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.reason).toBe('unknown');
      expect(v.message).toContain(good.fingerprint);
      expect(v.message).toContain(`hostKeyFingerprint = "${good.fingerprint}"`);
      expect(v.message).toContain('ssh-keyscan -p 22 mx9.example.org');
    }
  });

  test('a changed key is refused as a possible man-in-the-middle', () => {
    const other = newKey('other');
    const v = verifyHostKey({ host: 'mx1.example.org', port: 22, knownHostsPath: kh }, other.blob);
    expect(v).toMatchObject({ ok: false, reason: 'changed' });
    if (!v.ok) expect(v.message).toMatch(/HOST KEY CHANGED.*line 2/);
  });

  test('a revoked key is refused', () => {
    expect(verifyHostKey({ host: 'mx1.example.org', port: 22, knownHostsPath: kh }, evil.blob)).toMatchObject({ ok: false, reason: 'revoked' });
  });

  test('a pinned fingerprint replaces known_hosts', () => {
    expect(verifyHostKey({ host: 'x', port: 22, fingerprint: good.fingerprint }, good.blob)).toEqual({ ok: true });
    expect(verifyHostKey({ host: 'x', port: 22, fingerprint: good.fingerprint }, evil.blob)).toMatchObject({ ok: false, reason: 'changed' });
  });

  test('an unreadable known_hosts file refuses, never trusts', () => {
    expect(verifyHostKey({ host: 'mx1.example.org', port: 22, knownHostsPath: join(dir, 'missing') }, good.blob)).toMatchObject({ ok: false, reason: 'unknown' });
  });
});
