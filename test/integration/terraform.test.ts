/**
 * The real Terraform (and the real `cdktf deploy`) against lab hosts: terraform_data + local-exec
 * runs the bundled runner, `terraform plan` shows main.cf line diffs, destroy restores the host.
 * Offline: terraform_data needs no provider. Needs root, the lab's Debian packages and `npm run build`.
 */
import { createHash } from 'crypto';
import { mkdtempSync, readFileSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, LocalBackend } from 'cdktf';
import { Lab, LabHost, startLab } from '../lab';
import { MailHostStack } from '../../examples/mail-host/main';
import {
  cdktf,
  expectOk,
  filesContaining,
  REPO_ROOT,
  mailHostProject,
  smtpGreeting,
  stripAnsi,
  terraform,
  terraformEnv,
} from '../helpers/terraform';

jest.setTimeout(300_000);

/** The env examples/mail-host reads, pointed at a lab host. */
function mailEnv(h: LabHost): Record<string, string> {
  return {
    MAIL_HOST: h.address,
    MAIL_SSH_USER: 'root',
    MAIL_SSH_KEY: h.privateKeyPath,
    MAIL_KNOWN_HOSTS: h.knownHostsPath,
    MAIL_HOSTNAME: h.hostname,
  };
}

/** Synthesizes MailHostStack into outdir with its state beside cdk.tf.json; returns the stack dir. */
function synthMailHost(outdir: string, h: LabHost, messageSizeLimit?: number): string {
  const stackDir = join(outdir, 'stacks', 'mail');
  const app = new App({ outdir });
  const stack = new MailHostStack(app, 'mail', { env: mailEnv(h) });
  new LocalBackend(stack, { path: join(stackDir, 'terraform.tfstate') });
  if (messageSizeLimit !== undefined) stack.host.state.replaceParameter('message_size_limit', String(messageSizeLimit), 'terraform.test');
  app.synth();
  return stackDir;
}

