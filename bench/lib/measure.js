'use strict';
/**
 * Measuring tools shared by the apply benchmarks (bench/apply.js, bench/fleet.js):
 *   - client side: a command run in its own cgroup (v1 cpuacct + memory), so CPU and peak memory
 *     cover every process it starts (Terraform, its local-exec shells, one node runner per host);
 *   - host side: a lab host's sshd listener reaps every SSH session and what the session ran, so
 *     its cutime+cstime grows by the remote transaction's CPU; Postfix's master (restarting its
 *     services after a reload) is counted apart;
 *   - a stock root shell on lab hosts: sshd runs every command through root's login shell, which
 *     reads ~/.bashrc; this machine's /root/.bashrc starts pyenv (hundreds of ms a command), a real
 *     mail host's does not. Each lab host gets /etc/skel/.bashrc bind-mounted over /root/.bashrc
 *     inside its own mount namespace (the machine's file is untouched).
 */
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const TICK_MS = 1000 / 100; // USER_HZ

function statFields(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return [stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ...stat.slice(stat.lastIndexOf(')') + 2).split(' ')];
  } catch {
    return undefined;
  }
}

function sshdListener(h) {
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const f = statFields(e);
    if (f && f[0] === 'sshd' && Number(f[2]) === h.pid) return Number(e);
  }
  return undefined;
}

/** CPU ms the host's SSH sessions used so far (reaped sessions only). */
function sessionsCpuMs(h) {
  const pid = h.__sshd ?? (h.__sshd = sshdListener(h));
  const f = pid && statFields(pid);
  return f ? (Number(f[14]) + Number(f[15])) * TICK_MS : NaN;
}

/** CPU ms of the host's Postfix master and its reaped children (service restarts after a reload). */
function postfixCpuMs(h) {
  let pid;
  try {
    pid = Number(fs.readFileSync(h.realPath('/var/spool/postfix/pid/master.pid'), 'utf8').trim());
  } catch {
    return 0;
  }
  const f = pid > 0 && statFields(pid);
  return f ? (Number(f[12]) + Number(f[13]) + Number(f[14]) + Number(f[15])) * TICK_MS : 0;
}

/** Snapshot of every host's counters; `delta(before)` gives per-host ms. */
function hostCounters(hosts) {
  return hosts.map((h) => ({ sessions: sessionsCpuMs(h), postfix: postfixCpuMs(h) }));
}
async function hostDelta(hosts, before) {
  await new Promise((r) => setTimeout(r, 200)); // let each sshd reap its session
  const after = hostCounters(hosts);
  return after.map((a, i) => ({ sessions: a.sessions - before[i].sessions, postfix: Math.max(0, a.postfix - before[i].postfix) }));
}

let cgSeq = 0;
/**
 * Runs argv in fresh cpuacct and memory cgroups; resolves with wall ms, CPU ms of every process
 * it started (user+system), peak memory in MiB (RSS and page cache charged to the group), exit
 * code and output.
 */
function runMeasured(argv, opts = {}) {
  const name = `cdktf-postfix-bench-${process.pid}-${++cgSeq}`;
  const cpuDir = `/sys/fs/cgroup/cpuacct/${name}`;
  const memDir = `/sys/fs/cgroup/memory/${name}`;
  fs.mkdirSync(cpuDir);
  fs.mkdirSync(memDir);
  const enter = `echo $$ > ${cpuDir}/cgroup.procs && echo $$ > ${memDir}/cgroup.procs && exec "$@"`;
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('sh', ['-c', enter, 'sh', ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const cpuMs = Number(fs.readFileSync(`${cpuDir}/cpuacct.usage`, 'utf8')) / 1e6;
      const peakMiB = Number(fs.readFileSync(`${memDir}/memory.max_usage_in_bytes`, 'utf8')) / 1048576;
      for (const d of [cpuDir, memDir]) {
        try {
          fs.rmdirSync(d);
        } catch {
          // a straggler still in the group; the group goes when it exits and the machine reboots
        }
      }
      resolve({ ms, cpuMs, peakMiB, code: code ?? 1, stdout, stderr });
    });
  });
}

/** Bind-mounts /etc/skel/.bashrc over /root/.bashrc inside each lab host's mount namespace. */
function stockRootShell(hosts) {
  for (const h of hosts) {
    const r = spawnSync('nsenter', ['--target', String(h.pid), '--mount', '--', 'mount', '--bind', '/etc/skel/.bashrc', '/root/.bashrc'], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`stock root shell on ${h.name}: ${r.stderr}`);
  }
}
const STOCK_SHELL_NOTE =
  "lab hosts have a stock root shell (/etc/skel/.bashrc bind-mounted over /root/.bashrc in each host's namespace; this machine's own starts pyenv on every SSH command)";

function machineLine(when) {
  return `machine: ${os.cpus().length} cores, load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} ${when}`;
}

/** Postfix stalls ~2 s on a main.cf younger than 2 s (DESIGN.md): wait until every host's is 2.5 s old. */
async function settle(hosts) {
  const newest = Math.max(...hosts.map((h) => fs.statSync(h.realPath('/etc/postfix/main.cf')).mtimeMs));
  const wait = newest + 2500 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** Least-squares line y = a + b x. */
function fitLine(xs, ys) {
  const n = xs.length;
  const mx = sum(xs) / n;
  const my = sum(ys) / n;
  const sxx = sum(xs.map((x) => (x - mx) ** 2));
  const b = sxx ? sum(xs.map((x, i) => (x - mx) * (ys[i] - my))) / sxx : 0;
  return { a: my - b * mx, b };
}

function requireRoot(name) {
  if (process.getuid && process.getuid() !== 0) {
    process.stderr.write(`${name}: needs root (the lab uses mount namespaces and ip addr; cgroups)\n`);
    process.exit(1);
  }
}

/**
 * One host's transaction as a timeline: each step's wall time (as the runner saw the step lines
 * arrive) and the host-side CPU the step used (the remote shell's `times`), from a HostReport.
 */
function timeline(report) {
  const parts = [];
  let prevWall = 0;
  let prevCpu = 0;
  for (const [name, wall] of Object.entries(report.steps || {}).sort((a, b) => a[1] - b[1])) {
    const cpu = report.hostCpuMs?.[name];
    parts.push(`${name} ${(wall - prevWall).toFixed(0)}${cpu === undefined ? '' : `/${(cpu - prevCpu).toFixed(0)}`}`);
    prevWall = wall;
    if (cpu !== undefined) prevCpu = cpu;
  }
  return `${parts.join(', ')} (ms wall/host CPU per step; host CPU of the transaction's shell ${prevCpu.toFixed(0)} ms)`;
}

module.exports = {
  timeline,
  statFields,
  sessionsCpuMs,
  hostCounters,
  hostDelta,
  runMeasured,
  stockRootShell,
  STOCK_SHELL_NOTE,
  machineLine,
  settle,
  median,
  sum,
  fitLine,
  requireRoot,
  TICK_MS,
  path,
};
