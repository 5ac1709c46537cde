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
 * Keeping it lean on a shared machine: real `openssl dhparam 2048` takes 13-57 s here and is already
 * run once by test/unit/dh.test.ts through the same script. So inside this lab host's private mount
 * namespace (and only there), /usr/bin/openssl is bind-mounted with a wrapper that answers exactly
 * `openssl dhparam -out FILE BITS` with the next RFC 7919 group (ffdhe3072, then ffdhe4096, ...):
 * instant, PKCS#3 like dhparam's output, safe primes that pass `openssl dhparam -check`, each one
 * different, and none of them the ffdhe2048 that OpenSSL falls back to for a 2048-bit RSA key when
 * the file cannot be used. (Fast `-dsaparam` groups would not do: Postfix 3.7 cannot load X9.42
 * parameters, which is proven below.) Every other call goes to the real binary. Set
 * CDKTF_POSTFIX_REAL_DH=1 to generate for real. /etc/cron.d and /usr/local/sbin are not lab-host
 * directories, so they are bind-mounted over with private directories too: the test never installs
 * anything on the machine itself.
 */
import { spawnSync } from 'child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { TerraformStack, TerraformVariable } from 'cdktf';
import { HostReport } from '../../lib/apply/apply';
import { Lab, LabHost, startLab } from '../lab';
import { dhParameterBits, dhParameterPrime } from '../../lib/model/dh';
import { DH_ROTATE_EXIT, dhRotationArgv, renderDhCron } from '../../lib/render/dh-rotation';
import { parseBriefOutput } from '../../lib/probe/tls-check';
import { PostfixHost } from '../../constructs/postfix-host';
import { TlsPolicy, TlsProfile } from '../../constructs/tls-policy';
import { DhParameters } from '../../constructs/dh-parameters';
import { applyStack, labConnection, synthStack } from '../helpers/deploy';
import { run } from '../helpers/run';

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


