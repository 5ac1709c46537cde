#!/usr/bin/env node
/*
 * Benchmark: a 1,000,000-entry sender blacklist applied by cdktf-postfix vs. by hand, side by side.
 *
 *   npm run build && node bench/tables.js [--entries N] [--runs R]
 *
 * Starts a lab with two hosts. On host 1 the AccessTable (fromFile) is synthesized and applied
 * through the same code path as `cdktf-postfix apply` (staged beside the live table, postmap on the
 * staged copy, rename, postconf/postfix check, reload). On host 2 the same work is done the way the
 * seed page does it: scp the file, `postmap hash:`, `postconf -e smtpd_sender_restrictions=...`,
 * `postfix reload`, over ssh. Prints synth time and peak RSS, both apply times per run and the ratio
 * ours/manual (target: <= 1.5). Each run uses a fresh table (a changed entry), so neither side is a no-op.
 *
 * First, without a lab: per-entry build cost of a lookup table at 1k, 100k and 1M entries, synth and
 * postmap, as ratios from the same run (bench/table-scaling.js). `--scaling-only` stops there.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const args = process.argv.slice(2);
const ENTRIES = Number(args.includes('--entries') ? args[args.indexOf('--entries') + 1] : 1000000);
const RUNS = Number(args.includes('--runs') ? args[args.indexOf('--runs') + 1] : 3);
const dist = path.join(__dirname, '..', 'dist');

function generate(file, run) {
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < ENTRIES; i += 10000) {
    let chunk = '';
    for (let j = i; j < Math.min(ENTRIES, i + 10000); j++) chunk += `user${j}@spam${j % 997}.example\tREJECT listed (${run})\n`;
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
}

function sh(cmd, argv, input) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', input, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function printScaling() {
  const { measureTableScaling } = require('./table-scaling');
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const { rows, ratios } = measureTableScaling({ dist });
  console.log(
    `lookup table build cost per entry, 1k, 100k, 1M entries (load average before: ${load}; after: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; ${os.cpus().length} CPUs)`,
  );
  console.table(rows);
  for (const [stage, bySize] of Object.entries(ratios)) {
    for (const [n, ratio] of Object.entries(bySize))
      console.log(`${stage}: per-entry cost at 1M / at ${Number(n) / 1000}k = ${ratio.toFixed(2)} (<= 1: no slower per entry at 1M)`);
  }
}

async function main() {
  printScaling();
  if (args.includes('--scaling-only')) return;
  const { startLab } = require(path.join(__dirname, '..', 'dist-test', 'lab'));
  const { App, TerraformStack } = require('cdktf');
  const { PostfixHost } = require(path.join(dist, 'constructs/postfix-host'));
  const { AccessTable } = require(path.join(dist, 'constructs/access-table'));
  const { readStackHosts } = require(path.join(dist, 'lib/apply/stack'));
  const { applyStackHost } = require(path.join(dist, 'lib/apply/hosts'));

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tables-'));
  const lab = await startLab({ count: 2 });
  const [ours, manual] = lab.hosts;
  const rows = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      const table = path.join(work, `blacklist-${run}`);
      generate(table, run);
      const size = fs.statSync(table).size;

      const t0 = process.hrtime.bigint();
      const outdir = path.join(work, `out-${run}`);
      const app = new App({ outdir });
      const stack = new TerraformStack(app, 'bench');
      const host = new PostfixHost(stack, 'mx', {
        connection: { host: ours.address, privateKeyPath: ours.privateKeyPath, knownHostsPath: ours.knownHostsPath },
      });
      new AccessTable(host, 'blacklist', { fromFile: table }).restrictSenders();
      app.synth();
      const synthMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const tf = fs.readFileSync(path.join(outdir, 'stacks/bench/cdk.tf.json'), 'utf8');

      const t1 = process.hrtime.bigint();
      const [target] = readStackHosts(path.join(outdir, 'stacks/bench'));
      const report = await applyStackHost(target);
      const oursMs = Number(process.hrtime.bigint() - t1) / 1e6;
      if (report.result !== 'applied') throw new Error(`apply: ${JSON.stringify(report)}`);

      const t2 = process.hrtime.bigint();
      const ssh = manual.sshArgs();
      sh('scp', [
        '-q',
        '-i',
        manual.privateKeyPath,
        '-o',
        `UserKnownHostsFile=${manual.knownHostsPath}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        table,
        `root@${manual.address}:/etc/postfix/blacklist`,
      ]);
      sh('ssh', [
        ...ssh,
        'postmap hash:/etc/postfix/blacklist && postconf -e "smtpd_sender_restrictions = check_sender_access hash:/etc/postfix/blacklist" && postfix reload',
      ]);
      const manualMs = Number(process.hrtime.bigint() - t2) / 1e6;

      // both hosts answer the same way
      for (const h of [ours, manual]) {
        const q = (
          await h.exec(['postmap', '-q', `user${ENTRIES - 1}@spam${(ENTRIES - 1) % 997}.example`, 'hash:/etc/postfix/blacklist'])
        ).stdout.trim();
        if (q !== `REJECT listed (${run})`) throw new Error(`${h.name}: lookup gave ${JSON.stringify(q)}`);
      }
      rows.push({
        run,
        sizeMB: (size / 1e6).toFixed(1),
        synthMs: synthMs.toFixed(0),
        tfJsonKB: (tf.length / 1024).toFixed(1),
        oursMs: oursMs.toFixed(0),
        manualMs: manualMs.toFixed(0),
        ratio: (oursMs / manualMs).toFixed(2),
      });
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  } finally {
    await lab.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(`entries: ${ENTRIES}; peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  console.table(rows);
  const ratios = rows.map((r) => Number(r.ratio)).sort((a, b) => a - b);
  const median = ratios[Math.floor(ratios.length / 2)];
  console.log(`median apply ratio ours/manual: ${median.toFixed(2)} (target <= 1.5)`);
  process.exitCode = median <= 1.5 ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
