#!/usr/bin/env node
/**
 * Fleet benchmark: what one more host costs. For each N in FLEET_N (lab hosts with a stock root
 * shell, each configured like bench/apply.js's change: hostname, size limit, banner, submission and
 * submissions) and each way of applying in FLEET_MODES, a first apply to fresh hosts and a no-op:
 *   cli     `cdktf-postfix apply STACK --concurrency N` (one process, N SSH connections)
 *   runner  N runner processes at once, as Terraform's local-exec starts them (`node runner.js apply
 *           bundle.json`, connection in CDKTF_POSTFIX_* variables): the per-process cost alone. Each
 *           run gets its own warm runner directory, so whatever applies (a client serving the others,
 *           or a detached warm runner started by a client) runs inside the measured cgroup and its
 *           CPU counts as client CPU (a detached runner's cgroup is checked and printed);
 *           FLEET_WARM=0 turns the warm runner off (in-process, as before it existed) for a
 *           baseline in the same run
 *   deploy  `terraform apply -parallelism=N` in the synthesized stack (what `cdktf deploy` runs
 *           after synth); its no-op replaces every host's apply resource (`-replace`), so every
 *           runner runs and finds the host unchanged; `terraform plan` with nothing to do is shown
 *           as Terraform's own floor
 * For each it prints wall time, client CPU (every process the command started, from a cgroup),
 * peak client memory (the cgroup's), host CPU per host (the SSH session and the transaction it
 * ran, from the lab sshd's reaped children) and Postfix's own restart work (master's CPU) apart.
 * Then it fits wall(N) ~ max(floor, (client CPU/host + host CPU/host) x N / cores).
 *   FLEET_N=1,5,10        host counts (20 works; on 2 cores the 20 lab hosts' Postfix is heavy)
 *   FLEET_MODES=cli,runner,deploy
 *   FLEET_ROOT=DIR        the build under test (default: this checkout), for before/after runs
 *   FLEET_JSON=FILE       every sample as JSON
 *   FLEET_WARM=0          runner mode without the warm runner (CDKTF_POSTFIX_WARM_RUNNER=0)
 *   FLEET_NOOP_REPEAT=3   no-op runs per mode and N; the one of median wall time is reported (all walls listed)
 *   FLEET_CODE_CACHE=0    runner mode: every run compiles the apply code (no V8 code cache carried
 *                         over from the runs before, as on an operator's first deploy)
 * Needs root, the lab's Debian packages, terraform on PATH, `npm run build`.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const m = require('./lib/measure');

const HERE = path.resolve(__dirname, '..');
const ROOT = path.resolve(process.env.FLEET_ROOT || HERE);
const NS = (process.env.FLEET_N || '1,5,10').split(',').map(Number);
const MODES = (process.env.FLEET_MODES || 'cli,runner,deploy').split(',');
const CORES = os.cpus().length;
const WARM = process.env.FLEET_WARM !== '0';
const CODE_CACHE = process.env.FLEET_CODE_CACHE !== '0';
const NOOP_REPEAT = Number(process.env.FLEET_NOOP_REPEAT || 3);

m.requireRoot('bench/fleet');
for (const f of ['dist/bin/cdktf-postfix.js', 'dist/index.js', 'dist/runner/cdktf-postfix-runner.js']) {
  if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${ROOT}/${f} missing: run npm run build`);
}
const { startLab } = require(path.join(HERE, 'dist-test/lab'));
const { LocalBackend } = require(path.join(ROOT, 'node_modules/cdktf'));
const { synthMailStack } = require('./lib/stacks');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdktf-postfix-fleet-'));

function synth(hosts) {
  // Terraform's state beside the stack, not in the working directory.
  return synthMailStack(ROOT, work, hosts, (stack, outdir) => new LocalBackend(stack, { path: path.join(outdir, 'terraform.tfstate') }));
}

const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** A shell script starting each host's runner as local-exec does, all at once, then waiting. */
function runnerScript(stackDir, tag) {
  const tf = JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
  const lines = ['#!/bin/sh', `cd ${shq(stackDir)}`];
  const reports = [];
  const stderrs = [];
  // A warm runner directory of this run only: the runner that serves it starts inside the measured cgroup.
  const warmDir = path.join(work, `w-${tag}`);
  fs.mkdirSync(warmDir, { mode: 0o700 });
  // V8's code cache of the apply code carries over from the runs before, as in an operator's own
  // runner directory (lib/runner/code-cache.ts): only the bench's first run compiles it.
  if (CODE_CACHE) carryCodeCache(warmDir);
  const warm = WARM
    ? { CDKTF_POSTFIX_WARM_RUNNER_DIR: warmDir, CDKTF_POSTFIX_WARM_RUNNER_DEBUG: '1', CDKTF_POSTFIX_WARM_RUNNER_IDLE: '2' }
    : { CDKTF_POSTFIX_WARM_RUNNER: '0' };
  for (const [name, r] of Object.entries(tf.resource.terraform_data)) {
    const p = (r.provisioner || []).map((x) => x['local-exec']).find((x) => x && !x.when);
    if (!p) continue;
    const report = path.join(work, `${tag}-${name}.json`);
    const stderr = path.join(work, `${tag}-${name}.stderr`);
    reports.push(report);
    stderrs.push(stderr);
    const env = Object.entries({ ...p.environment, CDKTF_POSTFIX_REPORT: report, ...warm })
      .map(([k, v]) => `${k}=${shq(v)}`)
      .join(' ');
    lines.push(`env ${env} ${p.interpreter.map(shq).join(' ')} ${shq(p.command)} > /dev/null 2>${shq(stderr)} &`);
  }
  lines.push('wait');
  const file = path.join(work, `${tag}.sh`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return { file, reports, stderrs };
}

/** Copies the code cache files earlier runs left in their warm runner directories into `dir` (one build: the same file). */
function carryCodeCache(dir) {
  for (const d of fs.readdirSync(work).filter((x) => x.startsWith('w-'))) {
    const from = path.join(work, d);
    if (from === dir) continue;
    for (const f of fs.readdirSync(from).filter((x) => x.endsWith('.v8cache'))) fs.copyFileSync(path.join(from, f), path.join(dir, f));
  }
}

/**
 * The processes that applied a runner-mode run, from the clients' debug lines: a client that applied
 * its own host and served the others (it is one of the measured processes), or the detached warm
 * runner, whose cpuacct cgroup must be the measured one (cdktf-postfix-bench-PID-N, see measure.js
 * runMeasured), else its CPU would be missing from the client CPU.
 */
function warmRunners(stderrs) {
  const found = new Map();
  for (const f of stderrs) {
    const text = fs.readFileSync(f, 'utf8');
    for (const x of text.matchAll(/this process \(pid (\d+)\) applies and serves/g))
      found.set(Number(x[1]), 'a client, serving the others');
    for (const x of text.matchAll(/warm runner pid (\d+) applies this/g)) if (!found.has(Number(x[1]))) found.set(Number(x[1]), undefined);
  }
  return [...found].map(([pid, role]) => {
    if (role) return { pid, where: role };
    let cgroup;
    try {
      cgroup = /cpuacct[^:]*:([^\n]*)/.exec(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'))[1];
    } catch {
      return { pid, where: 'detached, exited before its cgroup was read' };
    }
    if (!cgroup.startsWith(`/cdktf-postfix-bench-${process.pid}-`))
      throw new Error(`warm runner pid ${pid} runs in cgroup ${cgroup}, not the measured one`);
    return { pid, where: `detached, in the measured cgroup ${cgroup}` };
  });
}

const tfEnv = () => {
  const rc = path.join(work, 'empty.tfrc');
  if (!fs.existsSync(rc)) fs.writeFileSync(rc, '');
  return { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: rc, TF_IN_AUTOMATION: '1', NO_COLOR: '1' };
};

async function must(argv, opts) {
  const r = await m.runMeasured(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r;
}

/** One apply of `kind` (first|noop) through `mode` to hosts; returns measures and host reports. */
async function applyOnce(mode, kind, hosts, stackDir, tag) {
  const n = hosts.length;
  const before = m.hostCounters(hosts);
  let r;
  let reports = [];
  if (mode === 'cli') {
    r = await must(['node', path.join(ROOT, 'dist/bin/cdktf-postfix.js'), 'apply', stackDir, '--json', '--concurrency', String(n)]);
    reports = JSON.parse(r.stdout);
  } else if (mode === 'runner') {
    const s = runnerScript(stackDir, tag);
    r = await must(['sh', s.file]);
    reports = s.reports.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
    r.warm = warmRunners(s.stderrs);
  } else {
    const env = tfEnv();
    const args = ['apply', '-auto-approve', '-input=false', '-no-color', `-parallelism=${n}`];
    r = await must(['terraform', ...args], { cwd: stackDir, env });
  }
  const host = await m.hostDelta(hosts, before);
  const expect = kind === 'first' ? 'applied' : 'unchanged';
  const bad = reports.filter((x) => x.result !== expect);
  if (bad.length)
    throw new Error(`${mode} ${kind}: expected ${expect}, got ${bad.map((x) => `${x.host}: ${x.result} ${x.error ?? ''}`).join('; ')}`);
  return { mode, kind, n, ms: r.ms, clientCpuMs: r.cpuMs, peakMiB: r.peakMiB, host, reports, load: os.loadavg()[0], warm: r.warm };
}

/** terraform_data resource names of each host's apply (they carry a hash suffix in cdk.tf.json). */
function applyResourceNames(stackDir) {
  const tf = JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
  return Object.keys(tf.resource.terraform_data).filter((k) => /_apply_/.test(k) || /apply$/.test(k));
}

async function deployNoop(hosts, stackDir) {
  const before = m.hostCounters(hosts);
  const args = [
    'apply',
    '-auto-approve',
    '-input=false',
    '-no-color',
    `-parallelism=${hosts.length}`,
    ...applyResourceNames(stackDir).map((k) => `-replace=terraform_data.${k}`),
  ];
  const r = await must(['terraform', ...args], { cwd: stackDir, env: tfEnv() });
  const host = await m.hostDelta(hosts, before);
  const plan = await must(['terraform', 'plan', '-input=false', '-no-color', '-detailed-exitcode', `-parallelism=${hosts.length}`], {
    cwd: stackDir,
    env: tfEnv(),
  });
  return {
    mode: 'deploy',
    kind: 'noop',
    n: hosts.length,
    ms: r.ms,
    clientCpuMs: r.cpuMs,
    peakMiB: r.peakMiB,
    host,
    reports: [],
    load: os.loadavg()[0],
    plan: { ms: plan.ms, cpuMs: plan.cpuMs },
  };
}

async function runMode(mode, n) {
  const lab = await startLab({ count: n, name: `bench-fleet-${process.pid}-${mode}-${n}` });
  try {
    m.stockRootShell(lab.hosts);
    const stackDir = synth(lab.hosts);
    if (mode === 'deploy') await must(['terraform', 'init', '-input=false', '-no-color'], { cwd: stackDir, env: tfEnv() });
    await m.settle(lab.hosts);
    const first = await applyOnce(mode, 'first', lab.hosts, stackDir, `${mode}-${n}-first`);
    // No-ops are cheap and noisy on a shared VM: NOOP_REPEAT runs, the one of median wall time kept.
    const noops = [];
    for (let i = 0; i < NOOP_REPEAT; i++)
      noops.push(
        mode === 'deploy'
          ? await deployNoop(lab.hosts, stackDir)
          : await applyOnce(mode, 'noop', lab.hosts, stackDir, `${mode}-${n}-noop-${i + 1}`),
      );
    const noop = [...noops].sort((a, b) => a.ms - b.ms)[Math.floor(noops.length / 2)];
    return [first, { ...noop, walls: noops.map((x) => x.ms) }];
  } finally {
    await lab.stop();
  }
}

function row(s) {
  const sessions = s.host.map((h) => h.sessions);
  const postfix = s.host.map((h) => h.postfix);
  const plan = s.plan
    ? `; terraform plan (nothing to do) ${(s.plan.ms / 1000).toFixed(2)}s wall, ${(s.plan.cpuMs / 1000).toFixed(2)}s CPU`
    : '';
  const warm =
    s.mode !== 'runner'
      ? ''
      : s.warm.length
        ? `; applied by pid ${s.warm.map((w) => `${w.pid} (${w.where})`).join(', ')}`
        : '; each in its own process';
  const runs = s.walls?.length > 1 ? ` (median of ${s.walls.map((w) => (w / 1000).toFixed(2)).join(', ')})` : '';
  return `  ${s.mode.padEnd(6)} ${s.kind.padEnd(5)} N=${String(s.n).padStart(2)}  wall ${(s.ms / 1000).toFixed(2)}s${runs}  client CPU ${(s.clientCpuMs / 1000).toFixed(2)}s (${(s.clientCpuMs / s.n).toFixed(0)} ms/host)  peak client mem ${s.peakMiB.toFixed(0)} MiB  host CPU/host median ${m.median(sessions).toFixed(0)} ms (max ${Math.max(...sessions).toFixed(0)}), postfix restart ${m.median(postfix).toFixed(0)} ms/host  [load ${s.load.toFixed(1)}]${plan}${warm}`;
}

function fit(samples) {
  const lines = [];
  for (const mode of MODES) {
    for (const kind of ['first', 'noop']) {
      const xs = samples.filter((s) => s.mode === mode && s.kind === kind).sort((a, b) => a.n - b.n);
      if (!xs.length) continue;
      const line =
        xs.length > 1
          ? m.fitLine(
              xs.map((s) => s.n),
              xs.map((s) => s.clientCpuMs),
            )
          : { a: 0, b: xs[0].clientCpuMs };
      const hostPer = m.median(xs.flatMap((s) => s.host.map((h) => h.sessions)));
      const restartPer = m.median(xs.flatMap((s) => s.host.map((h) => h.postfix)));
      const floor = xs[0].ms;
      const preds = xs.map((s) => {
        const p = Math.max(floor, (line.a + (line.b + hostPer + restartPer) * s.n) / CORES);
        return `N=${s.n} ${(p / 1000).toFixed(2)}s vs ${(s.ms / 1000).toFixed(2)}s`;
      });
      lines.push(
        `  ${mode.padEnd(6)} ${kind.padEnd(5)} client CPU = ${line.a.toFixed(0)} ms + ${line.b.toFixed(0)} ms/host; host CPU ${hostPer.toFixed(0)} ms/host (+ postfix restart ${restartPer.toFixed(0)}); floor (N=${xs[0].n}) ${(floor / 1000).toFixed(2)}s; predicted vs measured: ${preds.join(', ')}`,
      );
    }
  }
  return lines;
}

async function main() {
  console.log(`bench/fleet: N = ${NS.join(', ')}; modes ${MODES.join(', ')}; build under test ${ROOT}`);
  console.log(
    `node ${process.version}; NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? `set (${process.env.NODE_EXTRA_CA_CERTS}: the CLI and Terraform load it at start; runner processes get it emptied by their local-exec environment when, as here, no TLS check follows the apply)` : 'unset'}; runner mode warm runner ${WARM ? 'on (where the build has it)' : 'off (FLEET_WARM=0)'}, V8 code cache ${CODE_CACHE ? 'carried from run to run (the first run compiles)' : 'off: every run compiles (FLEET_CODE_CACHE=0)'}`,
  );
  console.log(m.machineLine('at start'));
  console.log(m.STOCK_SHELL_NOTE);
  const samples = [];
  for (const n of NS) {
    for (const mode of MODES) {
      const got = await runMode(mode, n);
      samples.push(...got);
      for (const s of got) {
        console.log(row(s));
        if (s.reports[0]) console.log(`           one host's steps: ${m.timeline(s.reports[0])}`);
      }
    }
  }
  console.log(m.machineLine('at the end'));
  console.log(`cost model wall(N) ~ max(floor, (client CPU + host CPU) x N / ${CORES} cores), per-host costs fitted over N:`);
  for (const l of fit(samples)) console.log(l);
  const noop = (mode) => samples.filter((s) => s.mode === mode && s.kind === 'noop').sort((a, b) => a.n - b.n);
  const cli = noop('cli');
  if (cli.length > 1)
    console.log(`cli no-op: N=${cli.at(-1).n} takes ${(cli.at(-1).ms / cli[0].ms).toFixed(1)}x the wall time of N=${cli[0].n}`);
  const runner = noop('runner');
  const five = runner.find((s) => s.n === 5);
  if (five && runner[0].n === 1)
    console.log(`runner no-op (a process per host): 5 at once take ${(five.ms / runner[0].ms).toFixed(1)}x the wall time of one`);
  if (process.env.FLEET_JSON)
    fs.writeFileSync(
      process.env.FLEET_JSON,
      JSON.stringify(
        samples.map(({ reports, ...s }) => ({ ...s, steps: reports.map((r) => r.steps), hostCpuMs: reports.map((r) => r.hostCpuMs) })),
        null,
        2,
      ) + '\n',
    );
}

main()
  .catch((e) => {
    process.stderr.write(`bench/fleet: ${e.stack || e.message}\n`);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(work, { recursive: true, force: true }));