async function hostExec(argv: string[]): Promise<string> {
  const r = await h.exec(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** dh_p from the first TLS 1.2 ServerKeyExchange in `openssl s_client -msg` output. */
function serverKeyExchangePrime(msgOutput: string): Buffer | undefined {
  const lines = msgOutput.split('\n');
  const at = lines.findIndex((l) => /^<<< TLS 1\.2, Handshake \[length [0-9a-f]+\], ServerKeyExchange/.test(l));
  if (at < 0) return undefined;
  const hex: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (!/^\s+[0-9a-f]{2}( [0-9a-f]{2})*\s*$/.test(l)) break;
    hex.push(...l.trim().split(/\s+/));
  }
  const bytes = Buffer.from(hex.join(''), 'hex');
  // handshake type (0x0c), 3-byte length, then ServerDHParams: dh_p<1..2^16-1>, dh_g, dh_Ys.
  if (bytes[0] !== 0x0c) return undefined;
  const pLen = bytes.readUInt16BE(4);
  return bytes.subarray(6, 6 + pLen);
}

/** A TLS 1.2 DHE handshake on port 25 (STARTTLS): what was negotiated, and the group's prime. */
async function dheHandshake() {
  const r = await run('openssl', ['s_client', '-connect', `${h.address}:25`, '-starttls', 'smtp', '-tls1_2',
    '-cipher', 'DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256', '-brief', '-msg']);
  const text = `${r.stdout}\n${r.stderr}`;
  return { ...parseBriefOutput(text), prime: serverKeyExchangePrime(text), text };
}

function build(generation: string): string {
  return synthStack((stack: TerraformStack) => {
    const host = new PostfixHost(stack, 'mx', { connection: labConnection(h) });
    // The key is a token, resolved at apply time from TF_VAR_tls_key (never written into the stack).
    const key = new TerraformVariable(stack, 'tls_key', { type: 'string', sensitive: true });
    new TlsPolicy(host, 'tls', { profile: TlsProfile.LEGACY_OLD_CLIENTS, certificates: [{ privateKeyPem: key.stringValue, certificatePem: certPem }] });
    new DhParameters(host, 'dh', { generation });
  });
}

async function apply(stackDir: string): Promise<HostReport> {
  const [r] = await applyStack(stackDir);
  if (r.error) throw new Error(`apply failed: ${r.error}`);
  return r;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dh-proof-'));
  const g = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3', '-subj', '/CN=host1.lab.test',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
  if (g.status !== 0) throw new Error(g.stderr);
  keyPem = readFileSync(join(dir, 'key.pem'), 'utf8');
  process.env.TF_VAR_tls_key = keyPem;
  certPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
  // The hand-run rotation's source: RFC 7919 ffdhe2048, instant to produce; and an X9.42 group
  // (openssl dhparam -dsaparam, under a second) that the script must refuse.
  const f = spawnSync('openssl', ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', join(dir, 'ffdhe2048.pem')], { encoding: 'utf8' });
  if (f.status !== 0) throw new Error(f.stderr);
  const x = spawnSync('openssl', ['dhparam', '-dsaparam', '-out', join(dir, 'x942.pem'), '2048'], { encoding: 'utf8' });
  if (x.status !== 0) throw new Error(x.stderr);

  lab = await startLab({ count: 1 });
  h = lab.hosts[0];
  // Private /etc/cron.d and /usr/local/sbin for this host (see the header comment).
  for (const [name, target] of [['cron.d', '/etc/cron.d'], ['sbin', '/usr/local/sbin']]) {
    mkdirSync(join(dir, name), { mode: 0o755 });
    await hostExec(['mount', '--bind', join(dir, name), target]);
  }
  if (!REAL_DH) {
    copyFileSync('/usr/bin/openssl', join(dir, 'openssl.real'));
    chmodSync(join(dir, 'openssl.real'), 0o755);
    const real = join(dir, 'openssl.real');
    const counter = join(dir, 'dhparam-calls');
    writeFileSync(join(dir, 'openssl'), `#!/bin/sh
# Test stand-in (dh.test.ts): 'dhparam -out FILE BITS' gets the next RFC 7919 group; the rest is real openssl.
if [ $# -eq 4 ] && [ "$1" = dhparam ] && [ "$2" = -out ]; then
  n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${counter}
  case $n in 1) g=ffdhe3072 ;; 2) g=ffdhe4096 ;; *) g=ffdhe6144 ;; esac
  exec ${real} genpkey -genparam -algorithm DH -pkeyopt group:$g -out "$3"
fi
exec ${real} "$@"
`, { mode: 0o755 });
    await hostExec(['mount', '--bind', join(dir, 'openssl'), '/usr/bin/openssl']);
  }
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
    expect((await hostExec(['postconf', '-h', 'smtpd_tls_dh1024_param_file'])).trim()).toBe(DH_PATH);

    const hs = await dheHandshake();
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
    const hs = await dheHandshake();
    expect(hs.established).toBe(true);
    expect(hs.cipher).toMatch(/^DHE-RSA-/);
    expect(hs.prime?.toString('hex')).toBe(dhParameterPrime(second).toString('hex'));
    expect(hs.prime?.toString('hex')).not.toBe(dhParameterPrime(first).toString('hex'));
  });

  it('installs the rotation script and a cron entry that runs it on the right file', async () => {
    expect((await hostExec(['stat', '-c', '%a %U', SCRIPT])).trim()).toBe('755 root');
    const cron = h.readFile(CRON);
    const target = { path: DH_PATH, bits: 2048 };
    expect(cron).toBe(renderDhCron(target));
    expect(cron).toContain(`17 3 * * 0 root ${dhRotationArgv(target).join(' ')}\n`);
    expect(dhRotationArgv(target)).toEqual(['/bin/sh', SCRIPT, DH_PATH, '2048']);
    expect((await hostExec(['stat', '-c', '%a %U', CRON])).trim()).toBe('644 root');
  });

  it('the installed script, run by hand with a pre-generated source, rotates and reloads', async () => {
    const before = h.readFile(DH_PATH);
    const source = readFileSync(join(dir, 'ffdhe2048.pem'), 'utf8');
    const pidBefore = (await hostExec(['cat', '/var/spool/postfix/pid/master.pid'])).trim();
    const log = readFileSync(h.mailLogPath, 'utf8').length;
    // The cron entry's command, plus -i.
    const r = await h.exec(['/bin/sh', SCRIPT, '-i', join(dir, 'ffdhe2048.pem'), DH_PATH, '2048']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(DH_ROTATE_EXIT.OK);
    const after = h.readFile(DH_PATH);
    expect(after).not.toBe(before);
    expect(after).toBe(source);
    expect((await hostExec(['stat', '-c', '%a %U', DH_PATH])).trim()).toBe('644 root');
    expect((await hostExec(['ls', '-a', '/etc/postfix'])).split('\n').filter((f) => /^dh2048\.pem\./.test(f))).toEqual([]);
    // Reloaded, not restarted: same master pid, "reload" in the log, and the new group on the wire.
    expect((await hostExec(['cat', '/var/spool/postfix/pid/master.pid'])).trim()).toBe(pidBefore);
    const end = Date.now() + 15_000;
    while (!/reload -- version/.test(readFileSync(h.mailLogPath, 'utf8').slice(log)) && Date.now() < end) await new Promise((res) => setTimeout(res, 200));
    expect(readFileSync(h.mailLogPath, 'utf8').slice(log)).toMatch(/reload -- version/);
    const hs = await dheHandshake();
    expect(hs.established).toBe(true);
    expect(hs.prime?.toString('hex')).toBe(dhParameterPrime(source).toString('hex'));
  });

  it('the script refuses X9.42 (-dsaparam) parameters, which Postfix 3.7 cannot load, and keeps the working file', async () => {
    const before = h.readFile(DH_PATH);
    const r = await h.exec(['/bin/sh', SCRIPT, '-i', join(dir, 'x942.pem'), DH_PATH, '2048']);
    expect(r.code).toBe(DH_ROTATE_EXIT.CHECK);
    expect(r.stderr).toMatch(/not PKCS#3/);
    expect(h.readFile(DH_PATH)).toBe(before);
    expect((await hostExec(['ls', '-a', '/etc/postfix'])).split('\n').filter((f) => /^dh2048\.pem\./.test(f))).toEqual([]);
  });

  it('no smtpd ever failed to load the DH file', () => {
    expect(readFileSync(h.mailLogPath, 'utf8')).not.toMatch(/error decoding DH parameters/);
  });
});
