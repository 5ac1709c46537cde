/**
 * resourceType 'null_resource': hashicorp/null cannot be installed offline, so this test plays
 * Terraform's part: it reads cdk.tf.json and runs exactly the local-exec provisioners of the
 * null_resource (cwd = the stack directory, env = process.env + the provisioner's environment,
 * argv = interpreter + [command]); the destroy step's `${self.triggers.X}` come from the resource's
 * triggers, as Terraform resolves them from state.
 */
import { spawn } from 'child_process';
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, TerraformStack } from 'cdktf';
import { HostResourceType, PostfixHost, Submission, Submissions } from '../../index';
import { Lab, LabHost, startLab } from '../lab';
import { labConnection } from '../helpers/deploy';
import { smtpGreeting } from '../helpers/terraform';

jest.setTimeout(180_000);

interface LocalExec {
  interpreter: string[];
  command: string;
  environment?: Record<string, string>;
  when?: string;
}

interface NullResourceJson {
  triggers: Record<string, string>;
  provisioner: { 'local-exec': LocalExec }[];
  lifecycle?: { create_before_destroy?: boolean };
}

interface StackJson {
  provider?: Record<string, unknown[]>;
  terraform?: { required_providers?: Record<string, { source: string; version?: string }> };
  resource?: Record<string, Record<string, NullResourceJson>>;
}

function synth(outdir: string, h: LabHost, messageSizeLimit: number): { stackDir: string; json: StackJson } {
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'mail');
  const host = new PostfixHost(stack, 'mx', {
    connection: labConnection(h),
    resourceType: HostResourceType.NULL_RESOURCE,
    settings: { myhostname: h.hostname, message_size_limit: messageSizeLimit, smtpd_banner: '$myhostname ESMTP' },
  });
  host.addService(Submission.starttls());
  host.addService(Submissions.implicitTls());
  app.synth();
  const stackDir = join(outdir, 'stacks', 'mail');
  return { stackDir, json: JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as StackJson };
}

function theNullResource(json: StackJson): { name: string; resource: NullResourceJson } {
  expect(Object.keys(json.resource ?? {})).toEqual(['null_resource']);
  const entries = Object.entries(json.resource!.null_resource);
  expect(entries).toHaveLength(1);
  return { name: entries[0][0], resource: entries[0][1] };
}

/** Terraform's interpolation of `${self.triggers.X}` (the only references a destroy provisioner may use). */
function resolveSelf(text: string, triggers: Record<string, string>): string {
  return text.replace(/\$\{([^}]*)\}/g, (whole, expr: string) => {
    const m = /^self\.triggers\.([A-Za-z0-9_-]+)$/.exec(expr.trim());
    if (!m) throw new Error(`unexpected interpolation ${whole}`);
    if (!(m[1] in triggers)) throw new Error(`${whole}: no trigger ${m[1]} (Terraform would fail: unsupported attribute)`);
    return triggers[m[1]];
  });
}

function provisioner(resource: NullResourceJson, when: 'create' | 'destroy'): LocalExec {
  const found = resource.provisioner.map((p) => p['local-exec']).filter((p) => (p.when ?? 'create') === when);
  expect(found).toHaveLength(1);
  return found[0];
}

