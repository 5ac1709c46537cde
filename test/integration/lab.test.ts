/**
 * The lab: isolated Postfix + sshd hosts on 127.0.0.N. Needs root and the tools listed in
 * test/lab/lab.ts; a missing tool is a failure here, never a skip.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as net from 'node:net';
import { Lab, LabHost, prepareLab, startLab, LAB_BASE_DIR } from '../lab';
import { run } from '../lab/process';

jest.setTimeout(180_000);

function ssh(h: LabHost, ...remote: string[]) {
  return run('ssh', [...h.sshArgs(), ...remote]);
}

function smtpBanner(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(25, address);
    s.once('data', (d) => {
      s.end('QUIT\r\n');
      resolve(d.toString().split('\r\n')[0]);
    });
    s.on('error', reject);
  });
}

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function comm(pid: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Pids of processes whose mounts include the host directory `root`. */
function labProcesses(root: string): string[] {
  const found: string[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/mountinfo`, 'utf8').includes(`${root}/etc-postfix `)) found.push(e);
    } catch {
      /* gone */
    }
  }
  return found;
}

describe('lab', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await startLab({ count: 2, name: `jest-lab-${process.pid}` });
    console.log(`lab: 2 hosts ready in ${lab.startMs} ms`);
  });

  afterAll(async () => {
    await lab?.stop();
  });

  it('gives every host its own address, name, key and files', () => {
    const [a, b] = lab.hosts;
    expect(a.address).not.toBe(b.address);
    expect(a.address).toMatch(/^127\.0\.0\.\d+$/);
    expect(a.hostname).toBe('host1.lab.test');
    expect(b.hostname).toBe('host2.lab.test');
    expect(a.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(a.hostKeyFingerprint).not.toBe(b.hostKeyFingerprint);
    expect(fs.readFileSync(a.knownHostsPath, 'utf8')).toMatch(new RegExp(`^${a.address.replace(/\./g, '\\.')} ssh-ed25519 AAAA\\S+\\n$`));
    expect(fs.readFileSync(lab.knownHostsPath, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(a.readFile('/etc/postfix/main.cf')).toContain('myhostname = host1.lab.test');
    expect(b.readFile('/etc/postfix/main.cf')).toContain('myhostname = host2.lab.test');
    expect(fs.existsSync(a.realPath('/etc/postfix/dynamicmaps.cf'))).toBe(true);
  });

  it('fingerprint matches ssh-keygen -lf', async () => {
    const h = lab.hosts[0];
    const r = await run('ssh-keygen', ['-lf', `${h.root}/ssh/ssh_host_ed25519_key.pub`]);
    expect(r.stdout.split(' ')[1]).toBe(h.hostKeyFingerprint);
  });

  it('answers SMTP 220 with its own hostname on its own address', async () => {
    for (const h of lab.hosts) {
      expect(await smtpBanner(h.address)).toMatch(new RegExp(`^220 ${h.hostname.replace(/\./g, '\\.')} ESMTP`));
    }
  });

  it("SSH sessions (strict host key checking) see the host's own files", async () => {
    for (const h of lab.hosts) {
      const r = await run('ssh', [
        '-i',
        h.privateKeyPath,
        '-o',
        `UserKnownHostsFile=${h.knownHostsPath}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        `root@${h.address}`,
        'postconf',
        '-h',
        'myhostname',
      ]);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(h.hostname);
      expect(r.code).toBe(0);
    }
  });

  it('refuses a host key that is not the pinned one', async () => {
    const [a, b] = lab.hosts;
    const r = await run('ssh', [
      '-i',
      a.privateKeyPath,
      '-o',
      `UserKnownHostsFile=${b.knownHostsPath}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      `root@${a.address}`,
      'true',
    ]);
    expect(r.code).not.toBe(0);
  });

  it("exec runs inside the host's namespace, without a shell", async () => {
    const h = lab.hosts[1];
    const r = await h.exec(['postconf', '-h', 'myhostname', 'inet_interfaces']);
    expect(r).toEqual({ code: 0, stdout: `${h.hostname}\n${h.address}\n`, stderr: '' });
    expect((await h.exec(['hostname'])).stdout.trim()).toBe(h.hostname);
    expect((await h.exec(['echo', '$HOME;', '`id`'])).stdout).toBe('$HOME; `id`\n');
    expect((await h.exec(['cat'], { input: 'piped' })).stdout).toBe('piped');
    expect((await h.exec(['false'])).code).toBe(1);
    expect((await h.exec(['getent', 'hosts', 'host1.lab.test'])).stdout).toContain(lab.hosts[0].address);
  });

  it("delivers mail sent to one host into that host's mailbox only", async () => {
    const [a, b] = lab.hosts;
    const tag = `lab-test-${Date.now()}`;
    const r = await run('swaks', [
      '--server',
      `${a.address}:25`,
      '--to',
      `root@${a.hostname}`,
      '--from',
      `test@${b.hostname}`,
      '--header',
      `Subject: ${tag}`,
      '--body',
      'hello from the lab test',
    ]);
    expect(r.code).toBe(0);
    await until('mailbox', () => fs.existsSync(a.mailboxPath('root')) && fs.readFileSync(a.mailboxPath('root'), 'utf8').includes(tag));
    expect(fs.existsSync(b.mailboxPath('root'))).toBe(false);
    expect(a.readFile('/var/mail/root')).toContain(tag);
    await until('delivery log line', () => fs.readFileSync(a.mailLogPath, 'utf8').includes('status=sent (delivered to mailbox)'));
  });

  it('never sends mail off the host', async () => {
    const a = lab.hosts[0];
    const r = await run('swaks', ['--server', `${a.address}:25`, '--to', 'someone@example.org', '--from', `root@${a.hostname}`]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain('550 5.1.1 <someone@example.org>: Recipient address rejected: lab host sends nowhere');
    // mail submitted on the host itself bounces instead of leaving
    const s = await a.exec(['/usr/sbin/sendmail', '-f', '', 'someone@example.org'], { input: 'Subject: out\n\nbye\n' });
    expect(s.code).toBe(0);
    await until('bounce', () =>
      /to=<someone@example\.org>.*status=bounced \(lab host sends nowhere\)/.test(fs.readFileSync(a.mailLogPath, 'utf8')),
    );
  });

  it("postfix reload over ssh works and is logged in that host's mail log", async () => {
    const [a, b] = lab.hosts;
    const before = fs.readFileSync(b.mailLogPath, 'utf8');
    const r = await ssh(a, 'postfix', 'reload');
    expect(r.code).toBe(0);
    await until('reload line', () =>
      /postfix\/postfix-script\[\d+\]: refreshing the Postfix mail system/.test(fs.readFileSync(a.mailLogPath, 'utf8')),
    );
    await until('master reload', () => /postfix\/master\[\d+\]: reload -- version/.test(fs.readFileSync(a.mailLogPath, 'utf8')));
    expect(fs.readFileSync(b.mailLogPath, 'utf8')).toBe(before);
    expect(await smtpBanner(a.address)).toMatch(/^220 host1\.lab\.test /);
  });

  it('postfix stop and start over ssh work', async () => {
    const a = lab.hosts[0];
    expect((await ssh(a, 'postfix', 'stop')).code).toBe(0);
    await until('stopped', async () => (await ssh(a, 'postfix', 'status')).code !== 0);
    expect((await ssh(a, 'postfix', 'start')).code).toBe(0);
    await until('started', async () => (await smtpBanner(a.address).catch(() => '')).startsWith('220 '));
  });

  it('stop() leaves no processes, mounts, addresses or files', async () => {
    const extra = await startLab({ count: 1 });
    const h = extra.hosts[0];
    // a lingering ssh session must not survive either
    const lingering = spawn('ssh', [...h.sshArgs(), 'sleep', '600'], { stdio: 'ignore' });
    await until('session', () => labProcesses(h.root).some((p) => comm(p) === 'sleep'));
    expect(labProcesses(h.root).length).toBeGreaterThan(5); // supervisor, master, qmgr, pickup, sshd, session...
    const pid = h.pid;
    await extra.stop();
    lingering.kill();
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    expect(labProcesses(h.root)).toEqual([]);
    expect(fs.existsSync(extra.dir)).toBe(false);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(LAB_BASE_DIR);
    const lo = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo']);
    expect(lo.stdout).not.toContain(` ${h.address}/32`);
    expect(fs.existsSync(`${LAB_BASE_DIR}/.addresses/${h.address}`)).toBe(false);
    // the first lab is untouched
    expect(await smtpBanner(lab.hosts[1].address)).toMatch(/^220 host2\.lab\.test /);
  });

  it('a host whose owner goes away (TERM or stdin EOF) tears itself down, files included', async () => {
    const extra = await startLab({ count: 2 });
    for (const h of extra.hosts) process.kill(h.pid, 'SIGTERM'); // what the exit hook does
    await until('self clean-up', () => !fs.existsSync(extra.dir));
    for (const h of extra.hosts) {
      expect(labProcesses(h.root)).toEqual([]);
      expect(fs.existsSync(`${LAB_BASE_DIR}/.addresses/${h.address}`)).toBe(false);
    }
    const lo = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo']);
    for (const h of extra.hosts) expect(lo.stdout).not.toContain(` ${h.address}/32`);
    await extra.stop(); // still fine
  });
});

describe('lab with a non-root user', () => {
  it('lets mailops log in and run postfix through sudo, inside the host only', async () => {
    const lab = await startLab({ count: 1, nonRootUser: true });
    try {
      const h = lab.hosts[0];
      expect(h.sudoUser).toBe('mailops');
      const who = await run('ssh', [...h.sshArgs('mailops'), 'id', '-un']);
      expect(who.stdout.trim()).toBe('mailops');
      const reload = await run('ssh', [...h.sshArgs('mailops'), 'sudo', '-n', 'postfix', 'reload']);
      expect(reload.code).toBe(0);
      expect(reload.stderr).toBe('');
      const plain = await run('ssh', [...h.sshArgs('mailops'), 'postfix', 'reload']);
      expect(plain.code).not.toBe(0);
      // the grant lives in the host's own /etc/sudoers.d, not on the machine
      expect(fs.existsSync('/etc/sudoers.d/cdktf-postfix-lab')).toBe(false);
      expect(h.readFile('/etc/sudoers.d/cdktf-postfix-lab')).toContain('mailops ALL=(ALL:ALL) NOPASSWD: ALL');
    } finally {
      await lab.stop();
    }
  });
});

// How fast the lab starts is a benchmark's question (bench/fleet.js prints it); this only proves that
// 1 and 20 hosts come up and go away.
describe('lab size', () => {
  it.each([1, 20])('starts %i host(s) and stops them', async (n) => {
    const t = Date.now();
    const lab = await startLab({ count: n });
    const started = Date.now() - t;
    const t2 = Date.now();
    await lab.stop();
    const stopped = Date.now() - t2;
    console.log(`lab timing: ${n} host(s) ready in ${started} ms, stopped in ${stopped} ms (load ${os.loadavg()[0].toFixed(2)})`);
    expect(lab.hosts).toHaveLength(n);
    expect(lab.hosts.every((h) => !fs.existsSync(h.root))).toBe(true);
  });
});

describe('prepared lab (hosts that start later)', () => {
  function refused(address: string): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect(22, address);
      s.on('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
    });
  }

  it('reserves the address and makes the host key first; start() brings the host up with that key; stop() without start releases all', async () => {
    const prepared = await prepareLab({ count: 1 });
    const h = prepared.hosts[0];
    try {
      expect(h.hostPublicKey).toMatch(/^ssh-ed25519 AAAA\S+ root@host1\.lab\.test$/);
      expect(fs.readFileSync(h.knownHostsPath, 'utf8')).toBe(`${h.address} ${h.hostPublicKey.split(' ').slice(0, 2).join(' ')}\n`);
      expect(fs.existsSync(`${LAB_BASE_DIR}/.addresses/${h.address}`)).toBe(true);
      expect(await refused(h.address)).toBe(true);
      await expect(h.exec(['true'])).rejects.toThrow(/not running/);
      const lab = await prepared.start();
      expect(await prepared.start()).toBe(lab);
      expect(await smtpBanner(h.address)).toBe('220 host1.lab.test ESMTP Postfix (Debian/GNU)');
      expect((await ssh(h, 'cat', '/etc/hostname', ';', 'true')).code).toBe(0);
    } finally {
      await prepared.stop();
    }
    expect(fs.existsSync(`${LAB_BASE_DIR}/.addresses/${h.address}`)).toBe(false);
    expect(fs.existsSync(prepared.dir)).toBe(false);

    const unstarted = await prepareLab({ count: 1 });
    await unstarted.stop();
    expect(fs.existsSync(`${LAB_BASE_DIR}/.addresses/${unstarted.hosts[0].address}`)).toBe(false);
    expect(fs.existsSync(unstarted.dir)).toBe(false);
    await expect(unstarted.start()).rejects.toThrow(/was stopped/);
  });
});
