/**
 * Reaching the warm runner from a per-host client: connect to its socket, or start it (detached, so
 * Terraform never waits for it; in the client's cgroup, so its CPU counts where the client's does)
 * and wait until it listens. When several clients start at once, one takes a lock file and starts
 * the runner, the others wait for its socket. Node core only.
 */
import { closeSync, existsSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'fs';
import { createConnection, Socket } from 'net';
import { inheritedEnv } from './socket-dir';

/** The argv[2] that makes the runner file serve instead of apply. */
export const WARM_FLAG = '--warm-runner';

/** How long a runner with no connection stays (CDKTF_POSTFIX_WARM_RUNNER_IDLE overrides). */
export const DEFAULT_IDLE_SECONDS = 10;
/** How long clients wait for a starting runner to listen before applying in-process. */
const START_TIMEOUT_MS = 10_000;
/** A start lock older than this belongs to a client that died while starting a runner. */
const LOCK_STALE_MS = 15_000;
const POLL_MS = 20;
/** A fleet marker younger than this: hosts are being applied one after another, start the detached runner. */
const FLEET_WINDOW_MS = 60_000;

/** A connected socket; self: the runner is this process (it applies its own host and serves the others meanwhile, server.ts serveWhileApplying); none: why there is no runner. */
export type Reached = { readonly socket: Socket } | { readonly self: true } | { readonly none: string };

/** CDKTF_POSTFIX_WARM_RUNNER_IDLE: seconds, a number from 0.1 to 3600. */
export function idleSeconds(env: NodeJS.ProcessEnv): number {
  const raw = env.CDKTF_POSTFIX_WARM_RUNNER_IDLE;
  if (raw === undefined || raw === '') return DEFAULT_IDLE_SECONDS;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0.1 || n > 3600)
    throw new Error(
      `CDKTF_POSTFIX_WARM_RUNNER_IDLE = ${JSON.stringify(raw)} is not a number of seconds from 0.1 to 3600. Fix: set it to e.g. ${DEFAULT_IDLE_SECONDS}, or unset it`,
    );
  return n;
}

/**
 * A connected socket; self: nobody serves and this client is to (it holds the start lock); or why
 * there is none. A client that finds no runner serves itself unless the fleet marker says hosts are
 * being applied one after another (a runner served others within FLEET_WINDOW_MS): then it starts
 * the detached runner, which stays for the next ones. So one host costs one node process, a fleet
 * one apply-code load per runner.
 */
export async function reachRunner(sock: string, runnerFile: string, env: NodeJS.ProcessEnv): Promise<Reached> {
  const now = await tryConnect(sock);
  if (now) return { socket: now };
  const lock = `${sock}.lock`;
  if (takeLock(lock)) {
    if (!fleetUnderway(`${sock}.fleet`)) return { self: true };
    const started = startRunner(sock, runnerFile, env, lock);
    if (started) return { none: started };
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const s = await tryConnect(sock);
    if (s) return { socket: s };
    const pid = lockPid(lock);
    if (pid !== undefined && !alive(pid)) return { none: `the runner it started (pid ${pid}) exited before listening` };
  }
  return { none: `no runner listening on ${sock} after ${START_TIMEOUT_MS / 1000} s` };
}

function tryConnect(sock: string): Promise<Socket | undefined> {
  if (!existsSync(sock)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const s = createConnection(sock, () => {
      s.off('error', onError);
      resolve(s);
    });
    const onError = (): void => resolve(undefined);
    s.once('error', onError);
  });
}

function fleetUnderway(marker: string): boolean {
  try {
    return Date.now() - statSync(marker).mtimeMs < FLEET_WINDOW_MS;
  } catch {
    return false;
  }
}

/** The start lock, holding this process's pid (the starter replaces it with the runner's). */
function takeLock(lock: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false;
      try {
        if (Date.now() - statSync(lock).mtimeMs < LOCK_STALE_MS) return false;
        unlinkSync(lock);
      } catch {
        // removed meanwhile: try again
      }
    }
  }
  return false;
}

/** Start the runner; undefined once it is on its way, else why it is not. */
function startRunner(sock: string, runnerFile: string, env: NodeJS.ProcessEnv, lock: string): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: only the client that starts the runner needs it
    const { spawn } = require('child_process') as typeof import('child_process');
    const child = spawn(process.execPath, [runnerFile, WARM_FLAG, sock, String(idleSeconds(env) * 1000)], {
      detached: true,
      stdio: 'ignore',
      cwd: process.cwd(),
      env: inheritedEnv(env),
    });
    child.on('error', () => undefined); // seen by the waiting loop: no socket, no live pid
    child.unref();
    if (!child.pid) throw new Error('spawn gave no pid');
    const fd = openSync(lock, 'w', 0o600);
    writeSync(fd, `${child.pid}\n`);
    closeSync(fd);
    return undefined;
  } catch (e) {
    try {
      unlinkSync(lock);
    } catch {
      // not there
    }
    return `cannot start it: ${(e as Error).message}`;
  }
}

function lockPid(lock: string): number | undefined {
  try {
    const text = readFileSync(lock, 'utf8');
    const pid = Number(text.trim());
    return text.endsWith('\n') && Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
