#!/usr/bin/env node
// Isolated Postfix + sshd lab hosts on 127.0.0.N (see test/lab/lab.ts). Run as root after `npm run build`.
//   node scripts/lab.js start N [--first 40] [--name NAME] [--non-root-user]
// Prints the hosts as JSON on stdout, keeps running until SIGINT/SIGTERM, then tears everything down.
//   node scripts/lab.js reap      tears down labs whose owner process is gone
'use strict';
const { startLab, reapStaleLabs } = require('../dist-test/lab');

function usage() {
  process.stderr.write('usage: node scripts/lab.js start N [--first K] [--name NAME] [--non-root-user] | reap\n');
  process.exit(2);
}

async function main(argv) {
  const [cmd, ...rest] = argv;
  if (cmd === 'reap') {
    const reaped = await reapStaleLabs();
    process.stdout.write(JSON.stringify({ reaped }) + '\n');
    return;
  }
  if (cmd !== 'start') usage();
  const count = Number(rest[0]);
  if (!Number.isInteger(count) || count < 1) usage();
  const opts = { count };
  for (let i = 1; i < rest.length; i++) {
    if (rest[i] === '--first') opts.firstAddress = Number(rest[++i]);
    else if (rest[i] === '--name') opts.name = rest[++i];
    else if (rest[i] === '--non-root-user') opts.nonRootUser = true;
    else usage();
  }
  const lab = await startLab(opts);
  let stopping = false;
  const stop = async (sig) => {
    if (stopping) return;
    stopping = true;
    const t = Date.now();
    await lab.stop();
    process.stderr.write(`lab ${lab.name}: stopped on ${sig} in ${Date.now() - t} ms\n`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void stop('SIGHUP'));
  const hosts = lab.hosts.map((h) => ({
    name: h.name,
    hostname: h.hostname,
    address: h.address,
    sshPort: h.sshPort,
    smtpPort: h.smtpPort,
    user: h.user,
    sudoUser: h.sudoUser,
    privateKeyPath: h.privateKeyPath,
    knownHostsPath: h.knownHostsPath,
    hostKeyFingerprint: h.hostKeyFingerprint,
    root: h.root,
    mailLogPath: h.mailLogPath,
    pid: h.pid,
  }));
  process.stdout.write(
    JSON.stringify(
      { name: lab.name, dir: lab.dir, startMs: lab.startMs, privateKeyPath: lab.privateKeyPath, knownHostsPath: lab.knownHostsPath, hosts },
      null,
      2,
    ) + '\n',
  );
  process.stderr.write(`lab ${lab.name}: ${count} host(s) ready in ${lab.startMs} ms; Ctrl-C to stop\n`);
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`lab: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
