#!/usr/bin/env node
/*
 * Benchmark: our log report vs pflogsumm on the same 1,000,000-line Postfix log.
 *
 *   npm run build && node bench/logs.js [--lines N] [--repeat N] [--workers N[,N...]] [--keep] [--ours-only]
 *
 * The log is bench/fixtures/mail-lab.log, recorded from a lab host's real Postfix by
 * bench/logs-record.js (local and remote deliveries, alias forwards, RCPT rejects for unknown users,
 * relay denied and an access map, reject warnings, header_checks hold/discard/reject, deferrals to
 * a closed port and on 4xx replies, bounces on 5xx replies, expiries, pickup submissions, non-SMTP
 * commands and lost connections), repeated to N lines in a temp file with each repetition's queue
 * IDs made unique. pflogsumm (default options) and our report run on it alternately, --repeat times
 * (default 5); the bench prints the medians, wall-clock and CPU time (ours counts every thread of
 * the process), the ratio pflogsumm/ours, the grand totals side by side (in pflogsumm's printed
 * units: it shows values above 512k as k/m) and our peak RSS (process.resourceUsage().maxRSS,
 * worker threads included). --workers N[,N...] sets our thread counts, each run in turn in every
 * repetition (1 = one thread; default: 1 and the CPUs available, at most 8, so both are measured in the
 * same run). --ours-only skips pflogsumm (the memory check on 10M lines: pflogsumm
 * keeps every message's state and takes minutes). It also prints how many cores two threads really
 * get at the time (a busy loop alone, then two at once): on a shared machine a second thread may only
 * take turns with the first. Exits 1 when the totals differ.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const args = process.argv.slice(2);
const LINES = Number(args.includes('--lines') ? args[args.indexOf('--lines') + 1] : 1000000);
const KEEP = args.includes('--keep');
const WORKERS = args.includes('--workers') ? args[args.indexOf('--workers') + 1].split(',').map(Number) : undefined;
const REPEAT = Math.max(1, Number(args.includes('--repeat') ? args[args.indexOf('--repeat') + 1] : 5));
const OURS_ONLY = args.includes('--ours-only');
const FIXTURE = path.join(__dirname, 'fixtures', 'mail-lab.log');
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];

/**
 * Writes the recorded fixture repeated until `target` lines, every repetition with its own queue
 * IDs: each ID the fixture uses (the token before `: ` at the start of a message, wherever it
 * appears again: "forwarded as", "notification:", message-ids) becomes 4 hex digits of the
 * repetition and 7 of the ID's index, 11 upper-case hex digits as Postfix's short IDs. Streamed:
 * memory is the fixture's, whatever the target.
 */
function repeatFixture(file, target) {
  const lines = fs
    .readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  const ids = new Map();
  for (const l of lines) {
    const m = /^\S+ +\S+ +\S+ \S+ \S+?: ([0-9A-F]{6,}): /.exec(l) || /^\S+ \S+ \S+?: ([0-9A-F]{6,}): /.exec(l);
    if (m && !ids.has(m[1])) ids.set(m[1], ids.size);
  }
  if (ids.size === 0 || ids.size >= 1 << 28) throw new Error(`${FIXTURE}: ${ids.size} queue IDs`);
  // each line as [text, id index, text, id index, ..., text]
  const templates = lines.map((l) => {
    const parts = [];
    let last = 0;
    for (const m of l.matchAll(/[0-9A-F]{6,}/g)) {
      const i = ids.get(m[0]);
      const before = m.index === 0 ? '' : l[m.index - 1];
      const afterCh = l[m.index + m[0].length] ?? '';
      if (i === undefined || /[0-9A-Za-z]/.test(before) || /[0-9A-Za-z]/.test(afterCh)) continue;
      parts.push(l.slice(last, m.index), i);
      last = m.index + m[0].length;
    }
    parts.push(l.slice(last) + '\n');
    return parts;
  });
  const fd = fs.openSync(file, 'w');
  let written = 0;
  for (let rep = 0; written < target; rep++) {
    if (rep >= 0x10000) throw new Error('too many repetitions for 11-digit queue IDs');
    const prefix = rep.toString(16).toUpperCase().padStart(4, '0');
    const qids = [...ids.values()].map((i) => prefix + i.toString(16).toUpperCase().padStart(7, '0'));
    let out = '';
    for (const t of templates) {
      if (written >= target) break;
      for (let k = 0; k < t.length; k++) out += k & 1 ? qids[t[k]] : t[k];
      written++;
    }
    fs.writeSync(fd, out);
  }
  fs.closeSync(fd);
  return { lines: written, fixtureLines: lines.length, ids: ids.size };
}

