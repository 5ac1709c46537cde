/** Small process helpers for the lab: run a command, find and kill the processes of a host's namespace. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { ExecResult } from './types';

interface RunResult extends ExecResult {
  signal: NodeJS.Signals | null;
}

export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: opts.cwd ?? '/' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code: code ?? 128,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export async function runOk(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`lab: ${cmd} ${args.join(' ')} failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Process start time (clock ticks since boot), to tell a live owner from a recycled pid. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export interface Owner {
  pid: number;
  start?: string;
}

export function selfOwner(): Owner {
  return { pid: process.pid, start: processStartTime(process.pid) };
}

export function ownerAlive(o: Owner): boolean {
  const start = processStartTime(o.pid);
  return start !== undefined && (o.start === undefined || o.start === start);
}

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function nsInode(pid: number): number | undefined {
  try {
    return fs.statSync(`/proc/${pid}/ns/mnt`).ino;
  } catch {
    return undefined;
  }
}

/** In /proc/PID/mountinfo of every lab host process: the bind of <host>/etc-postfix over /etc/postfix. */
export const LAB_MOUNT_MARKER = '/etc-postfix /etc/postfix ';

/** Pids whose mount namespace is `ino` and whose mounts mention `marker` (guards against inode reuse). */
export function pidsInNamespace(ino: number, marker: string): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    if (nsInode(pid) !== ino) continue;
    try {
      if (!fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').includes(marker)) continue;
    } catch {
      continue;
    }
    pids.push(pid);
  }
  return pids;
}

export function killAll(pids: number[], signal: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      /* gone */
    }
  }
}

export async function loAddresses(): Promise<Set<string>> {
  const out = await runOk('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo']);
  const set = new Set<string>();
  for (const m of out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\/32/g)) set.add(m[1]);
  return set;
}

export function portFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: address, exclusive: true }, () => s.close(() => resolve(true)));
  });
}