async function postconf(h: LabHost, ...args: string[]): Promise<string> {
  const r = await h.exec(['postconf', ...args]);
  if (r.code !== 0) throw new Error(`postconf ${args.join(' ')} on ${h.name}: exit ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

/** What the lab host looks like before any apply (compared after destroy). */
interface HostSnapshot {
  readonly nonDefault: string;
  readonly services: string;
}

async function snapshot(h: LabHost): Promise<HostSnapshot> {
  return { nonDefault: await postconf(h, '-n'), services: await postconf(h, '-M') };
}

async function expectMailHostApplied(h: LabHost, messageSizeLimit: number): Promise<void> {
  expect(await postconf(h, '-h', 'message_size_limit')).toBe(String(messageSizeLimit));
  expect(await postconf(h, '-h', 'smtpd_banner')).toBe('$myhostname ESMTP');
  expect(await postconf(h, '-M', 'submission/inet')).toMatch(/^submission\s+inet\b.*smtpd_tls_security_level=encrypt/);
  expect(await postconf(h, '-M', 'submissions/inet')).toMatch(/smtpd_tls_wrappermode=yes/);
  const smtp = await smtpGreeting(h.address);
  expect(smtp.banner).toBe(`220 ${h.hostname} ESMTP`);
  expect(smtp.ehlo).toContain(`250-SIZE ${messageSizeLimit}`);
}

async function expectRestored(h: LabHost, before: HostSnapshot): Promise<void> {
  const after = await snapshot(h);
  expect(after.nonDefault).toBe(before.nonDefault);
  expect(after.services).toBe(before.services);
  expect(after.nonDefault).not.toMatch(/^message_size_limit/m);
  const smtp = await smtpGreeting(h.address);
  expect(smtp.banner).toBe(`220 ${h.hostname} ESMTP Postfix (Debian/GNU)`);
}

/**
 * No private key material in the stack directory or state: the lab key's base64 body appears nowhere,
 * and "PRIVATE KEY" appears only in the runner asset's apply code (byte-identical to
 * dist/runner/cdktf-postfix-apply.js: ssh2 ships a built-in throwaway ed25519 key it uses to probe
 * crypto support, and its PEM parsers).
 */
function expectNoPrivateKey(h: LabHost, ...dirsOrFiles: string[]): void {
  const keyBody = readFileSync(h.privateKeyPath, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'));
  expect(keyBody.length).toBeGreaterThan(0);
  const runnerSha = sha256(readFileSync(join(REPO_ROOT, 'dist', 'runner', 'cdktf-postfix-apply.js')));
  for (const p of dirsOrFiles) {
    const files = statSync(p).isDirectory() ? filesContaining(p, '') : [p];
    for (const f of files) {
      const text = readFileSync(f);
      for (const line of keyBody) expect({ file: f, hasKeyLine: text.includes(line) }).toEqual({ file: f, hasKeyLine: false });
      if (text.includes('PRIVATE KEY')) expect({ file: f, sha256: sha256(text) }).toEqual({ file: f, sha256: runnerSha });
    }
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('terraform against a lab host', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await startLab({ count: 2, name: `jest-terraform-${process.pid}` });
  });

  afterAll(async () => {
    await lab?.stop();
  });

  it('terraform init/apply, plan shows the main.cf line diff, apply the change, destroy restores', async () => {
    const h = lab.hosts[0];
    const before = await snapshot(h);
    expect(before.nonDefault).not.toMatch(/^message_size_limit/m);
    const outdir = mkdtempSync(join(tmpdir(), 'cdktf-postfix-tf-'));

    // First apply.
    const stackDir = synthMailHost(outdir, h);
    expectOk(await terraform(stackDir, ['init', '-input=false', '-no-color']));
    const first = expectOk(await terraform(stackDir, ['apply', '-auto-approve', '-input=false', '-no-color']));
    expect(first.stdout).toMatch(/local-exec\): mail\/mx \(127\.0\.0\.\d+\): applied in \d+ ms/);
    expect(first.stdout).toContain('~ main.cf message_size_limit');
    expect(first.stdout).toContain('Apply complete! Resources: 2 added, 0 changed, 0 destroyed.'); // the apply and its placement
    await expectMailHostApplied(h, 25_000_000);

    // Nothing to do on a second plan.
    const same = await terraform(stackDir, ['plan', '-detailed-exitcode', '-input=false', '-no-color']);
    expectOk(same);
    expect(same.stdout).toContain('No changes.');

    // Change one setting: the plan shows the old line with - and the new with + inside main_cf.
    synthMailHost(outdir, h, 30_000_000);
    const plan = expectOk(await terraform(stackDir, ['plan', '-detailed-exitcode', '-input=false', '-no-color']), [2]);
    const mainCf = /~ main_cf\s+= <<-EOT\n([\s\S]*?)\n\s*EOT/.exec(plan.stdout);
    expect(mainCf).not.toBeNull();
    expect(mainCf![1]).toMatch(/^\s*- message_size_limit = 25000000$/m);
    expect(mainCf![1]).toMatch(/^\s*\+ message_size_limit = 30000000$/m);
    expect(mainCf![1]).toMatch(/^\s+myhostname = /m); // unchanged lines appear without a sign
    expect(plan.stdout).toMatch(/Plan: 1 to add, 1 to change, 1 to destroy\./); // the placement records the new bundle hash in place

    const second = expectOk(await terraform(stackDir, ['apply', '-auto-approve', '-input=false', '-no-color']));
    expect(second.stdout).toMatch(/applied in \d+ ms/);
    expect(second.stdout).toContain('~ main.cf message_size_limit');
    // create_before_destroy: the old apply object goes without a destroy step; the placement (same address) stays.
    expect(second.stdout).toContain('Apply complete! Resources: 1 added, 1 changed, 1 destroyed.');
    expect(second.stdout).not.toMatch(/removed in \d+ ms/);
    await expectMailHostApplied(h, 30_000_000);

    expectNoPrivateKey(h, stackDir);
    expect(readFileSync(join(stackDir, 'terraform.tfstate'), 'utf8')).toContain(h.privateKeyPath); // only the path

    const destroy = expectOk(await terraform(stackDir, ['destroy', '-auto-approve', '-input=false', '-no-color']));
    expect(destroy.stdout).toMatch(/removed in \d+ ms/);
    expect(destroy.stdout).toContain('Destroy complete! Resources: 2 destroyed.');
    await expectRestored(h, before);
    expectNoPrivateKey(h, stackDir);
  });

  it('cdktf deploy / cdktf destroy run for real, offline, from a project whose app is the built example', async () => {
    const h = lab.hosts[1];
    const before = await snapshot(h);
    const project = mailHostProject();
    const env = terraformEnv(mailEnv(h));

    const deploy = expectOk(await cdktf(project, ['deploy', '--auto-approve', '--no-color', 'mail'], env));
    const out = stripAnsi(deploy.stdout + deploy.stderr);
    expect(out).toMatch(/mail\/mx \(127\.0\.0\.\d+\): applied in \d+ ms/);
    expect(out).toContain('Apply complete! Resources: 2 added, 0 changed, 0 destroyed.');
    await expectMailHostApplied(h, 25_000_000);

    // cdktf keeps its local state in the project directory: terraform.<stack>.tfstate.
    const state = join(project, 'terraform.mail.tfstate');
    expectNoPrivateKey(h, join(project, 'cdktf.out'), state);

    const again = expectOk(await cdktf(project, ['diff', '--no-color', 'mail'], env));
    expect(stripAnsi(again.stdout + again.stderr)).toMatch(/No changes/);

    const destroy = expectOk(await cdktf(project, ['destroy', '--auto-approve', '--no-color', 'mail'], env));
    expect(stripAnsi(destroy.stdout + destroy.stderr)).toMatch(/removed in \d+ ms/);
    await expectRestored(h, before);
  });
});
