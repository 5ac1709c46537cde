#!/usr/bin/env node
/**
 * `npm run demo`: one lab host, the real `cdktf deploy` of examples/mail-host against it (offline:
 * the stack uses Terraform's built-in terraform_data, no provider download), what changed, the SMTP
 * greeting, then the lab is torn down. Needs root and Terraform >= 1.4. As root it installs the
 * lab's Debian packages itself (the "demo" lines of scripts/lab-packages.txt, the list .ci/run
 * uses); as anyone else it says exactly what to run and stops before doing anything.
 */
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const { demoPlan, dpkgInstalled, labPackages } = require('./lab-packages');

const ROOT = path.resolve(__dirname, '..');

function fail(msg) {
  process.stderr.write(`demo: ${msg}\n`);
  process.exit(1);
}

function have(cmd) {
  return (
    spawnSync('sh', ['-c', `command -v ${cmd}`], { env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } }).status === 0
  );
}

/** Runs a step with its output shown; stops the demo when it fails. */
function step(argv, env) {
  console.log(`$ ${argv.join(' ')}`);
  const r = spawnSync(argv[0], argv.slice(1), { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) fail(`${argv.join(' ')} failed (exit ${r.status ?? r.signal ?? r.error?.message})`);
}

/** Whether port 25 on every address is taken (a listener on 0.0.0.0:25, e.g. this machine's Postfix). */
function wildcardPort25Taken() {
  // Binding one loopback address outside the lab's range fails only if a wildcard listener holds 25.
  const r = spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().on('error', (e) => process.exit(e.code === 'EADDRINUSE' ? 3 : 0))
    .listen(25, '127.0.0.255', function () { this.close(); })`,
  ]);
  return r.status === 3;
}

/** Root, packages and Terraform first (installing missing packages as root), then the build. */
function preflight() {
  const isRoot = process.getuid?.() === 0;
  const haveDpkg = have('dpkg-query');
  const missing = haveDpkg ? labPackages({ demoOnly: true }).filter((p) => !dpkgInstalled(p)) : [];
  const plan = demoPlan({ missing, isRoot, haveDpkg, haveTerraform: have('terraform') });
  if (plan.action === 'fail') fail(plan.message);
  if (plan.action === 'install') {
    console.log(`Installing the lab's Debian packages: ${plan.missing.join(' ')}`);
    for (const argv of plan.commands) step(argv, plan.env);
  }
  // examples/mail-host serves Debian's default certificate pair, which ssl-cert normally generates.
  if (!fs.existsSync('/etc/ssl/certs/ssl-cert-snakeoil.pem')) step(['make-ssl-cert', 'generate-default-snakeoil', '--force-overwrite']);
  if (wildcardPort25Taken()) {
    // The package install starts this machine's Postfix, on port 25 of every address: ours to stop.
    if (plan.action === 'install' && plan.missing.includes('postfix')) step(['postfix', 'stop']);
    else
      fail(
        "port 25 is taken on every address (this machine's own Postfix or another MTA), and each lab host needs 127.0.0.x:25.\n" +
          "See who holds it: ss -ltnp 'sport = :25'; stop it for the demo (postfix stop, or systemctl stop postfix), then run the demo again.",
      );
  }
  step(['npm', 'run', 'build']);
  for (const f of [
    'dist-test/lab/index.js',
    'dist/examples/mail-host/main.js',
    'dist/runner/cdktf-postfix-runner.js',
    'node_modules/.bin/cdktf',
  ]) {
    if (!fs.existsSync(path.join(ROOT, f))) fail(`${f} is missing: run \`npm install\` first`);
  }
}

