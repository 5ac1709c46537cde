/**
 * The per-host runner as Terraform's local-exec starts it (node ASSET/cdktf-postfix-runner.js apply
 * BUNDLE, in the stack directory, connection in its environment), several at once, on lab hosts:
 * one process applies them all (the clients' debug lines name its pid): first the client that found
 * no runner, serving the others while it applies its own host, then, once a fleet is under way, the
 * detached warm runner (none of the clients), whose environment holds no connection data; with
 * the warm runner off or its directory unsafe, the apply runs in-process as before; the apply code
 * loads from the V8 code cache the first process left in the runner directory (a damaged one is
 * compiled past and rewritten); SIGTERM to a
 * client cancels its apply in the runner (the runner, busy while an apply runs, goes idle and exits
 * while the host's transaction is still paused). Needs root, the lab's packages and `npm run build`.
 */
import { spawn } from 'child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import { basename, join } from 'path';
import { PostfixHost } from '../../index';
import { Lab, LabHost, startLab } from '../lab';
import { labConnection, synthStack } from '../helpers/deploy';
import { signalPid } from '../helpers/signal';
import { socketPath } from '../../lib/runner/socket-dir';

jest.setTimeout(300_000);

let lab: Lab;
let work: string;
const daemons = new Set<number>();
const S = '/etc/postfix/.cdktf-postfix';
const BUILD = /RUNNER_BUILD = "([0-9a-f]{64})"/.exec(
  readFileSync(join(__dirname, '..', '..', 'dist', 'runner', 'cdktf-postfix-apply.js'), 'utf8'),
)![1];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
  report?: { result: string; error?: string };
}

function stack(hosts: LabHost[], banner: string): string {
  return synthStack((s) => {
    hosts.forEach(
      (h, i) =>
        new PostfixHost(s, `mx${i + 1}`, { connection: labConnection(h), settings: { smtpd_banner: `$myhostname ESMTP ${banner}` } }),
    );
  });
}

/** Each host's apply local-exec from cdk.tf.json: interpreter, command and environment. */
function provisioners(stackDir: string): { interpreter: string[]; command: string; environment: Record<string, string> }[] {
  const tf = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as {
    resource: {
      terraform_data: Record<
        string,
        {
          provisioner?: { 'local-exec'?: { when?: string; interpreter: string[]; command: string; environment: Record<string, string> } }[];
        }
      >;
    };
  };
  return Object.values(tf.resource.terraform_data)
    .map((r) => (r.provisioner ?? []).map((p) => p['local-exec']).find((p) => p && !p.when))
    .filter((p) => p !== undefined);
}

/** Start one host's runner as Terraform does; `started` resolves with its pid, `done` with its outcome. */
function startRunner(
  stackDir: string,
  index: number,
  extra: Record<string, string>,
): { pid: number; done: Promise<Run>; stderr: () => string } {
  const p = provisioners(stackDir)[index];
  const report = join(work, `report-${Date.now()}-${index}-${Math.random().toString(36).slice(2)}.json`);
  const env = { ...process.env, ...p.environment, CDKTF_POSTFIX_REPORT: report, CDKTF_POSTFIX_WARM_RUNNER_DEBUG: '1', ...extra };
  const [node, ...args] = p.interpreter;
  const c = spawn(node, [...args, p.command], { cwd: stackDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  c.stdout.on('data', (d) => (stdout += d));
  c.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve, reject) => {
    c.on('error', reject);
    c.on('close', (code, signal) => {
      let parsed: Run['report'];
      try {
        parsed = JSON.parse(readFileSync(report, 'utf8')) as Run['report'];
      } catch {
        parsed = undefined;
      }
      for (const m of stderr.matchAll(/warm runner pid (\d+) applies this/g)) daemons.add(Number(m[1]));
      resolve({ code, signal, stdout, stderr, pid: c.pid!, report: parsed });
    });
  });
  return { pid: c.pid!, done, stderr: () => stderr };
}

const runAll = (stackDir: string, extra: Record<string, string>) =>
  Promise.all(provisioners(stackDir).map((_, i) => startRunner(stackDir, i, extra).done));

const servedBy = (r: Run): number | undefined => {
  const m = /warm runner pid (\d+) applies this/.exec(r.stderr);
  return m ? Number(m[1]) : undefined;
};

function freshWarmDir(name: string): string {
  const d = join(work, name);
  mkdirSync(d, { mode: 0o700 });
  return d;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'warm-runner-'));
  lab = await startLab({ count: 3 });
}, 120_000);

