#!/usr/bin/env node
/*
 * Benchmark: purging queued mail by recipient, our CLI vs the hand pipeline, on a lab host.
 *
 *   npm run build && node bench/queue.js [--messages N] [--rounds R (default 5)]
 *
 * Fills a lab host's deferred queue with N messages (default 10,000; half for hill@domain.tld, the
 * rest for look-alikes and others), then times, over SSH from this machine:
 *   ours:     cdktf-postfix queue delete --recipient hill@domain.tld --host ... (node + ssh2)
 *   pipeline: ssh host "postqueue -j | jq -r 'select(any(.recipients[]; .address == \"hill@domain.tld\")) | .queue_id' | postsuper -d -"
 * Both must leave exactly the other half queued; the deleted half is refilled between runs.
 * Prints every round and the medians; exits 1 if a run removed the wrong messages.
 * Needs root (the lab), jq on the host (this machine's, since lab hosts share its binaries).
 */
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');

const ROOT = path.join(__dirname, '..');
const { startLab } = require(path.join(ROOT, 'dist-test/lab'));
const { parsePostqueueJson } = require(path.join(ROOT, 'dist/lib/ops/queue'));

const args = process.argv.slice(2);
const arg = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const TOTAL = arg('--messages', 10000);
const ROUNDS = arg('--rounds', 5);
const TARGET = 'hill@domain.tld';
const OTHERS = ['bill@domain.tld', 'hill@domain.tld.example', 'HILL@domain.tld', 'carol@other.example', 'dave@domain.tld'];
const CONNECTIONS = 8;

function run(cmd, argv, input) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    c.stdout.on('data', (d) => out.push(d));
    c.stderr.on('data', (d) => err.push(d));
    c.on('error', reject);
    c.stdin.on('error', () => undefined);
    c.on('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      }),
    );
    c.stdin.end(input || '');
  });
}

