/**
 * Signals for test-owned processes, guarded. `process.kill(0)` (or a negative pid) signals the whole
 * process group, and a pid read from a file that is still being written parses as 0: in CI, where jest
 * shares its process group with `bash .ci/run`, that ends the run with exit 143. Only a real pid passes.
 */
import { readFileSync } from 'fs';

export function signalPid(pid: number, signal: NodeJS.Signals = 'SIGTERM'): boolean {
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) {
    throw new Error(`refusing to signal pid ${String(pid)}: not a single other process (0 or a negative pid signals a process group)`);
  }
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

/**
 * The pids in a pid file's text once its writer has finished (the closing newline is there and it holds
 * `count` whole numbers above 1), else undefined.
 */
export function parsePids(text: string, count = 1): number[] | undefined {
  if (!text.endsWith('\n')) return undefined;
  const pids = text.trim().split(/\s+/).filter(Boolean).map(Number);
  if (pids.length !== count || pids.some((p) => !Number.isInteger(p) || p <= 1)) return undefined;
  return pids;
}

export function readPids(file: string, count = 1): number[] | undefined {
  try {
    return parsePids(readFileSync(file, 'utf8'), count);
  } catch {
    return undefined;
  }
}