/** Runs a command, echoing nothing; resolves with its combined output. */
function run(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

const stripAnsi = (s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

/** The runner's report lines, as Terraform relays them: `<resource> (local-exec): <line>`. */
function reportLines(output) {
  const lines = [];
  for (const raw of stripAnsi(output).split('\n')) {
    const m = /\(local-exec\):\s?(.*)$/.exec(raw);
    if (m && !m[1].startsWith('Executing:') && m[1].trim() !== '') lines.push(m[1].replace(/\s+$/, ''));
  }
  return lines;
}

function smtpGreeting(address) {
  return new Promise((resolve, reject) => {
    const s = net.connect(25, address);
    let buf = '';
    let banner;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no SMTP answer from ${address}:25`));
    }, 10000);
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('data', (d) => {
      buf += d;
      const lines = buf.split('\r\n');
      const end = lines.findIndex((l) => /^\d{3} /.test(l));
      if (end < 0) return;
      if (!banner) {
        banner = lines[end];
        buf = lines.slice(end + 1).join('\r\n');
        s.write('EHLO demo.example\r\n');
        return;
      }
      clearTimeout(timer);
      s.end('QUIT\r\n');
      resolve({ banner, ehlo: lines.slice(0, end + 1) });
    });
  });
}

async function main() {
  preflight();
  const { startLab } = require(path.join(ROOT, 'dist-test/lab'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdktf-postfix-demo-'));
  const tfrc = path.join(work, 'empty.tfrc');
  fs.writeFileSync(tfrc, '');
  let lab;
  let stopping = false;
  const cleanup = async () => {
    if (stopping) return;
    stopping = true;
    if (lab) await lab.stop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => cleanup().then(() => process.exit(130)));

  try {
    process.stdout.write('Starting one lab host ... ');
    lab = await startLab({ count: 1, name: `demo-${process.pid}` });
    const h = lab.hosts[0];
    console.log(`${h.hostname} on ${h.address} (ssh + smtp) in ${lab.startMs} ms`);

    const project = path.join(work, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(
      path.join(project, 'cdktf.json'),
      JSON.stringify(
        {
          language: 'typescript',
          app: `node ${JSON.stringify(path.join(ROOT, 'dist/examples/mail-host/main.js'))}`,
          projectId: 'cdktf-postfix-demo',
          sendCrashReports: 'false',
          terraformProviders: [],
          terraformModules: [],
          context: {},
        },
        null,
        2,
      ),
    );
    const env = {
      ...process.env,
      CHECKPOINT_DISABLE: '1',
      TF_CLI_CONFIG_FILE: tfrc,
      TF_IN_AUTOMATION: '1',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      MAIL_HOST: h.address,
      MAIL_SSH_USER: 'root',
      MAIL_SSH_KEY: h.privateKeyPath,
      MAIL_KNOWN_HOSTS: h.knownHostsPath,
      MAIL_HOSTNAME: h.hostname,
    };
    console.log(
      `\n$ MAIL_HOST=${h.address} MAIL_HOSTNAME=${h.hostname} MAIL_SSH_KEY=... MAIL_KNOWN_HOSTS=... cdktf deploy --auto-approve mail`,
    );
    const t0 = Date.now();
    const deploy = await run(path.join(ROOT, 'node_modules/.bin/cdktf'), ['deploy', '--auto-approve', '--no-color', 'mail'], {
      cwd: project,
      env,
    });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (deploy.code !== 0) {
      process.stderr.write(stripAnsi(deploy.out));
      throw new Error(`cdktf deploy exited ${deploy.code}`);
    }
    const lines = reportLines(deploy.out);
    if (lines.length === 0) {
      process.stderr.write(stripAnsi(deploy.out));
      throw new Error('cdktf deploy succeeded but printed no runner report');
    }
    console.log(`cdktf deploy finished in ${secs} s (synth + terraform init/plan/apply). The runner reported:`);
    for (const l of lines) console.log(`  ${l}`);
    const summary = /Apply complete![^\n]*/.exec(stripAnsi(deploy.out));
    if (summary) console.log(`  ${summary[0].trim()}`);

    console.log(`\n$ telnet ${h.address} 25`);
    const smtp = await smtpGreeting(h.address);
    console.log(`  ${smtp.banner}`);
    console.log(`  > EHLO demo.example`);
    const size = smtp.ehlo.find((l) => /^250[- ]SIZE\b/.test(l));
    console.log(`  ${size ?? '(no SIZE in the EHLO answer)'}`);
    if (!/^220 /.test(smtp.banner) || !size) throw new Error('unexpected SMTP greeting');
  } finally {
    process.stdout.write('\nTearing the lab down ... ');
    await cleanup();
    console.log('done.');
  }
}

main().catch((e) => {
  process.stderr.write(`demo: ${e.message}\n`);
  process.exit(1);
});
