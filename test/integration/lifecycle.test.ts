/**
 * A host's whole life with the real `cdktf deploy` (terraform_data, offline) on two lab hosts:
 * create; change a setting; change the TLS key that comes from another resource (a sensitive
 * variable); upgrade the library (a runner that differs but keeps the bundle format: the plan is
 * empty); move to a new address (the new host is configured, the old one cleaned); destroy (managed
 * files and record removed, the stock configuration back and Postfix running). After each step the
 * host's files are checked and a real SMTP session (EHLO, a message accepted, the served certificate)
 * is made. The library is a copy of dist/ in a temporary "installed package", so the upgrade step
 * can change its runner file as an upgrade would.
 * Needs root, the lab's Debian packages and `npm run build`.
 */
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'fs';
import { X509Certificate } from 'crypto';
import { tmpdir } from 'os';
import { join } from 'path';
import { Lab, LabHost, startLab } from '../lab';
import { checkTls } from '../../lib/probe/tls-check';
import { cdktf, CommandResult, expectOk, REPO_ROOT, stripAnsi, terraform, terraformEnv } from '../helpers/terraform';
import { sendMail, smtpGreeting } from '../helpers/smtp-client';
import { selfSigned } from '../helpers/certs';

jest.setTimeout(900_000);

const TLS_FILE = '/etc/postfix/tls/server.pem';
const RECORD_DIR = '/etc/postfix/.cdktf-postfix';
const BANNER = '$myhostname ESMTP lifecycle';

interface KeyPair {
  readonly keyPem: string;
  readonly certPem: string;
  readonly fingerprint: string;
}

function keyPair(dir: string, cn: string): KeyPair {
  const { keyPem, certPem } = selfSigned(dir, { cn, name: cn });
  return { keyPem, certPem, fingerprint: new X509Certificate(certPem).fingerprint256 };
}

/** The program `cdktf` runs: one PostfixHost whose TLS key is a sensitive variable (TF_VAR_tls_key). */
const APP = `
const { readFileSync } = require('fs');
const { App, TerraformStack, TerraformVariable } = require('cdktf');
const lib = require(process.env.LIFECYCLE_PACKAGE + '/dist/index.js');
const cfg = JSON.parse(readFileSync(__dirname + '/lifecycle.json', 'utf8'));
const app = new App();
const stack = new TerraformStack(app, 'mail');
const host = new lib.PostfixHost(stack, 'mx', { connection: cfg.connection, settings: cfg.settings });
const key = new TerraformVariable(stack, 'tls_key', { type: 'string', sensitive: true });
new lib.TlsPolicy(host, 'tls', { certificates: [{ privateKeyPem: key.stringValue, certificatePem: cfg.certPem }] });
app.synth();
`;

let lab: Lab;
let dir: string;
let pkg: string;
let project: string;
let pairs: KeyPair[];
const stock = new Map<string, { main: string; master: string }>();
let keyPem = '';

function configure(h: LabHost, messageSizeLimit: number, pair: KeyPair): void {
  keyPem = pair.keyPem;
  writeFileSync(
    join(project, 'lifecycle.json'),
    JSON.stringify({
      connection: { host: h.address, privateKeyPath: h.privateKeyPath, knownHostsPath: h.knownHostsPath },
      settings: { message_size_limit: messageSizeLimit, smtpd_banner: BANNER },
      certPem: pair.certPem,
    }),
  );
}

const env = () => terraformEnv({ LIFECYCLE_PACKAGE: pkg, TF_VAR_tls_key: keyPem });
const output = (r: CommandResult) => stripAnsi(r.stdout + r.stderr);

async function deploy(): Promise<string> {
  return output(expectOk(await cdktf(project, ['deploy', '--auto-approve', '--no-color', 'mail'], env())));
}

async function sh(h: LabHost, script: string): Promise<string> {
  return (await h.exec(['sh', '-c', script])).stdout.trim();
}

/** The host carries this stack's configuration: settings, the key file, the record; SMTP answers with them and the certificate. */
async function expectConfigured(h: LabHost, messageSizeLimit: number, pair: KeyPair): Promise<void> {
  expect(await sh(h, 'postconf -h message_size_limit smtpd_banner')).toBe(`${messageSizeLimit}\n${BANNER}`);
  expect(await sh(h, `stat -c '%a %U' ${TLS_FILE}`)).toBe('600 root');
  expect(h.readFile(TLS_FILE)).toContain(pair.keyPem.trim());
  expect(await sh(h, `test -s ${RECORD_DIR}/applied_sha256 && echo recorded`)).toBe('recorded');
  expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP lifecycle`);
  expect(await sendMail(h.address, 'sender@lab.test', `root@${h.hostname}`, 'lifecycle')).toMatch(/^250 /);
  const tls = await checkTls({ host: h.address, port: 25, mode: 'starttls' }, { minProtocol: 'TLSv1.2' }, { verifyHostname: false });
  expect(tls.certificate?.fingerprint256).toBe(pair.fingerprint);
}

/** The host is back to the distribution's configuration, nothing of ours left, Postfix running and taking mail. */
async function expectStock(h: LabHost): Promise<void> {
  expect(await sh(h, 'postconf -n')).toBe(stock.get(h.name)!.main);
  expect(await sh(h, 'postconf -M')).toBe(stock.get(h.name)!.master);
  expect(await sh(h, `test -e ${RECORD_DIR} && echo RECORD-LEFT; find /etc/postfix -name '*cdktf*'; :`)).toBe('');
  // The key file is gone, and so is the tls/ directory the transaction created for it.
  expect(await sh(h, 'test -e /etc/postfix/tls && echo TLS-DIR-LEFT; :')).toBe('');
  expect((await h.exec(['postfix', 'status'])).code).toBe(0);
  expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP Postfix (Debian/GNU)`);
  expect(await sendMail(h.address, 'sender@lab.test', `root@${h.hostname}`, 'after')).toMatch(/^250 /);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cdktf-postfix-lifecycle-'));
  pairs = [keyPair(dir, 'first.lab.test'), keyPair(dir, 'second.lab.test')];
  // The "installed package": dist/ as npm would unpack it, resolving cdktf from the repository.
  pkg = join(dir, 'pkg');
  if (!existsSync(join(REPO_ROOT, 'dist', 'runner', 'cdktf-postfix-runner.js'))) throw new Error('run `npm run build` first');
  cpSync(join(REPO_ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(pkg, 'node_modules'));
  project = join(dir, 'project');
  mkdirSync(project);
  writeFileSync(
    join(project, 'cdktf.json'),
    JSON.stringify({
      language: 'typescript',
      app: 'node app.js',
      projectId: 'cdktf-postfix-lifecycle',
      sendCrashReports: 'false',
      terraformProviders: [],
      terraformModules: [],
      context: {},
    }),
  );
  writeFileSync(join(project, 'app.js'), APP);
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(project, 'node_modules'));
  lab = await startLab({ count: 2 });
  for (const h of lab.hosts) stock.set(h.name, { main: await sh(h, 'postconf -n'), master: await sh(h, 'postconf -M') });
}, 180_000);

