#!/usr/bin/env node
/*
 * Benchmark: our log report vs pflogsumm on the same generated 1,000,000-line Postfix log.
 *
 *   npm run build && node bench/logs.js [--lines N] [--keep] [--workers N] [--repeat N]
 *
 * Generates a deterministic, realistic log (received via smtpd and pickup, local and remote
 * deliveries, deferrals with retries, bounces, expiries, forwards, NOQUEUE/postscreen rejects,
 * reject warnings, cleanup header/body holds, discards and rejects, warnings, postsuper; five days;
 * RFC 3339 and traditional stamps mixed, plus a few foreign and garbage lines) into a temp file,
 * runs pflogsumm and our parser, checks that the grand totals are equal (in pflogsumm's printed
 * units: it shows values above 512k as k/m), and prints both times and the ratio pflogsumm/ours,
 * as wall-clock time and as CPU time (the latter is the fairer number on a busy machine; ours
 * counts every thread of the process: the worker threads that read pieces of the file, V8's
 * compiler and GC threads, libuv's file reads). --workers N sets our thread count (1 = one thread;
 * default: the CPUs available, at most 8). --repeat N runs both N times, alternating, and reports
 * the medians. Exits 1 when the totals differ.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const args = process.argv.slice(2);
const LINES = Number(args.includes('--lines') ? args[args.indexOf('--lines') + 1] : 1000000);
const KEEP = args.includes('--keep');
const WORKERS = args.includes('--workers') ? Number(args[args.indexOf('--workers') + 1]) : undefined;
const REPEAT = Math.max(1, Number(args.includes('--repeat') ? args[args.indexOf('--repeat') + 1] : 1));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(file, target) {
  const r = rng(20261129);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n) => (n < 10 ? '0' : '') + n;
  let t = Date.UTC(2026, 10, 24, 0, 0, 0); // Nov 24 2026 UTC, five days
  const span = 5 * 86400000;
  const step = span / (target / 1.0);
  let frac = 0;
  const stamp = () => {
    t += step * (0.5 + r());
    const d = new Date(t);
    frac = (frac + 137) % 1000000;
    if (r() < 0.5) {
      return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}.${String(frac).padStart(6, '0')}+00:00`;
    }
    const day = d.getUTCDate();
    return `${MON[d.getUTCMonth()]} ${day < 10 ? ' ' : ''}${day} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  };
  const host = 'mx1';
  const users = Array.from({ length: 400 }, (_, i) => `user${i}`);
  const ourDomains = ['example.org', 'example.net', 'Mail.Example.ORG'];
  const extDomains = Array.from({ length: 300 }, (_, i) => `dom${i}.example${i % 7 === 0 ? '.co.uk' : '.com'}`);
  const clients = Array.from({ length: 500 }, (_, i) => (i % 9 === 0 ? `unknown[203.0.113.${i % 250}]` : `mail${i}.sender${i % 120}.example.com[198.51.100.${i % 250}]`));
  let qn = 0x10000000;
  const qid = () => (qn += 17).toString(16).toUpperCase();
  let pid = 1000;
  const out = [];
  let lines = 0;
  const fd = fs.openSync(file, 'w');
  const emit = (prog, msg) => {
    out.push(`${stamp()} ${host} postfix/${prog}[${pid + (lines % 97)}]: ${msg}`);
    lines++;
    if (out.length >= 10000) fs.writeSync(fd, out.splice(0).join('\n') + '\n');
  };
  const pending = []; // deferred messages: {q, rcpt, tries, due, from, size}
  let msgNo = 0;
  const finish = (m) => {
    const outcome = r();
    if (outcome < 0.6) emit('smtp', `${m.q}: to=<${m.rcpt}>, relay=mx.${m.rcpt.split('@')[1]}[192.0.2.${m.tries}]:25, delay=${3600 * m.tries}, delays=${3600 * m.tries}/0.01/0.3/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as ${qid()})`);
    else if (outcome < 0.85) emit('smtp', `${m.q}: to=<${m.rcpt}>, relay=mx.${m.rcpt.split('@')[1]}[192.0.2.9]:25, delay=${3600 * m.tries}, delays=1/0/0.5/0.3, dsn=5.1.1, status=bounced (host mx.${m.rcpt.split('@')[1]}[192.0.2.9] said: 550 5.1.1 <${m.rcpt}>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))`);
    else {
      emit('qmgr', `${m.q}: from=<${m.from}>, status=expired, returned to sender`);
    }
    emit('qmgr', `${m.q}: removed`);
  };
  while (lines < target) {
    msgNo++;
    // retries due now
    while (pending.length > 0 && pending[0].due <= msgNo) {
      const m = pending.shift();
      emit('qmgr', `${m.q}: from=<${m.from}>, size=${m.size}, nrcpt=1 (queue active)`);
      if (m.tries < 3 && r() < 0.5) {
        m.tries++;
        emit('smtp', `${m.q}: to=<${m.rcpt}>, relay=none, delay=${3600 * m.tries}, delays=${3600 * m.tries}/0.01/30/0, dsn=4.4.1, status=deferred (connect to mx.${m.rcpt.split('@')[1]}[192.0.2.7]:25: Connection timed out)`);
        m.due = msgNo + 50 + Math.floor(r() * 200);
        pending.push(m);
        pending.sort((a, b) => a.due - b.due);
      } else finish(m);
    }
    const kind = r();
    const client = pick(clients);
    if (kind < 0.08) {
      emit('smtpd', `connect from ${client}`);
      const rc = pick(users) + '@' + pick(extDomains);
      emit('smtpd', `NOQUEUE: reject: RCPT from ${client}: 554 5.7.1 <${rc}>: Relay access denied; from=<spam${Math.floor(r() * 50)}@${pick(extDomains)}> to=<${rc}> proto=ESMTP helo=<${client.split('[')[0]}>`);
      emit('smtpd', `disconnect from ${client} ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4`);
      continue;
    }
    if (kind < 0.10) {
      emit('postscreen', `NOQUEUE: reject: RCPT from [203.0.113.${Math.floor(r() * 250)}]:${40000 + Math.floor(r() * 20000)}: 550 5.7.1 Service unavailable; client [203.0.113.5] blocked using zen.spamhaus.org; from=<x@${pick(extDomains)}>, to=<${pick(users)}@example.org>, proto=ESMTP, helo=<spam.example>`);
      continue;
    }
    if (kind < 0.11) {
      emit('smtpd', `NOQUEUE: reject_warning: RCPT from ${client}: 450 4.7.1 <${pick(users)}@example.org>: Recipient address rejected: Greylisted; from=<a@${pick(extDomains)}> to=<${pick(users)}@example.org> proto=ESMTP helo=<h.example>`);
      continue;
    }
    if (kind < 0.115) {
      emit('smtpd', `warning: hostname ${client.split('[')[0]} does not resolve to address 198.51.100.${Math.floor(r() * 250)}: Name or service not known`);
      continue;
    }
    if (kind < 0.117) {
      out.push(`${stamp()} ${host} dovecot: imap-login: Login: user=<${pick(users)}>, method=PLAIN`);
      lines++;
      continue;
    }
    if (kind < 0.1172) {
      out.push(`garbage line ${msgNo} without a header`);
      lines++;
      continue;
    }
    if (kind < 0.1175) {
      emit('postsuper', `Deleted: ${1 + Math.floor(r() * 3)} messages`);
      continue;
    }
    // a message
    const q = qid();
    const viaPickup = kind > 0.93;
    let from;
    if (viaPickup) {
      const u = pick(users);
      emit('pickup', `${q}: uid=${1000 + Math.floor(r() * 10)} from=<${u}>`);
      from = `${u}@example.org`;
    } else {
      emit('smtpd', `connect from ${client}`);
      emit('smtpd', `${q}: client=${client}${r() < 0.2 ? ', sasl_method=PLAIN, sasl_username=' + pick(users) : ''}`);
      from = r() < 0.05 ? '' : `${pick(users)}@${r() < 0.5 ? pick(extDomains) : pick(ourDomains)}`;
    }
    emit('cleanup', `${q}: message-id=<${msgNo}.${q}@${host}.example.org>`);
    const c = r();
    if (c < 0.01) {
      emit('cleanup', `${q}: hold: header Subject: check me from ${client}; from=<${from}> to=<${pick(users)}@example.org> proto=ESMTP helo=<h>: held for review`);
    } else if (c < 0.015) {
      emit('cleanup', `${q}: discard: body spam spam from ${client}; from=<${from}> to=<${pick(users)}@example.org> proto=ESMTP helo=<h>: dropped`);
      continue;
    } else if (c < 0.02) {
      emit('cleanup', `${q}: reject: header X-Mailer: BadMailer from ${client}; from=<${from}> to=<${pick(users)}@example.org> proto=ESMTP helo=<h>: 5.7.1 message content rejected`);
      continue;
    } else if (c < 0.025) {
      emit('smtpd', `${q}: hold: RCPT from ${client}: <${pick(users)}@example.org>: Recipient address triggers HOLD action; from=<${from}> to=<${pick(users)}@example.org> proto=ESMTP helo=<h>`);
    }
    const size = 500 + Math.floor(r() * 200000);
    const nr = 1 + Math.floor(r() * 3);
    emit('qmgr', `${q}: from=<${from}>, size=${size}, nrcpt=${nr} (queue active)`);
    if (!viaPickup) emit('smtpd', `disconnect from ${client} ehlo=1 mail=1 rcpt=${nr} data=1 quit=1 commands=5`);
    let deferredOne = false;
    for (let i = 0; i < nr; i++) {
      const o = r();
      if (o < 0.45) {
        const u = pick(users);
        const d = pick(ourDomains);
        emit('local', `${q}: to=<${u}@${d}>, ${r() < 0.3 ? `orig_to=<alias${i}@${d}>, ` : ''}relay=local, delay=${(r() * 2).toFixed(2)}, delays=0.1/0.01/0/0.05, dsn=2.0.0, status=sent (delivered to mailbox)`);
      } else if (o < 0.78) {
        const d = pick(extDomains);
        emit('smtp', `${q}: to=<${pick(users)}@${d}>, relay=mx.${d}[192.0.2.${Math.floor(r() * 250)}]:25, delay=${(r() * 5).toFixed(1)}, delays=0.1/0.02/0.5/0.3, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as ${qid()})`);
      } else if (o < 0.83) {
        const q2 = qid();
        const u = pick(users);
        emit('local', `${q}: to=<${u}@example.org>, relay=local, delay=0.2, delays=0.1/0/0/0.1, dsn=2.0.0, status=sent (forwarded as ${q2})`);
        emit('qmgr', `${q2}: from=<${from}>, size=${size + 300}, nrcpt=1 (queue active)`);
        const d = pick(extDomains);
        emit('smtp', `${q2}: to=<${u}@${d}>, orig_to=<${u}@example.org>, relay=mx.${d}[192.0.2.1]:25, delay=0.9, delays=0/0/0.4/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok)`);
        emit('qmgr', `${q2}: removed`);
      } else if (o < 0.9 && !deferredOne && nr === 1) {
        deferredOne = true;
        const rc = `${pick(users)}@${pick(extDomains)}`;
        emit('smtp', `${q}: to=<${rc}>, relay=none, delay=30, delays=0.1/0.01/30/0, dsn=4.4.1, status=deferred (connect to mx.${rc.split('@')[1]}[192.0.2.7]:25: Connection timed out)`);
        pending.push({ q, rcpt: rc, tries: 1, due: msgNo + 50 + Math.floor(r() * 200), from, size });
        pending.sort((a, b) => a.due - b.due);
      } else if (o < 0.95) {
        const d = pick(extDomains);
        const rc = `${pick(users)}@${d}`;
        emit('smtp', `${q}: to=<${rc}>, relay=mx.${d}[192.0.2.3]:25, delay=1.2, delays=0.1/0/0.6/0.5, dsn=5.1.1, status=bounced (host mx.${d}[192.0.2.3] said: 550 5.1.1 <${rc}>: Recipient address rejected: User unknown (in reply to RCPT TO command))`);
        emit('bounce', `${q}: sender non-delivery notification: ${qid()}`);
      } else {
        const u = pick(users);
        emit('smtp', `${q}: to=<${u}@${pick(extDomains)}>, relay=mx.x[192.0.2.4]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok)`);
      }
    }
    if (!deferredOne) emit('qmgr', `${q}: removed`);
  }
  fs.writeSync(fd, out.join('\n') + '\n');
  fs.closeSync(fd);
  return lines;
}

/** pflogsumm's adj_int_units: the value as printed ("%6d%s"). */
function units(v) {
  if (v > 536870912) return `${Math.trunc(v / 1048576)}m`;
  if (v > 524288) return `${Math.trunc(v / 1024)}k`;
  return `${Math.trunc(v)}`;
}