afterAll(async () => {
  for (const pid of daemons) if (alive(pid)) signalPid(pid, 'SIGTERM');
  await lab?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the per-host runner through a warm runner', () => {
  let stackDir: string;
  let warmDir: string;
  let cacheFile: string;

  test('three clients at once: one process applies all (the first client, serving the others), then a fleet no-op through the detached warm runner, whose environment holds no connection data', async () => {
    stackDir = stack(lab.hosts, 'one');
    warmDir = freshWarmDir('shared');
    const extra = { CDKTF_POSTFIX_WARM_RUNNER_DIR: warmDir, CDKTF_POSTFIX_WARM_RUNNER_IDLE: '20' };
    const first = await runAll(stackDir, extra);
    expect(first.map((r) => [r.code, r.report?.result, r.report?.error])).toEqual(lab.hosts.map(() => [0, 'applied', undefined]));
    expect(first.every((r) => /applied/.test(r.stdout))).toBe(true);
    // No other process was started: one client applies its own host and serves the two others.
    const selves = first.filter((r) => /this process \(pid \d+\) applies and serves/.test(r.stderr));
    expect(selves).toHaveLength(1);
    expect(first.filter((r) => r !== selves[0]).map(servedBy)).toEqual([selves[0].pid, selves[0].pid]);
    // It compiled the apply code and left V8's code cache in the runner directory, for itself only.
    expect(selves[0].stderr).toMatch(/apply code compiled/);
    const cache = readdirSync(warmDir).filter((f) => f.endsWith('.v8cache'));
    expect(cache).toEqual([expect.stringMatching(new RegExp(`^${BUILD.slice(0, 12)}-v8-.*\\.v8cache$`))]);
    expect(statSync(join(warmDir, cache[0])).mode & 0o777).toBe(0o600);
    cacheFile = join(warmDir, cache[0]);

    // It served others, so the next client that finds no runner starts the detached one: it serves all three.
    const noop = await runAll(stackDir, extra);
    const pid = servedBy(noop[0])!;
    expect(noop.map((r) => [r.code, r.report?.result, servedBy(r)])).toEqual(lab.hosts.map(() => [0, 'unchanged', pid]));
    expect(noop.map((r) => r.pid)).not.toContain(pid);
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ.filter((v) => /^CDKTF_POSTFIX_/.test(v))).toEqual([]);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('--warm-runner');
  });

  test("the apply code loads from V8's code cache an earlier process left; a damaged cache is rewritten, the apply unchanged", async () => {
    const cached = freshWarmDir('cached');
    copyFileSync(cacheFile, join(cached, basename(cacheFile)));
    const one = await startRunner(stackDir, 0, { CDKTF_POSTFIX_WARM_RUNNER_DIR: cached }).done;
    expect([one.code, one.report?.result]).toEqual([0, 'unchanged']);
    expect(one.stderr).toMatch(/applies and serves .*apply code from V8's code cache/);

    const damaged = freshWarmDir('damaged');
    const garbage = Buffer.alloc(4096, 0x5a);
    writeFileSync(join(damaged, basename(cacheFile)), garbage, { mode: 0o600 });
    const two = await startRunner(stackDir, 0, { CDKTF_POSTFIX_WARM_RUNNER_DIR: damaged }).done;
    expect([two.code, two.report?.result]).toEqual([0, 'unchanged']);
    expect(two.stderr).toMatch(/apply code compiled/);
    expect(readFileSync(join(damaged, basename(cacheFile))).equals(garbage)).toBe(false);
  });

  test('turned off, or its directory unsafe: the apply runs in-process as before', async () => {
    const off = await runAll(stackDir, { CDKTF_POSTFIX_WARM_RUNNER: '0' });
    expect(off.map((r) => [r.code, r.report?.result, servedBy(r), r.stderr.includes('warm runner')])).toEqual(
      lab.hosts.map(() => [0, 'unchanged', undefined, false]),
    );
    const open = join(work, 'open');
    mkdirSync(open);
    chmodSync(open, 0o755);
    const unsafe = await runAll(stackDir, { CDKTF_POSTFIX_WARM_RUNNER_DIR: open });
    expect(unsafe.map((r) => [r.code, r.report?.result, servedBy(r)])).toEqual(lab.hosts.map(() => [0, 'unchanged', undefined]));
    expect(unsafe[0].stderr).toMatch(/warm runner not used: warm runner directory .*open has mode 0755, not 0700/);
  });

  test('SIGTERM to a client cancels its apply in the warm runner', async () => {
    const h = lab.hosts[0];
    expect((await h.exec(['touch', `${S}/fault-injection-allowed`])).code).toBe(0);
    const changed = stack([h], 'two');
    const cancelDir = freshWarmDir('cancel');
    const extra = { CDKTF_POSTFIX_WARM_RUNNER_DIR: cancelDir, CDKTF_POSTFIX_WARM_RUNNER_IDLE: '1' };
    // A fleet under way (the marker a runner leaves when it served others): the client starts the detached runner.
    // The socket's name hashes the client's environment: this process's with the local-exec's on top
    // (which empties NODE_EXTRA_CA_CERTS for a runner without a TLS check).
    const clientEnv = { ...process.env, ...provisioners(changed)[0].environment };
    const marker = `${socketPath(cancelDir, BUILD, process.getuid!(), changed, clientEnv)}.fleet`;
    writeFileSync(marker, '');
    try {
      const client = startRunner(changed, 0, { ...extra, CDKTF_POSTFIX_FAULT: 'pause-after:validate' });
      for (let i = 0; i < 600 && (await h.exec(['test', '-f', `${S}/fault-paused`])).code !== 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect((await h.exec(['test', '-f', `${S}/fault-paused`])).code).toBe(0);
      const pid = Number(/warm runner pid (\d+) applies this/.exec(client.stderr())![1]);
      daemons.add(pid);
      signalPid(client.pid, 'SIGTERM');
      const cancelled = await client.done;
      expect({ code: cancelled.code, signal: cancelled.signal }).toEqual({ code: null, signal: 'SIGTERM' });
      // The host's transaction still waits; a runner still applying would stay busy and alive.
      for (let i = 0; i < 300 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive(pid)).toBe(false);
      expect(existsSync(marker)).toBe(false); // idle: the fleet is over, the next client applies itself
      expect((await h.exec(['test', '-f', `${S}/fault-paused`])).code).toBe(0);
    } finally {
      await h.exec(['rm', '-f', `${S}/fault-paused`, `${S}/fault-injection-allowed`]);
    }
    // The cut transaction finishes on its own (it ignores SIGHUP); the next apply converges.
    const again = await runAll(changed, extra);
    expect([again[0].code, again[0].report?.error]).toEqual([0, undefined]);
    expect(['applied', 'unchanged']).toContain(again[0].report?.result);
  });
});
