#!/usr/bin/env node
/**
 * One host's first apply, step by step: the playbook's change (bench/ansible/playbook.yml: hostname,
 * size limit, banner, submission and submissions) plus a 1,000-entry sender blacklist (an indexed
 * access(5) table in smtpd_sender_restrictions), ours against Ansible making the same change on
 * another fresh lab host, in the same run; then a no-op re-run of each. Lab hosts have a stock root
 * shell (see bench/lib/measure.js). Prints, for our first apply, a timeline of the transaction's
 * steps on the host (wall time per step and the host CPU each step used) and where the rest of the
 * wall time goes (process start, SSH connect, the transaction from sending its input, the rest);
 * medians over SEED_REPEAT runs.
 *   SEED_REPEAT=3     repetitions (each on two fresh hosts)
 *   SEED_ENTRIES=1000 blacklist size
 * Needs root, the lab's Debian packages, ansible-core, `npm run build`.
 */
'use strict';
const fs = require('fs');
const { spawnSync } = require('child_process');
const os = require('os');
const path = require('path');
const m = require('./lib/measure');
const { ansible, endState } = require('./lib/ansible');

const ROOT = path.resolve(__dirname, '..');
const REPEAT = Number(process.env.SEED_REPEAT || 3);
const ENTRIES = Number(process.env.SEED_ENTRIES || 1000);
const CLI = path.join(ROOT, 'dist/bin/cdktf-postfix.js');

