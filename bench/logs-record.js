#!/usr/bin/env node
/*
 * Records bench/fixtures/mail-lab.log, the input of bench/logs.js: a lab host's real Postfix log
 * (postlogd, maillog_file) written while this script drives every kind of traffic pflogsumm counts.
 * Needs root (the lab) and `npm run build`.
 *
 *   node bench/logs-record.js [--messages N] [--out FILE]
 *
 * The host relays everything that is not local to a small SMTP sink in this process (relayhost =
 * [127.0.0.1]:port, default_transport = smtp, postconf(5)): it accepts most recipients, answers 550 to local parts starting
 * "bad" (bounced) and 450 to "busy" (deferred). defer.example goes to a closed loopback port
 * (deferred, connection refused). Traffic: local deliveries and alias forwards, remote deliveries,
 * RCPT rejects (unknown local user, relay denied from a client outside mynetworks, an access map),
 * reject warnings (warn_if_reject), header_checks HOLD / DISCARD / REJECT, pickup submissions
 * (sendmail), non-SMTP commands and lost connections (warnings), null senders, and at the end the
 * queue lifetime is cut so that deferred mail expires. Only lab names and loopback addresses appear.
 */
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const MESSAGES = Number(args.includes('--messages') ? args[args.indexOf('--messages') + 1] : 400);
const OUT = args.includes('--out') ? args[args.indexOf('--out') + 1] : path.join(__dirname, 'fixtures', 'mail-lab.log');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The next hop: a minimal SMTP server (RFC 5321 replies only, no TLS). */
function startSink() {
  let n = 0;
  const server = net.createServer((s) => {
    s.setEncoding('latin1');
    let buf = '';
    let inData = false;
    s.write('220 sink.lab.test ESMTP\r\n');
    s.on('error', () => undefined);
    s.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        if (inData) {
          if (line === '.') {
            inData = false;
            s.write(`250 2.0.0 Ok: queued as S${(++n).toString(16).toUpperCase().padStart(9, '0')}\r\n`);
          }
          continue;
        }
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO' || cmd === 'HELO') s.write('250-sink.lab.test\r\n250 8BITMIME\r\n');
        else if (cmd === 'RCPT') {
          const m = /<([^@>]*)/.exec(line);
          const lp = m ? m[1] : '';
          if (lp.startsWith('bad')) s.write(`550 5.1.1 <${lp}>: Recipient address rejected: User unknown in virtual mailbox table\r\n`);
          else if (lp.startsWith('busy')) s.write('450 4.2.1 Mailbox busy, try again later\r\n');
          else s.write('250 2.1.5 Ok\r\n');
        } else if (cmd === 'DATA') {
          inData = true;
          s.write('354 End data with <CR><LF>.<CR><LF>\r\n');
        } else if (cmd === 'QUIT') {
          s.end('221 2.0.0 Bye\r\n');
        } else s.write('250 2.0.0 Ok\r\n');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** One SMTP session; every command's reply is awaited. Returns the replies. */
function session(host, steps, localAddress) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port: 25, localAddress });
    s.setEncoding('latin1');
    const replies = [];
    let buf = '';
    let i = 0;
    let accepted = 0;
    const done = () => {
      s.destroy();
      resolve(replies);
    };
    s.setTimeout(20000, done);
    s.on('error', done);
    s.on('close', done);
    s.on('data', (d) => {
      buf += d;
      let m;
      while ((m = /^((?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\n)/.exec(buf))) {
        buf = buf.slice(m[1].length);
        replies.push(m[1].trim());
        if (i >= steps.length) return done();
        const step = steps[i++];
        if (step === null) return done(); // drop the connection (lost connection)
        const last = steps[i - 2] || '';
        if (/^RCPT/.test(last) && /^2/.test(m[1])) accepted++;
        // a refused MAIL FROM, or DATA with no accepted recipient: end the session instead
        if ((/^MAIL/.test(last) && !/^2/.test(m[1])) || (step === 'DATA' && accepted === 0)) {
          i = steps.length;
          s.write('QUIT\r\n');
          continue;
        }
        s.write(step + '\r\n');
      }
    });
  });
}

function mail(from, rcpts, subject, size) {
  // body lines of 76 characters, as mail clients write them
  const text = ('x'.repeat(75) + '\r\n').repeat(Math.ceil(size / 77));
  const body = `From: <${from}>\r\nTo: ${rcpts.map((r) => `<${r}>`).join(', ')}\r\nSubject: ${subject}\r\n\r\n${text}.`;
  return ['EHLO client.lab.test', `MAIL FROM:<${from}>`, ...rcpts.map((r) => `RCPT TO:<${r}>`), 'DATA', body, 'QUIT'];
}