/** pflogsumm's adj_int_units: the value as printed ("%6d%s"). */
function units(v) {
  if (v > 536870912) return `${Math.trunc(v / 1048576)}m`;
  if (v > 524288) return `${Math.trunc(v / 1024)}k`;
  return `${Math.trunc(v)}`;
}

function parsePflogsumm(text) {
  const labels = {
    received: /^\s*(\d+)([km]?)\s+received$/m,
    delivered: /^\s*(\d+)([km]?)\s+delivered$/m,
    forwarded: /^\s*(\d+)([km]?)\s+forwarded$/m,
    deferred: /^\s*(\d+)([km]?)\s+deferred/m,
    deferrals: /\((\d+)([km]?)\s+deferrals\)/m,
    bounced: /^\s*(\d+)([km]?)\s+bounced$/m,
    rejected: /^\s*(\d+)([km]?)\s+rejected \(/m,
    rejectWarnings: /^\s*(\d+)([km]?)\s+reject warnings$/m,
    held: /^\s*(\d+)([km]?)\s+held$/m,
    discarded: /^\s*(\d+)([km]?)\s+discarded \(/m,
    bytesReceived: /^\s*(\d+)([km]?)\s+bytes received$/m,
    bytesDelivered: /^\s*(\d+)([km]?)\s+bytes delivered$/m,
    senders: /^\s*(\d+)([km]?)\s+senders$/m,
    sendingHostsDomains: /^\s*(\d+)([km]?)\s+sending hosts\/domains$/m,
    recipients: /^\s*(\d+)([km]?)\s+recipients$/m,
    recipientHostsDomains: /^\s*(\d+)([km]?)\s+recipient hosts\/domains$/m,
  };
  const out = {};
  for (const [k, re] of Object.entries(labels)) {
    const m = re.exec(text);
    out[k] = m ? m[1] + m[2] : '0';
  }
  return out;
}

/**
 * Cores this process can really get now: a fixed busy loop alone, then one on each of two threads
 * at once; 2.0 means two free cores, 1.0 means the threads only take turns (a shared, loaded machine).
 */
function effectiveCores() {
  const { Worker } = require('worker_threads');
  const code = "let x = 0; for (let i = 0; i < 4e8; i++) x ^= i; require('worker_threads').parentPort.postMessage(x);";
  const run = (n) => {
    const t = process.hrtime.bigint();
    return Promise.all(Array.from({ length: n }, () => new Promise((res) => new Worker(code, { eval: true }).once('message', res)))).then(
      () => Number(process.hrtime.bigint() - t) / 1e6,
    );
  };
  return run(1).then((one) => run(2).then((two) => (2 * one) / two));
}

async function main() {
  const logs = require(process.env.LOGS_DIST || '../dist/lib/ops/logs');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logs-bench-'));
  const file = path.join(dir, 'mail.log');
  const load0 = os.loadavg()[0].toFixed(2);
  let t0 = Date.now();
  const gen = repeatFixture(file, LINES);
  console.log(
    `wrote ${gen.lines} lines (${(fs.statSync(file).size / 1048576).toFixed(1)} MiB; ${path.relative(process.cwd(), FIXTURE)}: ${gen.fixtureLines} lines, ${gen.ids} queue IDs, repeated) in ${Date.now() - t0} ms: ${file}`,
  );

  const pfOut = path.join(dir, 'pflogsumm.txt');
  const defaultThreads = logs.workersAvailable() ? logs.defaultWorkers() : 1;
  const threadCounts = WORKERS ?? [...new Set([1, defaultThreads])];
  const runs = { pfMs: [], pfCpuMs: [] };
  const ours = threadCounts.map((threads) => ({ threads, ms: [], cpuMs: [], report: null }));
  for (let rep = 0; rep < REPEAT; rep++) {
    if (OURS_ONLY) {
      runs.pfMs.push(NaN);
      runs.pfCpuMs.push(NaN);
    } else {
      // pflogsumm under bash so `times` can report its CPU time (user+sys of the child)
      t0 = process.hrtime.bigint();
      const pf = spawnSync('bash', ['-c', 'pflogsumm "$1" > "$2" || exit 3; times', '_', file, pfOut], { encoding: 'utf8' });
      runs.pfMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (pf.error || pf.status !== 0) {
        console.error('pflogsumm failed:', pf.error ? pf.error.message : pf.stderr);
        process.exit(2);
      }
      const cpuLine = pf.stdout.trim().split('\n').pop() || '';
      const secs = [...cpuLine.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
      runs.pfCpuMs.push((secs[0] + secs[1]) * 1000);
    }
    for (const o of ours) {
      const cpu0 = process.cpuUsage();
      t0 = process.hrtime.bigint();
      o.report = await logs.analyzeLogs([file], { parallel: { workers: o.threads } });
      o.ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const cpu = process.cpuUsage(cpu0);
      o.cpuMs.push((cpu.user + cpu.system) / 1000);
    }
  }
  const [pfMs, pfCpuMs] = [runs.pfMs, runs.pfCpuMs].map(median);

  const theirs = OURS_ONLY
    ? Object.fromEntries(Object.keys(parsePflogsumm('')).map((k) => [k, '-']))
    : parsePflogsumm(fs.readFileSync(pfOut, 'utf8'));
  let equal = true;
  const g = ours[0].report.grandTotals;
  console.log(`\n${'grand total'.padEnd(24)}${'pflogsumm'.padStart(12)}${'ours'.padStart(12)}${'ours (exact)'.padStart(16)}`);
  for (const k of Object.keys(theirs)) {
    const mine = units(g[k]);
    // every thread count must give the same exact totals
    const same = (OURS_ONLY || mine === theirs[k]) && ours.every((o) => o.report.grandTotals[k] === g[k]);
    if (!same) equal = false;
    console.log(`${k.padEnd(24)}${theirs[k].padStart(12)}${mine.padStart(12)}${String(g[k]).padStart(16)}${same ? '' : '   <-- differs'}`);
  }
  const report = ours[0].report;
  console.log(
    `\nlines: ${report.input.lines}, postfix: ${report.input.postfixLines}, unparsed: garbage ${report.unparsed.garbage.count}, non-postfix ${report.unparsed.nonPostfix.count}, unrecognised postfix ${report.unparsed.unrecognisedPostfix.count}`,
  );
  console.log(
    `load average before/after: ${load0} / ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} CPUs; effective cores for two threads now: ${(await effectiveCores()).toFixed(1)}`,
  );
  const all = (a) => (REPEAT > 1 ? `  [runs: ${a.map((x) => x.toFixed(0)).join(', ')}]` : '');
  const med = REPEAT > 1 ? ' (medians)' : '';
  if (!OURS_ONLY) console.log(`pflogsumm: ${pfMs.toFixed(0)} ms wall, ${pfCpuMs.toFixed(0)} ms CPU${med}${all(runs.pfMs)}`);
  for (const o of ours) {
    const [ms, cpuMs] = [median(o.ms), median(o.cpuMs)];
    const label = `${o.threads} thread${o.threads === 1 ? '' : 's'}`;
    console.log(`ours, ${label}: ${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU${med}${all(o.ms)}`);
    if (!OURS_ONLY) console.log(`  ratio pflogsumm/ours, ${label}: ${(pfMs / ms).toFixed(1)}x wall, ${(pfCpuMs / cpuMs).toFixed(1)}x CPU`);
  }
  console.log(
    `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (this process, worker threads included, the largest over all runs above)`,
  );
  console.log(`grand totals equal: ${OURS_ONLY ? 'not compared (--ours-only)' : equal ? 'yes' : 'NO: the report and pflogsumm disagree'}`);
  if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
  process.exit(equal ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