function parsePflogsumm(text) {
  const labels = {
    received: /^\s*(\d+)([km]?)\s+received$/m, delivered: /^\s*(\d+)([km]?)\s+delivered$/m,
    forwarded: /^\s*(\d+)([km]?)\s+forwarded$/m, deferred: /^\s*(\d+)([km]?)\s+deferred/m,
    deferrals: /\((\d+)([km]?)\s+deferrals\)/m, bounced: /^\s*(\d+)([km]?)\s+bounced$/m,
    rejected: /^\s*(\d+)([km]?)\s+rejected \(/m, rejectWarnings: /^\s*(\d+)([km]?)\s+reject warnings$/m,
    held: /^\s*(\d+)([km]?)\s+held$/m, discarded: /^\s*(\d+)([km]?)\s+discarded \(/m,
    bytesReceived: /^\s*(\d+)([km]?)\s+bytes received$/m, bytesDelivered: /^\s*(\d+)([km]?)\s+bytes delivered$/m,
    senders: /^\s*(\d+)([km]?)\s+senders$/m, sendingHostsDomains: /^\s*(\d+)([km]?)\s+sending hosts\/domains$/m,
    recipients: /^\s*(\d+)([km]?)\s+recipients$/m, recipientHostsDomains: /^\s*(\d+)([km]?)\s+recipient hosts\/domains$/m,
  };
  const out = {};
  for (const [k, re] of Object.entries(labels)) {
    const m = re.exec(text);
    out[k] = m ? m[1] + m[2] : '0';
  }
  return out;
}

async function main() {
  const logs = require(process.env.LOGS_DIST || '../dist/lib/ops/logs');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logs-bench-'));
  const file = path.join(dir, 'mail.log');
  const load0 = os.loadavg()[0].toFixed(2);
  let t0 = Date.now();
  const n = generate(file, LINES);
  console.log(`generated ${n} lines (${(fs.statSync(file).size / 1048576).toFixed(1)} MiB) in ${Date.now() - t0} ms: ${file}`);

  const pfOut = path.join(dir, 'pflogsumm.txt');
  const runs = { pfMs: [], pfCpuMs: [], ourMs: [], ourCpuMs: [] };
  let report;
  const threads = WORKERS ?? (logs.workersAvailable() ? logs.defaultWorkers() : 1);
  for (let rep = 0; rep < REPEAT; rep++) {
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

    const cpu0 = process.cpuUsage();
    t0 = process.hrtime.bigint();
    report = await logs.analyzeLogs([file], { parallel: { workers: threads } });
    runs.ourMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const cpu = process.cpuUsage(cpu0);
    runs.ourCpuMs.push((cpu.user + cpu.system) / 1000);
  }
  const [pfMs, pfCpuMs, ourMs, ourCpuMs] = [runs.pfMs, runs.pfCpuMs, runs.ourMs, runs.ourCpuMs].map(median);

  const theirs = parsePflogsumm(fs.readFileSync(pfOut, 'utf8'));
  const g = report.grandTotals;
  let equal = true;
  console.log(`\n${'grand total'.padEnd(24)}${'pflogsumm'.padStart(12)}${'ours'.padStart(12)}${'ours (exact)'.padStart(16)}`);
  for (const k of Object.keys(theirs)) {
    const mine = units(g[k]);
    const same = mine === theirs[k];
    if (!same) equal = false;
    console.log(`${k.padEnd(24)}${theirs[k].padStart(12)}${mine.padStart(12)}${String(g[k]).padStart(16)}${same ? '' : '   <-- differs'}`);
  }
  console.log(`\nlines: ${report.input.lines}, postfix: ${report.input.postfixLines}, unparsed: garbage ${report.unparsed.garbage.count}, non-postfix ${report.unparsed.nonPostfix.count}, unrecognised postfix ${report.unparsed.unrecognisedPostfix.count}`);
  console.log(`load average before/after: ${load0} / ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} CPUs`);
  const all = (a) => (REPEAT > 1 ? `  [runs: ${a.map((x) => x.toFixed(0)).join(', ')}]` : '');
  console.log(`pflogsumm: ${pfMs.toFixed(0)} ms wall, ${pfCpuMs.toFixed(0)} ms CPU${REPEAT > 1 ? ' (medians)' : ''}${all(runs.pfMs)}`);
  console.log(`ours:      ${ourMs.toFixed(0)} ms wall, ${ourCpuMs.toFixed(0)} ms CPU${REPEAT > 1 ? ' (medians)' : ''}, ${threads} thread${threads === 1 ? '' : 's'}  (RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB)${all(runs.ourMs)}`);
  console.log(`ratio pflogsumm/ours: ${(pfMs / ourMs).toFixed(1)}x wall, ${(pfCpuMs / ourCpuMs).toFixed(1)}x CPU`);
  console.log(`grand totals equal: ${equal ? 'yes' : 'NO'}`);
  if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
  process.exit(equal ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
