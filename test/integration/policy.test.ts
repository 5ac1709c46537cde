/**
 * Issue 4's proofs against a real lab host: size limit, submission ports, sender blacklist (with a
 * live edit while mail flows), header censoring on submission only, ~/.forward pipes.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { TerraformStack } from 'cdktf';
import { Lab, LabHost, startLab } from '../lab';
import { run } from '../lab/process';
import { applyStack, labConnection, synthStack } from '../helpers/deploy';
import { DeliverySource, PostfixHost, Submission, Submissions } from '../../index';
import { AccessTable } from '../../constructs/access-table';
import { HeaderChecks } from '../../constructs/header-checks';
import { Forwarding } from '../../constructs/forwarding';
import { sizeLimitSettings } from '../../lib/model/size';
import { selfSigned } from '../helpers/certs';

jest.setTimeout(240_000);

const FWD_USER = 'cdktffwd';
let lab: Lab;
let h: LabHost;
let certDir: string;

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function swaks(port: number, from: string, extra: string[] = []) {
  return run('swaks', [
    '--server',
    `${h.address}:${port}`,
    '--helo',
    'client.lab.test',
    '--from',
    from,
    '--to',
    `root@${h.hostname}`,
    '--timeout',
    '20',
    ...extra,
  ]);
}

function mailbox(user = 'root'): string {
  return fs.existsSync(h.mailboxPath(user)) ? fs.readFileSync(h.mailboxPath(user), 'utf8') : '';
}

/** The mbox message whose Subject carries `tag`. */
function messageWith(tag: string): string | undefined {
  return mailbox()
    .split(/\n(?=From )/)
    .find((m) => m.includes(`Subject: ${tag}`));
}

