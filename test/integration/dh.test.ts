/**
 * Issue 5's DhParameters proofs on a real lab host (legacyOldClients, the only profile that offers
 * DHE): the apply generates a >= 2048-bit group that the server really uses; bumping `generation`
 * rotates it (the file differs, and DHE still works, with the new group); the cron entry runs the
 * installed script; the installed script, run by hand with a pre-generated source (-i), rotates and
 * reloads.
 *
 * "The group the server really uses" is read off the wire: a TLS 1.2 DHE ServerKeyExchange carries
 * dh_p, compared byte for byte with the prime in the file.
 *
 * Keeping it lean on a shared machine: the openssl stand-in and private directories of
 * test/helpers/dh-lab.ts (CDKTF_POSTFIX_REAL_DH=1 generates for real).
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { HostReport } from '../../lib/apply/apply';
import { Lab, LabHost, startLab } from '../lab';
import { dhParameterBits, dhParameterPrime } from '../../lib/model/dh';
import { DH_ROTATE_EXIT, dhRotationArgv, renderDhCron } from '../../lib/render/dh-rotation';
import { applyStack } from '../helpers/deploy';
import { dheHandshake, dhStack, hostExec, prepareDhLabHost, selfSignedRsa } from '../helpers/dh-lab';

jest.setTimeout(240_000);

const DH_PATH = '/etc/postfix/dh2048.pem';
const SCRIPT = '/usr/local/sbin/cdktf-postfix-dh-rotate';
const CRON = '/etc/cron.d/cdktf-postfix-dh';
const REAL_DH = process.env.CDKTF_POSTFIX_REAL_DH === '1';

let lab: Lab;
let h: LabHost;
let dir: string;
let keyPem: string;
let certPem: string;
const build = (generation: string) => dhStack(h, certPem, { generation });

async function apply(stackDir: string): Promise<HostReport> {
  const [r] = await applyStack(stackDir);
  if (r.error) throw new Error(`apply failed: ${r.error}`);
  return r;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dh-proof-'));
  ({ keyPem, certPem } = selfSignedRsa(dir));
  process.env.TF_VAR_tls_key = keyPem;
  // The hand-run rotation's source: RFC 7919 ffdhe2048, instant to produce; and an X9.42 group
  // (openssl dhparam -dsaparam, under a second) that the script must refuse.
  const f = spawnSync(
    'openssl',
    ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', join(dir, 'ffdhe2048.pem')],
    { encoding: 'utf8' },
  );
  if (f.status !== 0) throw new Error(f.stderr);
  const x = spawnSync('openssl', ['dhparam', '-dsaparam', '-out', join(dir, 'x942.pem'), '2048'], { encoding: 'utf8' });
  if (x.status !== 0) throw new Error(x.stderr);

  lab = await startLab({ count: 1 });
  h = lab.hosts[0];
  await prepareDhLabHost(h, dir, REAL_DH);
  // The bind mounts stay inside the host's namespace: the machine's own paths are untouched.
  expect(spawnSync('findmnt', ['-n', '/usr/local/sbin']).status).not.toBe(0);
  expect(spawnSync('findmnt', ['-n', '/etc/cron.d']).status).not.toBe(0);
}, 180_000);

afterAll(async () => {
  delete process.env.TF_VAR_tls_key;
  await lab?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('DhParameters on a lab host', () => {
  let first: string;
  let firstReport: HostReport;

  it('the apply generates a group of >= 2048 bits, and DHE handshakes use it', async () => {
    firstReport = await apply(build('1'));
    expect(firstReport.result).toBe('applied');
    expect(firstReport.ran).toContain(`dhparam 2048 ${DH_PATH}`);
    first = h.readFile(DH_PATH);
    expect(dhParameterBits(first)).toBeGreaterThanOrEqual(2048);
    const check = await h.exec(['openssl', 'dhparam', '-in', DH_PATH, '-check', '-noout']);
    expect([check.code, `${check.stdout}${check.stderr}`.trim()]).toEqual([0, 'DH parameters appear to be ok.']);
    expect((await hostExec(h, ['postconf', '-h', 'smtpd_tls_dh1024_param_file'])).trim()).toBe(DH_PATH);

    const hs = await dheHandshake(h.address);
    expect(hs.established).toBe(true);
    expect(hs.protocol).toBe('TLSv1.2');
    expect(hs.cipher).toMatch(/^DHE-RSA-/);
    expect(hs.keyExchange).toEqual({ group: 'DH', bits: dhParameterBits(first) });
    expect(hs.prime?.toString('hex')).toBe(dhParameterPrime(first).toString('hex'));
  });

  it('the same generation again: nothing regenerated', async () => {
    const r = await apply(build('1'));
    expect(r.result).toBe('unchanged');
    expect(h.readFile(DH_PATH)).toBe(first);
  });

  it('bumping generation rotates: the file differs and DHE still works, with the new group', async () => {
    const r = await apply(build('2'));
    expect(r.result).toBe('applied');
    expect(r.ran).toContain(`dhparam 2048 ${DH_PATH}`);
    const second = h.readFile(DH_PATH);
    expect(second).not.toBe(first);
    expect(dhParameterBits(second)).toBeGreaterThanOrEqual(2048);
    const hs = await dheHandshake(h.address);
    expect(hs.established).toBe(true);
    expect(hs.cipher).toMatch(/^DHE-RSA-/);
    expect(hs.prime?.toString('hex')).toBe(dhParameterPrime(second).toString('hex'));
    expect(hs.prime?.toString('hex')).not.toBe(dhParameterPrime(first).toString('hex'));
  });

  it('installs the rotation script and a cron entry that runs it on the right file', async () => {
    expect((await hostExec(h, ['stat', '-c', '%a %U', SCRIPT])).trim()).toBe('755 root');
    const cron = h.readFile(CRON);
    const target = { path: DH_PATH, bits: 2048 };
    expect(cron).toBe(renderDhCron(target));
    expect(cron).toContain(`17 3 * * 0 root ${dhRotationArgv(target).join(' ')}\n`);
    expect(dhRotationArgv(target)).toEqual(['/bin/sh', SCRIPT, DH_PATH, '2048']);
    expect((await hostExec(h, ['stat', '-c', '%a %U', CRON])).trim()).toBe('644 root');
  });

  it('the installed script, run by hand with a pre-generated source, rotates and reloads', async () => {
    const before = h.readFile(DH_PATH);
    const source = readFileSync(join(dir, 'ffdhe2048.pem'), 'utf8');
    const pidBefore = (await hostExec(h, ['cat', '/var/spool/postfix/pid/master.pid'])).trim();
    const log = readFileSync(h.mailLogPath, 'utf8').length;
    // The cron entry's command, plus -i.
    const r = await h.exec(['/bin/sh', SCRIPT, '-i', join(dir, 'ffdhe2048.pem'), DH_PATH, '2048']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(DH_ROTATE_EXIT.OK);
    const after = h.readFile(DH_PATH);
    expect(after).not.toBe(before);
    expect(after).toBe(source);
    expect((await hostExec(h, ['stat', '-c', '%a %U', DH_PATH])).trim()).toBe('644 root');
    expect((await hostExec(h, ['ls', '-a', '/etc/postfix'])).split('\n').filter((f) => /^dh2048\.pem\./.test(f))).toEqual([]);
    // Reloaded, not restarted: same master pid, "reload" in the log, and the new group on the wire.
    expect((await hostExec(h, ['cat', '/var/spool/postfix/pid/master.pid'])).trim()).toBe(pidBefore);
    const end = Date.now() + 15_000;
    while (!/reload -- version/.test(readFileSync(h.mailLogPath, 'utf8').slice(log)) && Date.now() < end)
      await new Promise((res) => setTimeout(res, 200));
    expect(readFileSync(h.mailLogPath, 'utf8').slice(log)).toMatch(/reload -- version/);
    const hs = await dheHandshake(h.address);
    expect(hs.established).toBe(true);
    expect(hs.prime?.toString('hex')).toBe(dhParameterPrime(source).toString('hex'));
  });

  it('the script refuses X9.42 (-dsaparam) parameters, which Postfix 3.7 cannot load, and keeps the working file', async () => {
    const before = h.readFile(DH_PATH);
    const r = await h.exec(['/bin/sh', SCRIPT, '-i', join(dir, 'x942.pem'), DH_PATH, '2048']);
    expect(r.code).toBe(DH_ROTATE_EXIT.CHECK);
    expect(r.stderr).toMatch(/not PKCS#3/);
    expect(h.readFile(DH_PATH)).toBe(before);
    expect((await hostExec(h, ['ls', '-a', '/etc/postfix'])).split('\n').filter((f) => /^dh2048\.pem\./.test(f))).toEqual([]);
  });

  it('no smtpd ever failed to load the DH file', () => {
    expect(readFileSync(h.mailLogPath, 'utf8')).not.toMatch(/error decoding DH parameters/);
  });
});
