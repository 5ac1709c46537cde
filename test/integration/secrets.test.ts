/**
 * Secrets never leak: a marker private key (from a sensitive Terraform variable, as
 * examples/tls-composition takes it) and a marker SSH key passphrase (CDKTF_POSTFIX_KEY_PASSPHRASE,
 * the lab key re-encrypted with it) go through synth, `terraform plan`, `terraform apply` (a
 * successful one and one the host's validation refuses), the runner run directly (stdout, stderr
 * and the CDKTF_POSTFIX_REPORT file, success and failure), `cdktf-postfix diff`, the state, and the
 * host's mail log. Neither marker may appear in any of them.
 */
import { spawnSync } from 'child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, LocalBackend, TerraformStack, TerraformVariable } from 'cdktf';
import { Lab, LabHost, startLab } from '../lab';
import { PostfixHost } from '../../constructs/postfix-host';
import { Submission } from '../../constructs/master-service';
import { TlsPolicy } from '../../constructs/tls-policy';
import { connectionToEnv } from '../../lib/model/connection';
import { diffStack } from '../helpers/deploy';
import { expectOk, filesContaining, terraform, terraformEnv } from '../helpers/terraform';
import { selfSigned } from '../helpers/certs';

jest.setTimeout(300_000);

let lab: Lab;
let h: LabHost;
let dir: string;
let keyPem: string;
let certPem: string;
let sshKey: string;
const PASSPHRASE = `pp-marker-${process.pid}-${Date.now()}`;
/** Every 64-character base64 line of the marker key, and the passphrase. */
let markers: string[];
/** Text of every artifact, by name. */
const artifacts = new Map<string, string>();

function synth(outdir: string, settings: Record<string, string> = {}): string {
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'mail');
  const stackDir = join(outdir, 'stacks', 'mail');
  new LocalBackend(stack, { path: join(stackDir, 'terraform.tfstate') });
  const host = new PostfixHost(stack, 'mx', {
    connection: { host: h.address, privateKeyPath: sshKey, knownHostsPath: h.knownHostsPath },
    settings,
  });
  host.addService(Submission.starttls());
  const key = new TerraformVariable(stack, 'tls_key', { type: 'string', sensitive: true });
  new TlsPolicy(host, 'tls', { certificates: [{ privateKeyPem: key.stringValue, certificatePem: certPem }] });
  app.synth();
  return stackDir;
}

const env = (extra: Record<string, string> = {}) =>
  terraformEnv({ TF_VAR_tls_key: keyPem, CDKTF_POSTFIX_KEY_PASSPHRASE: PASSPHRASE, ...extra });

/** The runner as Terraform starts it, but with its own stdout/stderr captured (Terraform hides them when the config holds a sensitive value). */
function runRunner(stackDir: string, report: string): { code: number | null; stdout: string; stderr: string } {
  const bundlePath = (readdirSync(stackDir, { recursive: true }) as string[]).find((f) => f.endsWith('bundle.json'))!;
  const runner = (readdirSync(stackDir, { recursive: true }) as string[]).find((f) => f.endsWith('cdktf-postfix-runner.js'))!;
  const bundle = JSON.parse(readFileSync(join(stackDir, bundlePath), 'utf8')) as { files: Record<string, { fromEnv?: string }> };
  const keyVar = Object.values(bundle.files).find((f) => f.fromEnv)!.fromEnv!;
  const r = spawnSync('node', [join(stackDir, runner), 'apply', join(stackDir, bundlePath)], {
    encoding: 'utf8',
    env: env({
      ...connectionToEnv({ host: h.address, privateKeyPath: sshKey, knownHostsPath: h.knownHostsPath }),
      [keyVar]: keyPem,
      CDKTF_POSTFIX_REPORT: report,
    }),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'secrets-proof-'));
  ({ keyPem, certPem } = selfSigned(dir, { cn: 'host1.lab.test' }));
  markers = [...keyPem.split('\n').filter((l) => l.length === 64), PASSPHRASE];
  lab = await startLab({ count: 1 });
  h = lab.hosts[0];
  sshKey = join(dir, 'ssh-key');
  copyFileSync(h.privateKeyPath, sshKey);
  const p = spawnSync('ssh-keygen', ['-p', '-q', '-f', sshKey, '-N', PASSPHRASE, '-P', ''], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(p.stderr);
}, 120_000);