/** Reads SMTP replies off a socket; resolves one final reply (last line "NNN ") per call. */
function replyReader(sock) {
  let buf = '';
  const waiting = [];
  const ready = [];
  sock.on('data', (d) => {
    buf += d.toString('latin1');
    let i;
    while ((i = buf.indexOf('\r\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (line[3] === '-') continue; // continuation of a multi-line reply
      if (waiting.length) waiting.shift()(line);
      else ready.push(line);
    }
  });
  return () => new Promise((resolve) => (ready.length ? resolve(ready.shift()) : waiting.push(resolve)));
}

/** One SMTP session that sends every recipient in `rcpts` its own message, PIPELINING the envelope. */
async function smtpSession(address, rcpts) {
  const sock = net.connect(25, address);
  await new Promise((resolve, reject) => (sock.once('connect', resolve), sock.once('error', reject)));
  const reply = replyReader(sock);
  const expect = async (code) => {
    const line = await reply();
    if (!line.startsWith(code)) throw new Error(`SMTP: expected ${code}, got ${line}`);
  };
  await expect('220');
  sock.write('EHLO bench.lab.test\r\n');
  await expect('250');
  for (const rcpt of rcpts) {
    sock.write(`MAIL FROM:<bench@example.org>\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n`);
    await expect('250');
    await expect('250');
    await expect('354');
    sock.write(`Subject: queue bench\r\n\r\nfor ${rcpt}\r\n.\r\n`);
    await expect('250');
  }
  sock.end('QUIT\r\n');
}

async function send(host, rcpts) {
  const per = Math.ceil(rcpts.length / CONNECTIONS);
  const parts = [];
  for (let i = 0; i < rcpts.length; i += per) parts.push(rcpts.slice(i, i + per));
  await Promise.all(parts.map((p) => smtpSession(host.address, p)));
}

function countFiles(dir) {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1;
  return n;
}

/**
 * Waits until `n` messages sit in the deferred queue, each with its defer log written (the bounce
 * daemon is done too), and nothing is in flight: a run must not compete with the refill.
 */
async function settle(host, n) {
  const q = (name) => countFiles(host.realPath(`/var/spool/postfix/${name}`));
  const end = Date.now() + 600000;
  while (!(q('deferred') === n && q('defer') === n && q('incoming') === 0 && q('active') === 0 && q('maildrop') === 0)) {
    if (Date.now() > end) throw new Error(`queue did not settle: deferred ${q('deferred')} of ${n}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function queue(host) {
  const r = await host.exec(['postqueue', '-j'], { timeoutMs: 120000 });
  return parsePostqueueJson(r.stdout);
}

/** After a purge: no message for TARGET, and every other message still queued. */
async function check(host, label, othersExpected) {
  const q = await queue(host);
  const hits = q.filter((m) => m.recipients.some((r) => r.address === TARGET)).length;
  if (hits !== 0 || q.length !== othersExpected)
    throw new Error(`${label}: ${hits} messages for ${TARGET} left, ${q.length} queued (expected ${othersExpected})`);
}

/** The real CLI if it has the queue command, else the same command registered on its own. */
async function cliArgv() {
  const cli = path.join(ROOT, 'dist/bin/cdktf-postfix.js');
  const commanderPath = require.resolve('commander', { paths: [ROOT] });
  const help = await run(process.execPath, [cli, 'queue', '--help']);
  if (help.code === 0 && /Usage: cdktf-postfix queue/.test(help.stdout)) return { argv: [cli], note: 'dist/bin/cdktf-postfix.js' };
  const wrapper = `const { Command } = require(${JSON.stringify(commanderPath)}); const { registerQueueCommand } = require(${JSON.stringify(path.join(ROOT, 'dist/bin/commands/queue.js'))});
const p = new Command('cdktf-postfix'); registerQueueCommand(p); p.parseAsync(process.argv.slice(1), { from: 'user' }).catch((e) => { process.stderr.write(e.message + '\\n'); process.exit(1); });`;
  return { argv: ['-e', wrapper, '--'], note: 'queue command registered on its own (the main CLI does not register it yet)' };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const half = Math.floor(TOTAL / 2);
  const lab = await startLab({ count: 1 });
  const host = lab.hosts[0];
  try {
    for (const cmd of [
      ['postconf', '-e', 'default_transport = smtp', 'relay_transport = smtp', 'defer_transports = smtp'],
      ['postfix', 'reload'],
    ]) {
      const r = await host.exec(cmd);
      if (r.code !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
    }
    const others = Array.from({ length: TOTAL - half }, (_, i) => OTHERS[i % OTHERS.length]);
    const targets = Array.from({ length: half }, () => TARGET);
    let t0 = Date.now();
    await send(host, [...others, ...targets]);
    await settle(host, TOTAL);
    console.error(`filled ${TOTAL} messages in ${((Date.now() - t0) / 1000).toFixed(1)}s`);

    const { argv, note } = await cliArgv();
    console.error(`ours: ${note}`);
    const ours = [
      ...argv,
      'queue',
      'delete',
      '--recipient',
      TARGET,
      '--host',
      host.address,
      '--identity',
      host.privateKeyPath,
      '--known-hosts',
      host.knownHostsPath,
      '--json',
    ];
    const jq = `select(any(.recipients[]; .address == "${TARGET}")) | .queue_id`;
    const pipeline = [...host.sshArgs(), `postqueue -j | jq -r '${jq}' | postsuper -d -`];

    const times = { ours: [], pipeline: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate who goes first, so neither always runs right after the other's refill.
      for (const which of round % 2 ? ['ours', 'pipeline'] : ['pipeline', 'ours']) {
        const r = which === 'ours' ? await run(process.execPath, ours) : await run('ssh', pipeline);
        if (r.code !== 0) throw new Error(`${which}: exit ${r.code}: ${r.stderr.slice(-500)}`);
        await check(host, which, TOTAL - half);
        times[which].push(r.seconds);
        console.error(`round ${round} ${which}: ${r.seconds.toFixed(2)}s`);
        t0 = Date.now();
        await send(host, targets);
        await settle(host, TOTAL);
      }
    }
    const o = median(times.ours);
    const p = median(times.pipeline);
    const [oMin, pMin] = [Math.min(...times.ours), Math.min(...times.pipeline)];
    // The median is the headline; the best run of each shows the cost without a busy machine's noise.
    console.log(
      `queue purge ${half} of ${TOTAL}: ours ${o.toFixed(2)}s, pipeline ${p.toFixed(2)}s, ratio ${(o / p).toFixed(2)} (median of ${ROUNDS}; best runs ${oMin.toFixed(2)}s vs ${pMin.toFixed(2)}s, ratio ${(oMin / pMin).toFixed(2)})`,
    );
    process.exitCode = o / p <= 1.5 ? 0 : 2;
  } finally {
    await lab.stop();
  }
}

main().catch((e) => {
  console.error(`bench/queue: ${e.stack || e.message}`);
  process.exit(1);
});