m.requireRoot('bench/seed');
const { startLab } = require(path.join(ROOT, 'dist-test/lab'));
const { App, TerraformStack } = require(path.join(ROOT, 'node_modules/cdktf'));
const { PostfixHost, Submission, Submissions, AccessTable } = require(path.join(ROOT, 'dist/index.js'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdktf-postfix-seed-'));

const entries = {};
for (let i = 0; i < ENTRIES; i++) entries[`sender${i}@spam${i % 97}.example`] = 'REJECT listed as a spam sender';

function synth(h) {
  const outdir = fs.mkdtempSync(path.join(work, 'stack-'));
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'mail');
  const host = new PostfixHost(stack, 'mx', {
    connection: { host: h.address, user: 'root', privateKeyPath: h.privateKeyPath, knownHostsPath: h.knownHostsPath },
    settings: { myhostname: h.hostname, message_size_limit: 25_000_000, smtpd_banner: '$myhostname ESMTP' },
  });
  host.addService(Submission.starttls());
  host.addService(Submissions.implicitTls());
  new AccessTable(host, 'blacklist', { entries }).restrictSenders();
  app.synth();
  return path.join(outdir, 'stacks', 'mail');
}

/** The blacklist's bytes as our bundle carries them, for Ansible to copy: the same file on both hosts. */
function blacklistFile(stackDir) {
  const hostsDir = path.join(stackDir, 'assets');
  const bundlePath = require('child_process')
    .execFileSync('find', [hostsDir, '-name', 'bundle.json'], { encoding: 'utf8' })
    .trim()
    .split('\n')[0];
  const bundle = JSON.parse(fs.readFileSync(bundlePath, 'utf8'));
  const f = bundle.files['/etc/postfix/blacklist'];
  const data = f.content !== undefined ? f.content : fs.readFileSync(path.join(path.dirname(bundlePath), f.asset));
  const file = path.join(work, 'blacklist');
  fs.writeFileSync(file, data);
  return file;
}

async function ours(stackDir, h, expect) {
  const before = m.hostCounters([h]);
  const r = await m.runMeasured(['node', CLI, 'apply', stackDir, '--json']);
  if (r.code !== 0) throw new Error(`apply exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  const [report] = JSON.parse(r.stdout);
  if (report.result !== expect) throw new Error(`expected ${expect}, got ${report.result} ${report.error ?? ''}`);
  const [host] = await m.hostDelta([h], before);
  return { ms: r.ms, cpuMs: r.cpuMs, host, report };
}

/** Per-step wall and host-CPU durations of a report (steps are cumulative). */
function stepDurations(report) {
  const out = {};
  let pw = 0;
  let pc = 0;
  for (const [k, w] of Object.entries(report.steps).sort((a, b) => a[1] - b[1])) {
    const c = report.hostCpuMs?.[k] ?? pc;
    out[k] = { wall: w - pw, cpu: c - pc };
    pw = w;
    pc = c;
  }
  return out;
}

/** The first lines of `diff -u` between our end state and Ansible's for one item. */
function textDiff(name, ours, theirs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seed-diff-'));
  try {
    fs.writeFileSync(path.join(dir, 'ours'), ours);
    fs.writeFileSync(path.join(dir, 'ansible'), theirs);
    const r = spawnSync('diff', ['-u', 'ours', 'ansible'], { cwd: dir, encoding: 'utf8' });
    return `  ${name}, ours vs ansible:\n${r.stdout.split('\n').slice(0, 30).join('\n')}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  console.log(`bench/seed: the playbook's change + a ${ENTRIES}-entry sender blacklist, ${REPEAT} repetitions, medians`);
  console.log(m.machineLine('at start'));
  console.log(m.STOCK_SHELL_NOTE);
  const lab = await startLab({ count: 2 * REPEAT, name: `bench-seed-${process.pid}` });
  const s = { oursFirst: [], oursNoop: [], ansibleFirst: [], ansibleNoop: [] };
  try {
    m.stockRootShell(lab.hosts);
    const stacks = lab.hosts.slice(0, REPEAT).map(synth);
    const blacklist = blacklistFile(stacks[0]);
    await m.settle(lab.hosts);
    const timed = (argv, opts) => m.runMeasured(argv, opts);
    for (let i = 0; i < REPEAT; i++) {
      const [oh, ah] = [lab.hosts[i], lab.hosts[REPEAT + i]];
      s.oursFirst.push(await ours(stacks[i], oh, 'applied'));
      s.oursNoop.push(await ours(stacks[i], oh, 'unchanged'));
      s.ansibleFirst.push(await ansible(timed, work, ah, true, `blacklist_src=${blacklist}`));
      s.ansibleNoop.push(await ansible(timed, work, ah, false, `blacklist_src=${blacklist}`));
      process.stderr.write(
        `  rep ${i + 1}: ours ${s.oursFirst[i].ms.toFixed(0)}/${s.oursNoop[i].ms.toFixed(0)} ms, ansible ${s.ansibleFirst[i].ms.toFixed(0)}/${s.ansibleNoop[i].ms.toFixed(0)} ms [load ${os.loadavg()[0].toFixed(1)}]\n`,
      );
    }
    const files = ['/etc/postfix/blacklist'];
    const [a, b] = [await endState(lab.hosts[0], files), await endState(lab.hosts[REPEAT], files)];
    const differing = Object.keys(a).filter((k) => a[k] !== b[k]);
    console.log(
      `end state, ours vs ansible (postconf -n, postconf -M, main.cf, master.cf, blacklist): ${differing.length ? `DIFFERENT in ${differing.join(', ')}` : 'identical'}`,
    );
    for (const k of differing) console.log(textDiff(k, a[k], b[k]));
  } finally {
    await lab.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(m.machineLine('at the end'));

  const med = (xs, f) => m.median(xs.map(f));
  const first = s.oursFirst;
  const durs = first.map((x) => stepDurations(x.report));
  const names = Object.keys(durs[0]);
  const line = names
    .map((k) => `${k} ${m.median(durs.map((d) => d[k]?.wall ?? 0)).toFixed(0)}/${m.median(durs.map((d) => d[k]?.cpu ?? 0)).toFixed(0)}`)
    .join(', ');
  const remote = med(first, (x) => Math.max(...Object.values(x.report.steps)));
  console.log('');
  console.log(
    `our first apply, timeline on the host (ms wall/host CPU per step; files = staging the table + postmap + rename, ack = postfix reload + master's acknowledgement):`,
  );
  console.log(`  ${line}`);
  console.log(
    `  wall ${med(first, (x) => x.ms).toFixed(0)} = node start+load+exit ${med(first, (x) => x.ms - x.report.durationMs).toFixed(0)} + ssh connect ${med(first, (x) => x.report.connectMs).toFixed(0)} + transaction ${remote.toFixed(0)} (from sending its input: lock includes the upload and the remote shell start) + its end and exit ${med(first, (x) => x.report.durationMs - x.report.connectMs - Math.max(...Object.values(x.report.steps))).toFixed(0)}`,
  );
  console.log(
    `  CPU: client ${med(first, (x) => x.cpuMs).toFixed(0)} ms, host ${med(first, (x) => x.host.sessions).toFixed(0)} ms (SSH sessions and the transaction) + Postfix restarting its services ${med(first, (x) => x.host.postfix).toFixed(0)} ms`,
  );
  console.log(
    `our no-op: wall ${med(s.oursNoop, (x) => x.ms).toFixed(0)} ms, CPU client ${med(s.oursNoop, (x) => x.cpuMs).toFixed(0)} ms, host ${med(s.oursNoop, (x) => x.host.sessions).toFixed(0)} ms`,
  );
  console.log(
    `ansible: first wall ${med(s.ansibleFirst, (x) => x.ms).toFixed(0)} ms (client CPU ${med(s.ansibleFirst, (x) => x.cpuMs).toFixed(0)} ms), no-op wall ${med(s.ansibleNoop, (x) => x.ms).toFixed(0)} ms (client CPU ${med(s.ansibleNoop, (x) => x.cpuMs).toFixed(0)} ms)`,
  );
  const r1 = med(s.ansibleFirst, (x) => x.ms) / med(first, (x) => x.ms);
  const r2 = med(s.ansibleNoop, (x) => x.ms) / med(s.oursNoop, (x) => x.ms);
  const c1 = med(s.ansibleFirst, (x) => x.cpuMs) / med(first, (x) => x.cpuMs);
  console.log(`first apply: ansible/ours wall ${r1.toFixed(1)}x (target >= 8x) ${r1 >= 8 ? 'ok' : 'MISSED'}; client CPU ${c1.toFixed(1)}x`);
  console.log(`no-op: ansible/ours wall ${r2.toFixed(1)}x`);
  console.log(
    `  samples (ms): ours first ${first.map((x) => x.ms.toFixed(0)).join(' ')}; ours no-op ${s.oursNoop.map((x) => x.ms.toFixed(0)).join(' ')}; ansible first ${s.ansibleFirst.map((x) => x.ms.toFixed(0)).join(' ')}; ansible no-op ${s.ansibleNoop.map((x) => x.ms.toFixed(0)).join(' ')}`,
  );
}

main().catch((e) => {
  process.stderr.write(`bench/seed: ${e.stack || e.message}\n`);
  process.exitCode = 1;
});