afterAll(async () => {
  await lab?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('the markers are real: the SSH key needs the passphrase, and the TLS key reaches the host', async () => {
  expect(readFileSync(sshKey, 'utf8')).not.toContain(readFileSync(h.privateKeyPath, 'utf8').split('\n')[1]);
  const outdir = join(dir, 'out');
  const stackDir = synth(outdir);
  expectOk(await terraform(stackDir, ['init', '-input=false', '-no-color'], env()));
  const plan = expectOk(await terraform(stackDir, ['plan', '-input=false', '-no-color'], env()));
  artifacts.set('terraform plan', plan.stdout + plan.stderr);
  const apply = expectOk(await terraform(stackDir, ['apply', '-auto-approve', '-input=false', '-no-color'], env()));
  artifacts.set('terraform apply (success)', apply.stdout + apply.stderr);
  const served = (
    await h.exec(['sh', '-c', 'cat "$(postconf -h smtpd_tls_chain_files smtpd_tls_key_file | tr " ," "\\n\\n" | grep -m1 .)"'])
  ).stdout;
  expect(served).toContain(markers[0]);

  const ok = runRunner(stackDir, join(dir, 'report-ok.json'));
  expect(ok.code).toBe(0);
  artifacts.set('runner stdout+stderr (success)', ok.stdout + ok.stderr);
  artifacts.set('runner report (success)', readFileSync(join(dir, 'report-ok.json'), 'utf8'));
  // `cdktf-postfix diff` resolves ${var.tls_key} from TF_VAR_tls_key, like Terraform.
  process.env.TF_VAR_tls_key = keyPem;
  try {
    artifacts.set('cdktf-postfix diff', JSON.stringify(await diffStack(stackDir)));
  } finally {
    delete process.env.TF_VAR_tls_key;
  }

  // A parameter the host's `postfix check` refuses: the transaction fails and rolls back.
  synth(outdir, { mail_owner: 'no_such_user_here' });
  const failed = await terraform(stackDir, ['apply', '-auto-approve', '-input=false', '-no-color'], env());
  expect(failed.code).not.toBe(0);
  artifacts.set('terraform apply (failure)', failed.stdout + failed.stderr);
  const bad = runRunner(stackDir, join(dir, 'report-bad.json'));
  expect(bad.code).toBe(1);
  expect(bad.stdout + bad.stderr).toMatch(/failed.*(postfix check|mail_owner)/s);
  artifacts.set('runner stdout+stderr (failure)', bad.stdout + bad.stderr);
  artifacts.set('runner report (failure)', readFileSync(join(dir, 'report-bad.json'), 'utf8'));
  artifacts.set('host mail log', existsSync(h.mailLogPath) ? readFileSync(h.mailLogPath, 'utf8') : '');
  for (const f of filesContaining(outdir, '')) artifacts.set(f, readFileSync(f, 'latin1'));
  expect([...artifacts.keys()].some((k) => k.endsWith('terraform.tfstate'))).toBe(true);
});

it('no marker appears in synth output, state, plan, apply output, runner output, reports, diff or the mail log', () => {
  expect(artifacts.size).toBeGreaterThan(8);
  const leaks = [...artifacts].flatMap(([name, text]) =>
    markers.filter((m) => text.includes(m)).map((m) => `${name}: ${m === PASSPHRASE ? 'passphrase' : 'key line'}`),
  );
  expect(leaks).toEqual([]);
});
