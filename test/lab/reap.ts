/** Reaping labs whose owner died, and the exit hook that tears down this process's labs. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { releaseAddress } from './addresses';
import { HostRecord } from './host-files';
import { LAB_MOUNT_MARKER, Owner, killAll, loAddresses, ownerAlive, pidsInNamespace, readJson, run } from './process';
import { LAB_BASE_DIR } from './types';

export const liveLabs = new Set<{ killSupervisorsSync(): void }>();
let exitHookInstalled = false;

export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort: TERM makes each supervisor tear its host down and delete its files.
  // (Closing our end of the supervisors' stdin at exit has the same effect even on SIGKILL.)
  process.on('exit', () => {
    for (const lab of liveLabs) lab.killSupervisorsSync();
  });
}

/** Tears down what is left of labs whose owning process is gone. Called by startLab. */
export async function reapStaleLabs(): Promise<string[]> {
  const reaped: string[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(LAB_BASE_DIR);
  } catch {
    return reaped;
  }
  for (const e of entries) {
    if (e.startsWith('.')) continue;
    const labDir = path.join(LAB_BASE_DIR, e);
    const owner = readJson<Owner & { lab: string }>(path.join(labDir, 'owner.json'));
    if (owner && ownerAlive(owner)) continue;
    if (!owner) {
      // Being created right now, or debris: only reap when older than a minute.
      try {
        if (Date.now() - fs.statSync(labDir).mtimeMs < 60_000) continue;
      } catch {
        continue;
      }
    }
    const grave = path.join(LAB_BASE_DIR, `.reaping-${e}-${process.pid}`);
    try {
      fs.renameSync(labDir, grave); // only one reaper wins
    } catch {
      continue;
    }
    const addrs: string[] = [];
    for (const h of fs.readdirSync(grave)) {
      const rec = readJson<HostRecord>(path.join(grave, h, 'host.json'));
      if (!rec) continue;
      if (rec.nsIno !== undefined) {
        killAll(pidsInNamespace(rec.nsIno, LAB_MOUNT_MARKER), 'SIGKILL');
      }
      if (rec.addrAdded) addrs.push(rec.address);
      releaseAddress(rec.address, e);
    }
    const onLo = await loAddresses().catch(() => new Set<string>());
    for (const a of addrs) if (onLo.has(a)) await run('ip', ['addr', 'del', `${a}/32`, 'dev', 'lo']);
    fs.rmSync(grave, { recursive: true, force: true });
    reaped.push(e);
  }
  return reaped;
}
