import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
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
    expect(verifyHostKey({ host: 'mx1.example.org', port: 22, knownHostsPath: kh }, evil.blob)).toMatchObject({
      ok: false,
      reason: 'revoked',
    });
  });

  test('a file parsed once per process is read anew when it changes, even to the same size (a revocation is never missed)', () => {
    const f = join(dir, 'known_hosts_cached');
    const a = newKey('cached-a');
    const b = newKey('cached-b');
    writeFileSync(f, `mx1.example.org ${a.line}\n`);
    const policy = { host: 'mx1.example.org', port: 22, knownHostsPath: f };
    expect(verifyHostKey(policy, a.blob)).toEqual({ ok: true });
    expect(verifyHostKey(policy, a.blob)).toEqual({ ok: true });
    // Same length, other key, written in the same instant: the identity (ctime, mtime in ns) differs.
    writeFileSync(f, `mx1.example.org ${b.line}\n`);
    expect(verifyHostKey(policy, a.blob)).toMatchObject({ ok: false, reason: 'changed' });
    expect(verifyHostKey(policy, b.blob)).toEqual({ ok: true });
    writeFileSync(f, `mx1.example.org ${b.line}\n@revoked * ${b.line}\n`);
    expect(verifyHostKey(policy, b.blob)).toMatchObject({ ok: false, reason: 'revoked' });
    rmSync(f);
    expect(verifyHostKey(policy, b.blob).ok).toBe(false);
  });

  test('a pinned fingerprint replaces known_hosts', () => {
    expect(verifyHostKey({ host: 'x', port: 22, fingerprint: good.fingerprint }, good.blob)).toEqual({ ok: true });
    expect(verifyHostKey({ host: 'x', port: 22, fingerprint: good.fingerprint }, evil.blob)).toMatchObject({
      ok: false,
      reason: 'changed',
    });
  });

  test('an unreadable known_hosts file refuses, never trusts', () => {
    expect(verifyHostKey({ host: 'mx1.example.org', port: 22, knownHostsPath: join(dir, 'missing') }, good.blob)).toMatchObject({
      ok: false,
      reason: 'unknown',
    });
  });
});

describe('IPv6 literals', () => {
  const v6 = join(dir, 'known_hosts_v6');
  writeFileSync(v6, `[2001:db8::1]:2222 ${good.line}\n2001:db8::1 ${good.line}\n`);
  const hashed = join(dir, 'known_hosts_v6_hashed');
  writeFileSync(hashed, `[2001:db8::1]:2222 ${good.line}\n2001:db8::1 ${good.line}\n`);
  execFileSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' });

  test.each([
    ['plain', v6],
    ['hashed', hashed],
  ])('%s entries match [v6]:port and bare v6 for port 22', (_kind, file) => {
    expect(readFileSync(file, 'utf8')).toMatch(_kind === 'hashed' ? /^\|1\|/ : /^\[2001/);
    expect(verifyHostKey({ host: '2001:db8::1', port: 2222, knownHostsPath: file }, good.blob)).toEqual({ ok: true });
    expect(verifyHostKey({ host: '2001:db8::1', port: 22, knownHostsPath: file }, good.blob)).toEqual({ ok: true });
    expect(verifyHostKey({ host: '[2001:db8::1]', port: 22, knownHostsPath: file }, good.blob)).toEqual({ ok: true });
    expect(verifyHostKey({ host: '2001:db8::1', port: 2200, knownHostsPath: file }, good.blob)).toMatchObject({
      ok: false,
      reason: 'unknown',
    });
  });
});

describe('pins and @revoked', () => {
  const kh = join(dir, 'known_hosts_revoked');
  writeFileSync(kh, `@revoked mx1.example.org ${evil.line}\n`);

  test('@revoked wins over a pinned fingerprint and a pinned public key', () => {
    const byFingerprint = verifyHostKey(
      { host: 'mx1.example.org', port: 22, fingerprint: evil.fingerprint, knownHostsPath: kh },
      evil.blob,
    );
    expect(byFingerprint).toMatchObject({ ok: false, reason: 'revoked' });
    if (!byFingerprint.ok) expect(byFingerprint.message).toMatch(/@revoked in .*known_hosts_revoked line 1.*pins included/);
    expect(verifyHostKey({ host: 'mx1.example.org', port: 22, hostKey: evil.line, knownHostsPath: kh }, evil.blob)).toMatchObject({
      ok: false,
      reason: 'revoked',
    });
  });

  test('with a pin, the pin decides: a key not listed in known_hosts is trusted, an absent file is fine', () => {
    expect(verifyHostKey({ host: 'mx1.example.org', port: 22, fingerprint: good.fingerprint, knownHostsPath: kh }, good.blob)).toEqual({
      ok: true,
    });
    expect(
      verifyHostKey(
        { host: 'mx1.example.org', port: 22, hostKey: `${good.line} root@mx1`, knownHostsPath: join(dir, 'absent') },
        good.blob,
      ),
    ).toEqual({ ok: true });
  });

  test('a pinned public key refuses any other key; every pin given must match', () => {
    const v = verifyHostKey({ host: 'mx1.example.org', port: 22, hostKey: good.line }, evil.blob);
    expect(v).toMatchObject({ ok: false, reason: 'changed' });
    if (!v.ok) expect(v.message).toContain(`pinned connection.hostKey is ${good.fingerprint}`);
    expect(verifyHostKey({ host: 'x', port: 22, hostKey: good.line, fingerprint: evil.fingerprint }, good.blob)).toMatchObject({
      ok: false,
      reason: 'changed',
    });
  });
});
