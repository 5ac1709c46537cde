/** Readiness probes: a host is up when its SMTP and SSH banners answer. */
import * as net from 'node:net';
import { sleep } from './process';

/** Resolves with the first line the server sends, or rejects. */
export function banner(address: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: address, port });
    let buf = '';
    const done = (e?: Error, line?: string) => {
      s.destroy();
      if (e) reject(e);
      else resolve(line ?? '');
    };
    s.setTimeout(timeoutMs, () => done(new Error('timeout')));
    s.on('error', (e) => done(e));
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const i = buf.indexOf('\n');
      if (i >= 0) {
        // Say goodbye properly, so that neither daemon logs an error for the probe.
        s.write(port === 25 ? 'QUIT\r\n' : 'SSH-2.0-cdktf-postfix-lab-probe\r\n');
        done(undefined, buf.slice(0, i).replace(/\r$/, ''));
      }
    });
    s.on('close', () => done(new Error(`closed before a line: ${JSON.stringify(buf)}`)));
  });
}

export async function waitReady(h: { address: string; hostname: string; alive: () => boolean }, deadline: number): Promise<void> {
  let last: string;
  const want = [
    { port: 25, ok: (l: string) => l.startsWith(`220 ${h.hostname} `) },
    { port: 22, ok: (l: string) => l.startsWith('SSH-2.0-') },
  ];
  for (const w of want) {
    for (;;) {
      if (!h.alive()) throw new Error(`lab: ${h.hostname} supervisor exited during start-up`);
      try {
        const line = await banner(h.address, w.port, 2000);
        if (w.ok(line)) break;
        last = `unexpected banner on ${w.port}: ${line}`;
      } catch (e) {
        last = `${h.address}:${w.port}: ${(e as Error).message}`;
      }
      if (Date.now() > deadline) throw new Error(`lab: ${h.hostname} not ready in time (${last})`);
      await sleep(25);
    }
  }
}