/** Reads SMTP replies line by line from a socket. */
function replies(sock: net.Socket | tls.TLSSocket) {
  let buf = '';
  const waiting: Array<(s: string) => void> = [];
  sock.on('data', (d) => {
    buf += d.toString();
    for (;;) {
      const m = /^(\d{3}) .*\r\n/m.exec(buf);
      if (!m || !waiting.length) break;
      const end = m.index + m[0].length;
      const reply = buf.slice(0, end);
      buf = buf.slice(end);
      waiting.shift()!(reply);
    }
  });
  return (line?: string) =>
    new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no SMTP reply${line ? ` to ${line}` : ''} (got ${JSON.stringify(buf)})`)), 10_000);
      waiting.push((r) => {
        clearTimeout(t);
        resolve(r);
      });
      if (line !== undefined) sock.write(line + '\r\n');
    });
}

interface Build {
  blacklist: Record<string, string>;
}

function buildStack(b: Build): string {
  return synthStack((stack: TerraformStack) => {
    const host = new PostfixHost(stack, 'mx', {
      connection: labConnection(h),
      settings: {
        ...sizeLimitSettings({ message: '200kB', mailbox: 0 }),
        smtpd_tls_cert_file: '/etc/postfix/lab-cert.pem',
        smtpd_tls_key_file: '/etc/postfix/lab-key.pem',
        smtpd_tls_security_level: 'may',
      },
    });
    host.state.addFile({ path: '/etc/postfix/lab-cert.pem', sourcePath: path.join(certDir, 'cert.pem'), mode: '0644' }, 'test');
    host.state.addFile({ path: '/etc/postfix/lab-key.pem', sourcePath: path.join(certDir, 'key.pem'), mode: '0600', secret: true }, 'test');
    // SASL stays off: with smtpd_sasl_auth_enable and no Dovecot socket, smtpd drops the connection at EHLO after STARTTLS.
    host.addService(Submission.starttls());
    host.addService(Submissions.implicitTls());
    new AccessTable(host, 'blacklist', { entries: b.blacklist }).restrictSenders();
    new HeaderChecks(host, 'clean_headers', HeaderChecks.privacy()).onSubmission();
    new Forwarding(host, 'forwarding', { commands: [DeliverySource.ALIAS, DeliverySource.FORWARD, DeliverySource.INCLUDE] });
  });
}

async function apply(dir: string) {
  const reports = await applyStack(dir);
  for (const r of reports) {
    if ((r as { ok?: boolean }).ok === false || (r as { error?: unknown }).error) throw new Error(`apply failed: ${JSON.stringify(r)}`);
  }
  return reports;
}

beforeAll(async () => {
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-cert-'));
  selfSigned(certDir, { cn: 'host.lab.test' });
  // A local user for the ~/.forward proof; its home lies under /var/mail, which every lab host has to itself.
  if (spawnSync('id', [FWD_USER]).status !== 0) {
    const u = spawnSync(
      'useradd',
      ['--system', '--no-create-home', '--home-dir', `/var/mail/${FWD_USER}.home`, '--shell', '/usr/sbin/nologin', FWD_USER],
      { encoding: 'utf8' },
    );
    if (u.status !== 0 && spawnSync('id', [FWD_USER]).status !== 0) throw new Error(u.stderr);
  }
  lab = await startLab({ count: 1 });
  h = lab.hosts[0];
  await apply(
    buildStack({
      blacklist: { 'spam@bad.example': 'REJECT spam is not welcome here', 'evil.example': 'REJECT the whole domain is blocked' },
    }),
  );
}, 180_000);

afterAll(async () => {
  await lab?.stop();
  if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
});

describe('message size', () => {
  it('EHLO advertises the new SIZE', async () => {
    const r = await swaks(25, 'ok@good.example', ['--quit-after', 'EHLO']);
    expect(r.stdout).toMatch(/<- {2}250-SIZE 200000\r?$/m);
  });

  it('a message over the limit is refused with 552; one under it is delivered', async () => {
    const bodyFile = (n: number) => {
      const f = path.join(certDir, `body-${n}`);
      fs.writeFileSync(f, ('x'.repeat(75) + '\r\n').repeat(Math.ceil(n / 77)));
      return `@${f}`;
    };
    const big = await swaks(25, 'ok@good.example', ['--header', 'Subject: size-big', '--body', bodyFile(250_000)]);
    expect(big.stdout).toMatch(/<\*\* +552 5\.3\.4 (Error: message file too big|Message size exceeds fixed limit)/);
    const small = await swaks(25, 'ok@good.example', ['--header', 'Subject: size-small', '--body', bodyFile(150_000)]);
    expect(small.code).toBe(0);
    await until('small message delivered', () => messageWith('size-small') !== undefined);
    expect(messageWith('size-big')).toBeUndefined();
  });
});

describe('submission ports', () => {
  it('587 answers, offers STARTTLS and refuses MAIL before STARTTLS', async () => {
    const sock = net.connect(587, h.address);
    const next = replies(sock);
    expect(await next()).toMatch(/^220 /);
    expect(await next('EHLO client.lab.test')).toMatch(/250-STARTTLS/);
    expect(await next('MAIL FROM:<ok@good.example>')).toMatch(/^530 5\.7\.0 Must issue a STARTTLS command first/);
    sock.end('QUIT\r\n');
  });

  it('465 speaks TLS from the first byte (no plaintext banner; TLS handshake, then 220)', async () => {
    const plain = net.connect(465, h.address);
    const got = await new Promise<string>((resolve) => {
      let data = '';
      plain.on('data', (d: Buffer) => (data += d.toString()));
      setTimeout(() => {
        plain.destroy();
        resolve(data);
      }, 1500);
    });
    expect(got).toBe('');
    const sock = tls.connect({ host: h.address, port: 465, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      sock.once('secureConnect', () => resolve());
      sock.once('error', reject);
    });
    const next = replies(sock);
    expect(await next()).toMatch(/^220 /);
    const ehlo = await next('EHLO client.lab.test');
    expect(ehlo).not.toMatch(/STARTTLS/);
    expect(ehlo).toMatch(/250-AUTH|250 /); // SASL is not configured on 465 here: no AUTH needed to answer
    sock.end('QUIT\r\n');
  });

  it('587 accepts mail from mynetworks after STARTTLS', async () => {
    const r = await swaks(587, 'ok@good.example', ['-tls', '--header', 'Subject: via-587']);
    expect(r.code).toBe(0);
    await until('587 delivery', () => messageWith('via-587') !== undefined);
  });
});

describe('sender blacklist', () => {
  it('a listed sender gets a 5xx with the configured text', async () => {
    const r = await swaks(25, 'spam@bad.example');
    expect(r.stdout).toMatch(/<\*\* +554 5\.7\.1 <spam@bad\.example>: Sender address rejected: spam is not welcome here/);
  });
  it('a listed domain blocks all its addresses', async () => {
    for (const from of ['anyone@evil.example', 'postmaster@evil.example']) {
      const r = await swaks(25, from);
      expect(r.stdout).toMatch(/554 5\.7\.1 .*Sender address rejected: the whole domain is blocked/);
    }
  });
  it('an unlisted sender is accepted', async () => {
    const r = await swaks(25, 'friend@good.example', ['--header', 'Subject: unlisted']);
    expect(r.code).toBe(0);
    await until('unlisted delivered', () => messageWith('unlisted') !== undefined);
  });

  it('editing the table takes effect without a lost message; removing an entry unblocks it', async () => {
    const dir = buildStack({
      blacklist: { 'new@bad.example': 'REJECT newly listed', 'evil.example': 'REJECT the whole domain is blocked' },
    });
    let stop = false;
    const sent: string[] = [];
    const failures: string[] = [];
    const flow = (async () => {
      for (let i = 0; !stop || i < 5; i++) {
        const tag = `flow-${i}`;
        const r = await swaks(25, 'steady@good.example', ['--header', `Subject: ${tag}`]);
        if (r.code === 0) sent.push(tag);
        else
          failures.push(
            `${tag}: ${r.stdout
              .split('\n')
              .filter((l) => /^<\*\*|^\*\*\*/.test(l))
              .join(' ')}`,
          );
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await apply(dir);
    stop = true;
    await flow;
    expect(failures).toEqual([]);
    expect(sent.length).toBeGreaterThanOrEqual(5);
    await until('every accepted message delivered', () => sent.every((t) => messageWith(t) !== undefined), 30_000);

    const unblocked = await swaks(25, 'spam@bad.example', ['--header', 'Subject: unblocked']);
    expect(unblocked.code).toBe(0);
    const newly = await swaks(25, 'new@bad.example');
    expect(newly.stdout).toMatch(/554 5\.7\.1 <new@bad\.example>: Sender address rejected: newly listed/);
    // the index was replaced, not rebuilt in place
    expect(h.readFile('/etc/postfix/blacklist')).toContain('new@bad.example');
    expect(fs.existsSync(h.realPath('/etc/postfix/blacklist.db'))).toBe(true);
  });
});

describe('header censoring on submission only', () => {
  const headers = (tag: string) => [
    '--header',
    `Subject: ${tag}`,
    '--add-header',
    'Received: from laptop.local (laptop.local [192.168.1.20]) by mx.example.org (Postfix) with ESMTPSA id 2B8361FD29',
    '--add-header',
    'X-Originating-IP: [192.168.1.20]',
    '--add-header',
    'X-Mailer: Thunderbird 115',
    '--add-header',
    'User-Agent: Mozilla/5.0',
  ];
  it('587 strips the four headers; port 25 keeps them', async () => {
    const a = await swaks(587, 'me@good.example', ['-tls', ...headers('censor-587')]);
    expect(a.code).toBe(0);
    const b = await swaks(25, 'me@good.example', headers('censor-25'));
    expect(b.code).toBe(0);
    await until('both delivered', () => messageWith('censor-587') !== undefined && messageWith('censor-25') !== undefined);
    const submitted = messageWith('censor-587')!;
    const relayed = messageWith('censor-25')!;
    for (const hdr of [/^X-Originating-IP:/m, /^X-Mailer:/m, /^User-Agent:/m, /^Received: from laptop\.local/m]) {
      expect(submitted).not.toMatch(hdr);
      expect(relayed).toMatch(hdr);
    }
    // Postfix's own Received header for the submission stays (it says ESMTPS: no SASL login here)
    expect(submitted).toMatch(/^Received: from client\.lab\.test/m);
  });
});

describe('forwarding', () => {
  it("a user's ~/.forward that pipes to a command runs the command on delivery", async () => {
    const home = `/var/mail/${FWD_USER}.home`;
    expect((await h.exec(['install', '-d', '-o', FWD_USER, '-m', '0755', home])).code).toBe(0);
    const out = `${home}/piped`;
    expect(
      (await h.exec(['sh', '-c', `printf '%s\\n' '"|cat > ${out}"' > ${home}/.forward && chown ${FWD_USER} ${home}/.forward`])).code,
    ).toBe(0);
    const r = await run('swaks', [
      '--server',
      `${h.address}:25`,
      '--from',
      'ok@good.example',
      '--to',
      `${FWD_USER}@${h.hostname}`,
      '--header',
      'Subject: forward-pipe',
    ]);
    expect(r.code).toBe(0);
    await until('pipe output', async () => (await h.exec(['cat', out])).stdout.includes('Subject: forward-pipe'));
    expect(h.readFile('/etc/postfix/main.cf')).toMatch(/^allow_mail_to_commands = alias, forward, include$/m);
  });
});