async function main() {
  if (process.getuid && process.getuid() !== 0) throw new Error('needs root (the lab uses mount namespaces)');
  const { startLab } = require(path.join(ROOT, 'dist-test/lab'));
  const sink = await startSink();
  const port = sink.address().port;
  const lab = await startLab({ count: 1 });
  try {
    const h = lab.hosts[0];
    const H = h.hostname;
    const pc = async (...a) => {
      const r = await h.exec(['postconf', ...a]);
      if (r.code !== 0) throw new Error(`postconf ${a.join(' ')}: ${r.stderr}`);
    };
    const checks =
      '/^Subject: hold/ HOLD held for review\n/^Subject: discard/ DISCARD dropped\n/^Subject: reject/ REJECT message content rejected\n';
    const w = await h.exec(['tee', '/etc/postfix/header_checks'], { input: checks });
    if (w.code !== 0) throw new Error(w.stderr);
    await pc(
      '-e',
      `relayhost = [127.0.0.1]:${port}`,
      'default_transport = smtp',
      'relay_transport = smtp',
      'transport_maps = inline:{defer.example=smtp:[127.0.0.1]:9}',
      'mynetworks = 127.0.0.1/32',
      'smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination',
      `smtpd_recipient_restrictions = check_recipient_access inline:{reject@${H}=REJECT}, warn_if_reject check_recipient_access inline:{warn@${H}=REJECT}, permit_mynetworks, reject_unauth_destination`,
      `alias_maps = inline:{postmaster=root, alice=root, bob=root, carol=root, warn=root, fwd=remote1@far.lab.test, fwdbad=bad9@far.lab.test}`,
      'alias_database =',
      'header_checks = regexp:/etc/postfix/header_checks',
      'smtp_connect_timeout = 2s',
      'minimal_backoff_time = 10s',
      'maximal_backoff_time = 20s',
      'queue_run_delay = 10s',
    );
    const rl = await h.exec(['postfix', 'reload']);
    if (rl.code !== 0) throw new Error(rl.stderr);
    await sleep(2500); // postfix commands stall while main.cf is younger than 2 s (DESIGN.md)

    let seed = 20261202;
    const r = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
    const pick = (a) => a[Math.floor(r() * a.length)];
    const senders = Array.from({ length: 40 }, (_, i) => `user${i}@client${i % 7}.lab.test`);
    const locals = ['root', 'alice', 'bob', 'carol', 'postmaster'].map((u) => `${u}@${H}`);
    const remote = () =>
      `${pick(['ann', 'ben', 'cid', 'dee', 'eve', 'fay'])}${Math.floor(r() * 9)}@${pick(['far', 'near', 'mid'])}.lab.test`;
    const jobs = [];
    for (let k = 0; k < MESSAGES; k++) {
      const x = r();
      const from = r() < 0.05 ? '' : pick(senders);
      const size = 200 + Math.floor(r() * 4000);
      let job;
      if (x < 0.36)
        job = () => session(h.address, mail(from, [pick(locals), ...(r() < 0.3 ? [pick(locals)] : [])], 'hello', size), '127.0.0.1');
      else if (x < 0.49) job = () => session(h.address, mail(from, [remote(), ...(r() < 0.3 ? [remote()] : [])], 'out', size), '127.0.0.1');
      else if (x < 0.53) job = () => session(h.address, mail(from, [`fwd@${H}`], 'forward me', size), '127.0.0.1');
      else if (x < 0.57)
        job = () => session(h.address, mail(from, [`bad${Math.floor(r() * 5)}@far.lab.test`], 'bounce me', size), '127.0.0.1');
      else if (x < 0.59)
        job = () => session(h.address, mail(from, [`busy${Math.floor(r() * 5)}@near.lab.test`], 'defer me', size), '127.0.0.1');
      else if (x < 0.6)
        job = () => session(h.address, mail(from, [`later${Math.floor(r() * 3)}@defer.example`], 'defer me', size), '127.0.0.1');
      else if (x < 0.68)
        job = () => session(h.address, mail(pick(senders), [`nosuch${Math.floor(r() * 20)}@${H}`], 'unknown', size), '127.0.0.2');
      else if (x < 0.76) job = () => session(h.address, mail(pick(senders), [remote()], 'relay', size), '127.0.0.3');
      else if (x < 0.79) job = () => session(h.address, mail(pick(senders), [`reject@${H}`], 'access', size), '127.0.0.1');
      else if (x < 0.82) job = () => session(h.address, mail(pick(senders), [`warn@${H}`], 'warned', size), '127.0.0.2');
      else if (x < 0.84)
        job = () => session(h.address, mail(from, [pick(locals)], ['hold', 'discard', 'reject'][k % 3] + ' this', size), '127.0.0.1');
      else if (x < 0.9) {
        const u = pick(['root', 'alice', 'bob']);
        const to = r() < 0.5 ? pick(locals) : remote();
        job = () =>
          h.exec(['sendmail', '-f', `${u}@${H}`, to], {
            input: `Subject: local ${k}\n\n${('y'.repeat(75) + '\n').repeat(Math.ceil(size / 76))}`,
          });
      } else if (x < 0.93) job = () => session(h.address, ['GET / HTTP/1.0', 'QUIT'], '127.0.0.2');
      else if (x < 0.96) job = () => session(h.address, [null], '127.0.0.4');
      else
        job = () =>
          session(h.address, mail(from, [pick(locals), `nosuch${Math.floor(r() * 20)}@${H}`, remote()], 'mixed', size), '127.0.0.1');
      jobs.push(job);
    }
    // four sessions at a time
    let next = 0;
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (next < jobs.length) await jobs[next++]();
      }),
    );
    // let the queue retry a few times, then expire what is left (maximal_queue_lifetime)
    for (let i = 0; i < 3; i++) {
      await sleep(3000);
      await h.exec(['postqueue', '-f']);
    }
    await pc('-e', 'maximal_queue_lifetime = 1s', 'bounce_queue_lifetime = 1s');
    await h.exec(['postfix', 'reload']);
    await sleep(2500);
    for (let i = 0; i < 20; i++) {
      await h.exec(['postqueue', '-f']);
      await sleep(1500);
      const q = await h.exec(['postqueue', '-j']);
      if (q.stdout.trim() === '') break;
    }
    await sleep(1000);
    const log = fs.readFileSync(h.mailLogPath, 'utf8');
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, log);
    console.log(`recorded ${log.split('\n').length - 1} lines into ${OUT}`);
  } finally {
    await lab.stop();
    sink.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