afterAll(async () => {
  await lab?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('one host, created, changed, re-keyed, upgraded, moved and destroyed with cdktf deploy', () => {
  const timings: Record<string, number> = {};
  const step = async (name: string, fn: () => Promise<void>) => {
    const t = Date.now();
    await fn();
    timings[name] = Date.now() - t;
  };
  afterAll(() => process.stdout.write(`lifecycle step times (ms): ${JSON.stringify(timings)}\n`));

  test('create', () =>
    step('create', async () => {
      const [h1, h2] = lab.hosts;
      configure(h1, 20_000_000, pairs[0]);
      const out = await deploy();
      expect(out).toContain('Apply complete! Resources: 2 added, 0 changed, 0 destroyed.');
      await expectConfigured(h1, 20_000_000, pairs[0]);
      await expectStock(h2);
    }));

  test('change a setting: one replace, the new value live', () =>
    step('setting', async () => {
      configure(lab.hosts[0], 30_000_000, pairs[0]);
      const out = await deploy();
      expect(out).toContain('Apply complete! Resources: 1 added, 1 changed, 1 destroyed.');
      await expectConfigured(lab.hosts[0], 30_000_000, pairs[0]);
    }));

  test('change the TLS key that comes from a sensitive variable: the new key is served', () =>
    step('tls key', async () => {
      configure(lab.hosts[0], 30_000_000, pairs[1]);
      const out = await deploy();
      // The bundle is the same (the key is not in it), so the placement's recorded bundle hash stays.
      expect(out).toContain('Apply complete! Resources: 1 added, 0 changed, 1 destroyed.');
      expect(out).not.toContain(pairs[1].keyPem.split('\n')[1]);
      await expectConfigured(lab.hosts[0], 30_000_000, pairs[1]);
    }));

  test('upgrade the library (a different runner, same bundle format): the plan is empty', () =>
    step('upgrade', async () => {
      const runner = join(pkg, 'dist', 'runner', 'cdktf-postfix-runner.js');
      appendFileSync(runner, '\n// cdktf-postfix lifecycle test: an upgraded runner\n');
      const diff = output(expectOk(await cdktf(project, ['diff', '--no-color', 'mail'], env())));
      expect(diff).toMatch(/No changes/);
      const stackDir = join(project, 'cdktf.out', 'stacks', 'mail');
      const assets = readdirSync(join(stackDir, 'assets', 'CdktfPostfixRunner'));
      expect(assets).toHaveLength(1);
      expect(readFileSync(join(stackDir, 'assets', 'CdktfPostfixRunner', assets[0], 'cdktf-postfix-runner.js'), 'utf8')).toContain(
        'an upgraded runner',
      );
      const plan = await terraform(stackDir, ['plan', '-detailed-exitcode', '-input=false', '-no-color'], env());
      expect({ code: plan.code, out: plan.stdout.includes('No changes.') ? 'No changes.' : plan.stdout + plan.stderr }).toEqual({
        code: 0,
        out: 'No changes.',
      });
      const again = await deploy();
      expect(again).toMatch(/No changes|Apply complete! Resources: 0 added, 0 changed, 0 destroyed/);
      await expectConfigured(lab.hosts[0], 30_000_000, pairs[1]);
    }));

  test('move to a new address: the new host is configured and the old one cleaned', () =>
    step('move', async () => {
      const [h1, h2] = lab.hosts;
      configure(h2, 30_000_000, pairs[1]);
      const out = await deploy();
      expect(out).toMatch(/removed in \d+ ms/);
      expect(out).toContain('Apply complete! Resources: 2 added, 0 changed, 2 destroyed.');
      await expectConfigured(h2, 30_000_000, pairs[1]);
      await expectStock(h1);
    }));

  test('destroy: managed files and record removed, stock configuration, Postfix running', () =>
    step('destroy', async () => {
      const out = output(expectOk(await cdktf(project, ['destroy', '--auto-approve', '--no-color', 'mail'], env())));
      expect(out).toMatch(/removed in \d+ ms/);
      expect(out).toContain('Destroy complete! Resources: 2 destroyed.');
      await expectStock(lab.hosts[1]);
      await expectStock(lab.hosts[0]);
    }));
});
