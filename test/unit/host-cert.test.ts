/** OpenSSH host certificates made by the real ssh-keygen, checked the way a @cert-authority line asks. */
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { verifyHostKey } from '../../lib/transport/known-hosts';
import { certificateProblem, parseHostCertificate } from '../../lib/transport/host-cert';

const dir = mkdtempSync(join(tmpdir(), 'host-cert-'));
const keygen = (...args: string[]) => execFileSync('ssh-keygen', ['-q', ...args], { stdio: 'pipe' });
const pubLine = (path: string) => readFileSync(path, 'utf8').trim().split(' ').slice(0, 2).join(' ');
const blobOf = (path: string) => Buffer.from(readFileSync(path, 'utf8').trim().split(' ')[1], 'base64');

function ca(name: string, type = 'ed25519'): string {
  keygen('-t', type, '-N', '', '-f', join(dir, name));
  return join(dir, name);
}
/** A fresh host key signed by caKey; returns the plain key blob and the certificate. */
function hostCert(name: string, caKey: string, ...signArgs: string[]) {
  keygen('-t', 'ed25519', '-N', '', '-f', join(dir, name));
  keygen('-s', caKey, '-I', `${name}-id`, ...signArgs, join(dir, `${name}.pub`));
  return { key: blobOf(join(dir, `${name}.pub`)), cert: parseHostCertificate(blobOf(join(dir, `${name}-cert.pub`))) };
}

const edCa = ca('ca-ed');
const kh = join(dir, 'known_hosts');
writeFileSync(kh, `@cert-authority *.example.org ${pubLine(`${edCa}.pub`)}\n`);
const policy = { host: 'mx1.example.org', port: 22, knownHostsPath: kh };

test('a host certificate is parsed: certified key, principals, role, window, CA', () => {
  const { key, cert } = hostCert('h1', edCa, '-h', '-n', 'mx1.example.org,192.0.2.1');
  expect(cert.certType).toBe('ssh-ed25519-cert-v01@openssh.com');
  expect(cert.keyBlob.equals(key)).toBe(true);
  expect(cert.principals).toEqual(['mx1.example.org', '192.0.2.1']);
  expect(cert.role).toBe(2);
  expect(cert.caKeyBlob.equals(blobOf(`${edCa}.pub`))).toBe(true);
  expect(certificateProblem(cert, ['mx1.example.org'])).toBeUndefined();
});

test('@cert-authority trusts the certified key of a host it covers, and nothing else', () => {
  const { key, cert } = hostCert('h2', edCa, '-h', '-n', 'mx1.example.org');
  expect(verifyHostKey(policy, key, cert)).toEqual({ ok: true });
  const other = hostCert('h2b', edCa, '-h', '-n', 'mx1.example.org');
  expect(verifyHostKey(policy, other.key, cert)).toMatchObject({
    ok: false,
    reason: 'certificate',
    message: expect.stringMatching(/not the certified key/),
  });
  expect(verifyHostKey(policy, key, undefined)).toMatchObject({
    ok: false,
    message: expect.stringMatching(/presented no host certificate.*Fix: on the CA: ssh-keygen -s/),
  });
  expect(verifyHostKey({ ...policy, host: 'mx1.other.org' }, key, cert)).toMatchObject({ ok: false, reason: 'unknown' });
});

test.each([
  ['another principal', ['-h', '-n', 'mx2.example.org'], /is for mx2.example.org, not for mx1.example.org/],
  ['an expired certificate', ['-h', '-n', 'mx1.example.org', '-V', '20200101:20200102'], /expired at 2020-01-02/],
  ['a certificate not valid yet', ['-h', '-n', 'mx1.example.org', '-V', '+3650d:+3660d'], /not valid before/],
  ['a user certificate', ['-n', 'mx1.example.org'], /user certificate, not a host certificate/],
  ['no principals', ['-h'], /names no principals/],
])('refused: %s', (_what, args, message) => {
  const { key, cert } = hostCert(`h-${_what.replace(/\W/g, '')}`, edCa, ...args);
  const v = verifyHostKey(policy, key, cert);
  expect(v).toMatchObject({ ok: false, reason: 'certificate' });
  if (!v.ok) expect(v.message).toMatch(message);
});

test('a certificate from a CA that no line lists, or with a tampered signature, is refused', () => {
  const stranger = ca('ca-stranger');
  const { key, cert } = hostCert('h3', stranger, '-h', '-n', 'mx1.example.org');
  expect(verifyHostKey(policy, key, cert)).toMatchObject({
    ok: false,
    message: expect.stringMatching(/which no @cert-authority line for it lists/),
  });
  const good = hostCert('h4', edCa, '-h', '-n', 'mx1.example.org');
  const forged = {
    ...good.cert,
    principals: ['mx1.example.org'],
    signedData: Buffer.concat([good.cert.signedData.subarray(0, -1), Buffer.from([good.cert.signedData.at(-1)! ^ 1])]),
  };
  expect(verifyHostKey(policy, good.key, forged)).toMatchObject({
    ok: false,
    message: expect.stringMatching(/CA signature that does not verify/),
  });
});

test('a CA marked @revoked is refused even though a @cert-authority line lists it', () => {
  const revokedKh = join(dir, 'known_hosts_revoked_ca');
  writeFileSync(revokedKh, `@cert-authority *.example.org ${pubLine(`${edCa}.pub`)}\n@revoked * ${pubLine(`${edCa}.pub`)}\n`);
  const { key, cert } = hostCert('h5', edCa, '-h', '-n', 'mx1.example.org');
  expect(verifyHostKey({ ...policy, knownHostsPath: revokedKh }, key, cert)).toMatchObject({
    ok: false,
    reason: 'revoked',
    message: expect.stringMatching(/the CA that signed the host certificate/),
  });
});

test.each([['rsa'], ['ecdsa']])('%s CAs verify too', (type) => {
  const other = ca(`ca-${type}`, type);
  const file = join(dir, `known_hosts_${type}`);
  writeFileSync(file, `@cert-authority mx1.example.org ${pubLine(`${other}.pub`)}\n`);
  const { key, cert } = hostCert(`h-${type}`, other, '-h', '-n', 'mx1.example.org');
  expect(verifyHostKey({ ...policy, knownHostsPath: file }, key, cert)).toEqual({ ok: true });
});
