/**
 * Issue 15 item 7: postscreen on port 25 of a real lab host. A client that talks before the
 * greeting (EHLO written on connect, before postscreen's 220) is logged as PREGREET and refused at
 * RCPT (greet action enforce); a polite client's mail is accepted and delivered. No DNSBL sites here:
 * no DNS traffic leaves the machine (the sites are covered at synth).
 */
import * as fs from 'fs';
import * as net from 'net';
import { PostfixHost, Postscreen } from '../../index';
import { Lab, LabHost, startLab } from '../lab';
import { applyStack, labConnection, synthStack } from '../helpers/deploy';
import { sendMail } from '../helpers/smtp-client';
import { mboxMessagesWith } from '../helpers/dkim-verify';

jest.setTimeout(480_000);

let lab: Lab;
let h: LabHost;

async function until(what: string, f: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Talks first: EHLO goes out on connect, before the greeting, then MAIL and RCPT after the greet
 * wait. Returns everything the server said until it closed or 15 s passed.
 */
async function rudeClient(address: string): Promise<string> {
  const socket = net.connect(25, address);
  let said = '';
  socket.on('data', (d) => {
    said += d.toString('latin1');
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('EHLO rude.example\r\n');
    await pause(3000);
    for (const line of ['MAIL FROM:<spam@rude.example>', `RCPT TO:<root@${h.hostname}>`, 'QUIT']) {
      if (!socket.destroyed) socket.write(`${line}\r\n`);
      await pause(500);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise((r) => {
        timer = setTimeout(r, 15_000);
      }),
    ]);
    clearTimeout(timer);
    return said.replace(/\r/g, '');
  } finally {
    socket.destroy();
  }
}

beforeAll(async () => {
  lab = await startLab({ count: 1 });
  h = lab.hosts[0];
  const dir = synthStack((stack) => {
    // The lab's mynetworks is 127.0.0.0/8, which postscreen_access_list permits by default: a table
    // that answers dunno for everyone makes the lab's clients meet the tests like any Internet client.
    const host = new PostfixHost(stack, 'mx', { connection: labConnection(h), settings: { postscreen_access_list: 'static:dunno' } });
    new Postscreen(host, 'screen', { greetWait: '2s', chroot: false });
  });
  const [r] = await applyStack(dir);
  if (r.error) throw new Error(`apply failed: ${r.error}`);
});

afterAll(async () => {
  await lab?.stop();
});

describe('postscreen on port 25', () => {
  it('runs postscreen on port 25 with smtpd behind it', async () => {
    const m = (await h.exec(['postconf', '-M', 'smtp/inet', 'smtpd/pass', 'dnsblog/unix', 'tlsproxy/unix'])).stdout.replace(/[ \t]+/g, ' ');
    expect(m.trim().split('\n').sort()).toEqual([
      'dnsblog unix - - n - 0 dnsblog',
      'smtp inet n - n - 1 postscreen',
      'smtpd pass - - n - - smtpd',
      'tlsproxy unix - - n - 0 tlsproxy',
    ]);
  });

  it('refuses a client that talks before the greeting, and logs PREGREET', async () => {
    const said = await rudeClient(h.address);
    expect(said).toMatch(/^550 5\.5\.1 Protocol error/m);
    expect(said).not.toMatch(/^250 2\.1\.5/m);
    await until('PREGREET log line', () =>
      /postscreen\[\d+\]: PREGREET \d+ after [\d.]+ from \[[\d.]+\]:\d+: EHLO rude\.example/.test(fs.readFileSync(h.mailLogPath, 'utf8')),
    );
    expect(mboxMessagesWith(h.mailboxPath('root'), 'rude.example')).toEqual([]);
  });

  it("accepts and delivers a polite client's mail", async () => {
    const tag = `polite-${Date.now()}`;
    expect(await sendMail(h.address, 'someone@example.org', `root@${h.hostname}`, tag)).toMatch(/^250 /);
    await until('delivery', () => mboxMessagesWith(h.mailboxPath('root'), tag).length === 1);
    expect(fs.readFileSync(h.mailLogPath, 'utf8')).toMatch(/postscreen\[\d+\]: PASS NEW \[[\d.]+\]:\d+/);
  });
});
