/** Address reservations: /tmp/cdktf-postfix-lab/.addresses/127.0.0.N (O_EXCL), guarded by a lock dir. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Owner, loAddresses, ownerAlive, portFree, readJson, selfOwner, sleep } from './process';
import { DEFAULT_FIRST_ADDRESS, LAB_BASE_DIR, LAST_ADDRESS, RESERVATIONS_DIR } from './types';

interface Reservation extends Owner {
  lab: string;
}

async function withAllocLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = path.join(LAB_BASE_DIR, '.alloc.lock');
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 15_000) fs.rmSync(lock, { recursive: true, force: true });
      } catch {
        /* raced */
      }
      if (Date.now() > deadline) throw new Error(`lab: could not take ${lock}`, { cause: e });
      await sleep(20);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

export async function reserveAddresses(lab: string, count: number, first: number | undefined): Promise<number[]> {
  return withAllocLock(async () => {
    const onLo = await loAddresses();
    const usable = async (n: number): Promise<boolean> => {
      const addr = `127.0.0.${n}`;
      const f = path.join(RESERVATIONS_DIR, addr);
      const r = readJson<Reservation>(f);
      if (r && ownerAlive(r)) return false;
      if (fs.existsSync(f)) fs.rmSync(f, { force: true }); // stale: owner gone (its lab is reaped separately)
      if (onLo.has(addr)) return false; // someone else's address
      return (await portFree(addr, 25)) && (await portFree(addr, 22));
    };
    const chosen: number[] = [];
    if (first !== undefined) {
      if (!Number.isInteger(first) || first < 2 || first + count - 1 > LAST_ADDRESS) {
        throw new Error(`lab: firstAddress ${first} with count ${count} leaves 127.0.0.2..${LAST_ADDRESS}`);
      }
      for (let n = first; n < first + count; n++) {
        if (!(await usable(n))) throw new Error(`lab: 127.0.0.${n} is in use (reserved by a live lab, present on lo, or port 22/25 bound)`);
        chosen.push(n);
      }
    } else {
      for (let n = DEFAULT_FIRST_ADDRESS; n <= LAST_ADDRESS && chosen.length < count; n++) {
        if (await usable(n)) chosen.push(n);
      }
      if (chosen.length < count) {
        // None free at all is almost always one listener on every address holding 22 or 25.
        const hint =
          chosen.length === 0
            ? ". Something listens on port 25 or 22 of every address (this machine's own Postfix or sshd?): see `ss -ltnp 'sport = :25 or sport = :22'`, " +
              'stop it (postfix stop), or make it listen on specific addresses (inet_interfaces, ListenAddress)'
            : '';
        throw new Error(`lab: only ${chosen.length} free loopback addresses, ${count} wanted${hint}`);
      }
    }
    const me: Reservation = { lab, ...selfOwner() };
    for (const n of chosen) fs.writeFileSync(path.join(RESERVATIONS_DIR, `127.0.0.${n}`), JSON.stringify(me), { flag: 'wx' });
    return chosen;
  });
}

export function releaseAddress(address: string, lab: string): void {
  const f = path.join(RESERVATIONS_DIR, address);
  const r = readJson<Reservation>(f);
  if (r && r.lab === lab) fs.rmSync(f, { force: true });
}