/** Runs one local-exec the way Terraform does; returns its output. */
function runLocalExec(
  stackDir: string,
  exec: LocalExec,
  triggers: Record<string, string> | undefined,
): Promise<{ code: number; output: string }> {
  const sub = (s: string) => (triggers ? resolveSelf(s, triggers) : s);
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries(exec.environment ?? {})) environment[k] = sub(v);
  if (!triggers) {
    for (const [k, v] of Object.entries(environment)) expect({ [k]: v.includes('${') }).toEqual({ [k]: false });
  }
  const argv = [...exec.interpreter.map(sub), sub(exec.command)];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: stackDir,
      env: { ...process.env, ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

async function postconf(h: LabHost, ...args: string[]): Promise<string> {
  const r = await h.exec(['postconf', ...args]);
  if (r.code !== 0) throw new Error(`postconf ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

describe('null_resource stack, provisioners run as Terraform would', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await startLab({ count: 1, name: `jest-null-${process.pid}` });
  });

  afterAll(async () => {
    await lab?.stop();
  });

  it('declares the null provider and carries everything destroy needs in triggers', () => {
    const h = lab.hosts[0];
    const { json } = synth(mkdtempSync(join(tmpdir(), 'cdktf-postfix-null-')), h, 25_000_000);
    // "null" is Terraform's shorthand for registry.terraform.io/hashicorp/null.
    expect(json.terraform?.required_providers?.null?.source).toMatch(/^((registry\.terraform\.io\/)?hashicorp\/)?null$/);
    expect(json.terraform?.required_providers?.null?.version).toMatch(/^\d/);
    expect(json.provider?.null).toBeDefined();
    expect(Array.isArray(json.provider!.null)).toBe(true);
    const { resource } = theNullResource(json);
    expect(resource.lifecycle?.create_before_destroy).toBe(true);
    expect(resource.triggers.main_cf).toContain('message_size_limit = 25000000');
    expect(resource.triggers.CDKTF_POSTFIX_HOST).toBe(h.address);
    const create = provisioner(resource, 'create');
    const destroy = provisioner(resource, 'destroy');
    expect(create.interpreter).toEqual([
      'node',
      expect.stringMatching(/^assets\/CdktfPostfixRunner\/[^/]+\/cdktf-postfix-runner\.js$/),
      'apply',
    ]);
    expect(destroy.interpreter).toEqual([create.interpreter[0], create.interpreter[1], 'destroy']);
    expect(create.command).toBe('assets/CdktfPostfixBundles/hosts/mx/bundle.json');
    // self.* references only, and one literal: a destroy makes no TLS connection, so node need not
    // parse NODE_EXTRA_CA_CERTS's file.
    const { NODE_EXTRA_CA_CERTS: ca, ...destroyEnv } = destroy.environment ?? {};
    expect(ca).toBe('');
    for (const v of Object.values(destroyEnv)) expect(v).toMatch(/^\$\{self\.triggers\.[A-Za-z0-9_]+\}$/);
    expect(JSON.stringify(json)).not.toContain('self.input');
  });

  it('applies, re-applies as a no-op, survives a replacement, and destroy restores the host', async () => {
    const h = lab.hosts[0];
    const beforeN = await postconf(h, '-n');
    const beforeM = await postconf(h, '-M');
    const outdir = mkdtempSync(join(tmpdir(), 'cdktf-postfix-null-'));

    // create
    const v1 = synth(outdir, h, 25_000_000);
    const r1 = theNullResource(v1.json).resource;
    const applied = await runLocalExec(v1.stackDir, provisioner(r1, 'create'), undefined);
    expect(applied).toEqual({ code: 0, output: expect.stringMatching(/mail\/mx \(127\.0\.0\.\d+\): applied in \d+ ms/) });
    expect(applied.output).toContain('~ main.cf message_size_limit');
    expect(await postconf(h, '-h', 'message_size_limit')).toBe('25000000');
    expect(await postconf(h, '-M', 'submission/inet')).toMatch(/smtpd_tls_security_level=encrypt/);
    const smtp = await smtpGreeting(h.address);
    expect(smtp.banner).toBe(`220 ${h.hostname} ESMTP`);
    expect(smtp.ehlo).toContain('250-SIZE 25000000');

    // the same create again changes nothing (no writes, no reload)
    const mainCfBefore = h.readFile('/etc/postfix/main.cf');
    const again = await runLocalExec(v1.stackDir, provisioner(r1, 'create'), undefined);
    expect(again.code).toBe(0);
    expect(again.output).toMatch(/: unchanged in \d+ ms/);
    expect(again.output).not.toContain('postfix reload');
    expect(h.readFile('/etc/postfix/main.cf')).toBe(mainCfBefore);

    // a changed setting: Terraform replaces the resource (create_before_destroy): new create, then
    // the old resource's destroy with the OLD triggers, from the re-synthesized directory.
    const v2 = synth(outdir, h, 30_000_000);
    expect(v2.stackDir).toBe(v1.stackDir);
    const r2 = theNullResource(v2.json).resource;
    expect(r2.triggers.bundle_sha256).not.toBe(r1.triggers.bundle_sha256);
    const replaced = await runLocalExec(v2.stackDir, provisioner(r2, 'create'), undefined);
    expect(replaced.code).toBe(0);
    expect(replaced.output).toMatch(/applied in \d+ ms/);
    const oldDestroy = await runLocalExec(v2.stackDir, provisioner(r1, 'destroy'), r1.triggers);
    expect(oldDestroy.code).toBe(0);
    expect(await postconf(h, '-h', 'message_size_limit')).toBe('30000000');
    expect((await smtpGreeting(h.address)).ehlo).toContain('250-SIZE 30000000');

    // destroy of the current resource restores the original configuration
    const destroyed = await runLocalExec(v2.stackDir, provisioner(r2, 'destroy'), r2.triggers);
    expect(destroyed).toEqual({ code: 0, output: expect.stringMatching(/removed in \d+ ms/) });
    expect(await postconf(h, '-n')).toBe(beforeN);
    expect(await postconf(h, '-M')).toBe(beforeM);
    expect(await postconf(h, '-n')).not.toMatch(/^message_size_limit/m);
    expect((await smtpGreeting(h.address)).banner).toBe(`220 ${h.hostname} ESMTP Postfix (Debian/GNU)`);

    // destroy again (e.g. a retried terraform destroy) is harmless
    const twice = await runLocalExec(v2.stackDir, provisioner(r2, 'destroy'), r2.triggers);
    expect(twice.code).toBe(0);
    expect(await postconf(h, '-n')).toBe(beforeN);
  });
});
