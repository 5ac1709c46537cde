/**
 * The lab: N isolated mail hosts on this machine, each a real Postfix on its default paths
 * (/etc/postfix, /var/spool/postfix, /var/lib/postfix, /var/mail, /var/log, /run) with its own sshd
 * on its own loopback address 127.0.0.N.
 *
 * How a host is isolated: a directory /tmp/cdktf-postfix-lab/<lab>/<host>/ holds the host's files;
 * a supervisor started with `unshare --mount --uts --propagation private` bind-mounts them over the
 * default paths, sets the hostname, runs `postfix start` and `sshd -D`. Every SSH session is a
 * child of that sshd, so it sees that host's files; `postfix reload|stop|start` work from it.
 * The network namespace is shared: 127.0.0.N is added to lo (Postfix refuses an inet_interfaces
 * address that no interface has) and removed at tear-down.
 *
 * Mail never leaves a lab host: default_transport and relay_transport are
 * `error:lab host sends nowhere` (override them to relay between lab hosts).
 *
 * Tear-down leaves nothing: the supervisor stops Postfix and sshd, kills every remaining process of
 * its mount namespace (so the bind mounts vanish with it), deletes the address; the lab removes
 * the directories. If the owning process dies (even SIGKILL) the supervisors see EOF on stdin and
 * clean up on their own; startLab() also reaps labs whose owner is gone.
 *
 * Requires root and: postfix, openssh-server (sshd), openssh-client (ssh-keygen), util-linux
 * (unshare, nsenter), iproute2 (ip), bash; sudo for `nonRootUser`.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SUPERVISOR_SCRIPT } from './supervisor';
import { releaseAddress, reserveAddresses } from './addresses';
import { HostRecord, fingerprintOf, lookupIds, prepareHostFiles, sshdConfig } from './host-files';
import { LAB_MOUNT_MARKER, killAll, loAddresses, nsInode, pidsInNamespace, run, runOk, selfOwner } from './process';
import { waitReady } from './readiness';
import { installExitHook, liveLabs, reapStaleLabs } from './reap';
import { BINDS, ExecResult, LAB_BASE_DIR, LAB_SUDO_USER, Lab, LabHost, PreparedLab, RESERVATIONS_DIR, StartLabOptions } from './types';

// ---------------------------------------------------------------------------------------------
// the lab

class HostImpl implements LabHost {
  readonly sshPort = 22 as const;
  readonly smtpPort = 25 as const;
  readonly user = 'root' as const;
  readonly knownHostsPath: string;
  readonly mailLogPath: string;
  hostKeyFingerprint = '';
  hostPublicKey = '';
  pid = 0;
  nsIno: number | undefined;
  child: ChildProcess | undefined;
  exited = false;
  addrAdded = false;

  constructor(
    readonly name: string,
    readonly hostname: string,
    readonly address: string,
    readonly root: string,
    readonly privateKeyPath: string,
    readonly sudoUser: string | undefined,
  ) {
    this.knownHostsPath = path.join(root, 'known_hosts');
    this.mailLogPath = path.join(root, 'log', 'mail.log');
  }

  exec(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    if (!this.pid || this.exited) return Promise.reject(new Error(`lab: ${this.name} is not running`));
    if (argv.length === 0) return Promise.reject(new Error('lab: exec needs a command'));
    return run('nsenter', ['-t', String(this.pid), '-m', '-u', '--', ...argv], opts).then(({ code, stdout, stderr }) => ({
      code,
      stdout,
      stderr,
    }));
  }

  realPath(p: string): string {
    const norm = path.posix.normalize(p);
    for (const [rel, inside] of BINDS) {
      if (norm === inside || norm.startsWith(inside + '/')) return path.join(this.root, rel, norm.slice(inside.length));
    }
    throw new Error(`lab: ${p} is not under one of the host's own directories (${BINDS.map((b) => b[1]).join(', ')})`);
  }

  readFile(p: string): string {
    if (this.pid && !this.exited) return fs.readFileSync(`/proc/${this.pid}/root${path.posix.normalize(p)}`, 'utf8');
    return fs.readFileSync(this.realPath(p), 'utf8');
  }

  mailboxPath(user: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(user)) throw new Error(`lab: bad user name ${user}`);
    return path.join(this.root, 'mail', user);
  }

  sshArgs(user = 'root'): string[] {
    return [
      '-i',
      this.privateKeyPath,
      '-o',
      `UserKnownHostsFile=${this.knownHostsPath}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'LogLevel=ERROR',
      '-p',
      '22',
      `${user}@${this.address}`,
    ];
  }

  record(): HostRecord {
    return { name: this.name, address: this.address, addrAdded: this.addrAdded, supervisorPid: this.pid || undefined, nsIno: this.nsIno };
  }

  writeRecord(): void {
    fs.writeFileSync(path.join(this.root, 'host.json'), JSON.stringify(this.record()));
  }
}

class LabImpl implements Lab, PreparedLab {
  hosts: HostImpl[] = [];
  startMs = 0;
  private stopping: Promise<void> | undefined;
  private starting: Promise<Lab> | undefined;

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly t0: number,
  ) {}

  start(opts: { readyTimeoutMs?: number } = {}): Promise<Lab> {
    if (this.stopping) return Promise.reject(new Error(`lab: ${this.name} was stopped`));
    this.starting ??= startHosts(this, opts.readyTimeoutMs ?? 60_000).then(() => {
      this.startMs = Date.now() - this.t0;
      return this;
    });
    return this.starting;
  }

  get privateKeyPath(): string {
    return path.join(this.dir, 'id_ed25519');
  }
  get publicKeyPath(): string {
    return path.join(this.dir, 'id_ed25519.pub');
  }
  get knownHostsPath(): string {
    return path.join(this.dir, 'known_hosts');
  }

  killSupervisorsSync(): void {
    for (const h of this.hosts) {
      if (h.pid && !h.exited) {
        try {
          process.kill(h.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    await Promise.all(this.hosts.map((h) => this.stopHost(h)));
    // Belt and braces: no process of any host namespace, no address, no files.
    const onLo = await loAddresses().catch(() => new Set<string>());
    for (const h of this.hosts) {
      if (h.nsIno !== undefined) {
        const left = pidsInNamespace(h.nsIno, LAB_MOUNT_MARKER);
        if (left.length) killAll(left, 'SIGKILL');
      }
      if (h.addrAdded && onLo.has(h.address)) await run('ip', ['addr', 'del', `${h.address}/32`, 'dev', 'lo']);
      releaseAddress(h.address, this.name);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    liveLabs.delete(this);
  }

  private async stopHost(h: HostImpl): Promise<void> {
    const child = h.child;
    if (!child || h.exited) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      child.stdin?.write('stop\n');
      child.stdin?.end();
    } catch {
      /* already gone */
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 10_000))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

let labCounter = 0;

async function ensureSudoUser(): Promise<string> {
  if (!fs.existsSync('/usr/bin/sudo') || !fs.existsSync('/etc/sudoers.d')) {
    throw new Error('lab: nonRootUser needs sudo (apt-get install -y sudo)');
  }
  const passwd = fs.readFileSync('/etc/passwd', 'utf8');
  if (!passwd.split('\n').some((l) => l.startsWith(`${LAB_SUDO_USER}:`))) {
    const r = await run('useradd', ['--create-home', '--shell', '/bin/bash', LAB_SUDO_USER]);
    if (r.code !== 0 && r.code !== 9 /* exists: raced */) throw new Error(`lab: useradd ${LAB_SUDO_USER}: ${r.stderr.trim()}`);
  }
  // useradd leaves the account locked ("!"), and sshd (UsePAM no) refuses locked accounts even
  // for keys: set "*" (no password can match, but not locked).
  const shadow = fs
    .readFileSync('/etc/shadow', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${LAB_SUDO_USER}:`));
  if (shadow && shadow.split(':')[1].startsWith('!')) await runOk('usermod', ['-p', '*', LAB_SUDO_USER]);
  return LAB_SUDO_USER;
}

/** Starts `count` isolated mail hosts. Needs root. */
export async function startLab(opts: StartLabOptions): Promise<Lab> {
  const prepared = await prepareLab(opts);
  return prepared.start({ readyTimeoutMs: opts.readyTimeoutMs });
}

/**
 * Everything but the hosts' processes: addresses reserved (no other lab takes them), host keys
 * generated, files written. The hosts' addresses, host keys and known_hosts are final, so a
 * deploy can be given them before the hosts exist; start() brings the hosts up (like VMs that
 * finish booting while the deploy waits for SSH). stop() releases everything, started or not.
 */
export async function prepareLab(opts: StartLabOptions): Promise<PreparedLab> {
  const t0 = Date.now();
  const count = opts.count;
  if (!Number.isInteger(count) || count < 1 || count > 200) throw new Error(`lab: count must be 1..200, got ${count}`);
  if (process.getuid && process.getuid() !== 0) throw new Error('lab: must run as root (mount namespaces, bind mounts, ip addr)');
  const name = opts.name ?? `lab-${process.pid}-${++labCounter}-${crypto.randomBytes(3).toString('hex')}`;
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new Error(`lab: bad lab name ${name}`);

  fs.mkdirSync(RESERVATIONS_DIR, { recursive: true, mode: 0o755 });
  await reapStaleLabs();
  const dir = path.join(LAB_BASE_DIR, name);
  fs.mkdirSync(dir, { mode: 0o755 }); // fails if a live lab has this name
  const lab = new LabImpl(name, dir, t0);
  liveLabs.add(lab);
  installExitHook();
  fs.writeFileSync(path.join(dir, 'owner.json'), JSON.stringify({ lab: name, ...selfOwner() }));

  try {
    const sudoUser = opts.nonRootUser ? await ensureSudoUser() : undefined;
    const ids = lookupIds();
    const numbers = await reserveAddresses(name, count, opts.firstAddress);
    lab.hosts = numbers.map((n, i) => {
      const hn = `host${i + 1}`;
      return new HostImpl(hn, `${hn}.lab.test`, `127.0.0.${n}`, path.join(dir, hn), lab.privateKeyPath, sudoUser);
    });

    // Keys: one client key for the lab, one ed25519 host key per host, all generated in parallel.
    const keygen = (file: string, comment: string) => runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
    for (const h of lab.hosts) {
      prepareHostFiles(h.root, h.hostname, h.address, ids, sudoUser);
      fs.writeFileSync(path.join(h.root, 'ssh', 'sshd_config'), sshdConfig({ address: h.address, dir: h.root, labDir: dir }));
      h.writeRecord();
    }
    await Promise.all([
      keygen(lab.privateKeyPath, `lab@${name}`),
      ...lab.hosts.map((h) => keygen(path.join(h.root, 'ssh', 'ssh_host_ed25519_key'), `root@${h.hostname}`)),
    ]);
    fs.copyFileSync(lab.publicKeyPath, path.join(dir, 'authorized_keys'));
    const khLines: string[] = [];
    for (const h of lab.hosts) {
      h.hostPublicKey = fs.readFileSync(path.join(h.root, 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8').trim();
      const pub = h.hostPublicKey.split(/\s+/);
      const line = `${h.address} ${pub[0]} ${pub[1]}\n`;
      fs.writeFileSync(h.knownHostsPath, line);
      khLines.push(line);
      h.hostKeyFingerprint = fingerprintOf(line.slice(h.address.length + 1));
    }
    fs.writeFileSync(lab.knownHostsPath, khLines.join(''));
    // Each host's own /etc/hosts (a file bind mount): its name resolves (sudo wants that), and so do
    // the other lab hosts' names, for relaying between lab hosts without DNS.
    const hostsFile = '127.0.0.1\tlocalhost\n' + lab.hosts.map((h) => `${h.address}\t${h.hostname} ${h.name}\n`).join('');
    for (const h of lab.hosts) fs.writeFileSync(path.join(h.root, 'hosts'), hostsFile);
  } catch (e) {
    await lab.stop().catch(() => undefined);
    throw e;
  }
  return lab;
}

/** Addresses on lo, the supervisors, and the wait until every host answers SMTP and SSH. */
async function startHosts(lab: LabImpl, readyTimeoutMs: number): Promise<void> {
  try {
    // Addresses on lo, in one `ip -batch`.
    const onLo = await loAddresses();
    const toAdd = lab.hosts.filter((h) => !onLo.has(h.address));
    if (toAdd.length) {
      for (const h of toAdd) h.addrAdded = true;
      await runOk('ip', ['-batch', '-'], { input: toAdd.map((h) => `addr add ${h.address}/32 dev lo\n`).join('') });
    }

    // Supervisors, all at once; then wait until every host answers.
    await Promise.all(lab.hosts.map((h) => spawnSupervisor(h, lab.name)));
    const deadline = Date.now() + readyTimeoutMs;
    await Promise.all(lab.hosts.map((h) => waitReady({ address: h.address, hostname: h.hostname, alive: () => !h.exited }, deadline)));
  } catch (e) {
    const logs = lab.hosts
      .map((h) => {
        try {
          return `--- ${h.name} supervisor.log:\n${fs.readFileSync(path.join(h.root, 'supervisor.log'), 'utf8').slice(-2000)}`;
        } catch {
          return '';
        }
      })
      .filter(Boolean)
      .join('\n');
    await lab.stop().catch(() => undefined);
    const err = e as Error;
    err.message += logs ? `\n${logs}` : '';
    throw err;
  }
}

function spawnSupervisor(h: HostImpl, labName: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const logFd = fs.openSync(path.join(h.root, 'supervisor.log'), 'a');
    const child = spawn('unshare', ['--mount', '--uts', '--propagation', 'private', '--', '/bin/bash', '-c', SUPERVISOR_SCRIPT], {
      cwd: '/',
      detached: true, // own process group: a terminal's Ctrl-C reaches only our owner, which stops us in order
      stdio: ['pipe', 'pipe', logFd],
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: 'C.UTF-8',
        LAB_HOST_DIR: h.root,
        LAB_ADDR: h.address,
        LAB_HOSTNAME: h.hostname,
        LAB_ADDR_ADDED: h.addrAdded ? '1' : '0',
        LAB_SUDOERS: h.sudoUser ? '1' : '0',
        LAB_RESERVATION: path.join(RESERVATIONS_DIR, h.address),
        LAB_NAME: labName,
      },
    });
    fs.closeSync(logFd);
    h.child = child;
    child.stdin!.on('error', () => undefined);
    let out = '';
    let started = false;
    child.on('error', (e) => {
      h.exited = true;
      if (!started) reject(e);
    });
    child.on('exit', (code, signal) => {
      h.exited = true;
      if (!started) reject(new Error(`lab: ${h.name} supervisor exited (${code ?? signal}) before starting`));
    });
    child.stdout!.on('data', (d: Buffer) => {
      if (started) return;
      out += d.toString();
      const m = /started (\d+)/.exec(out);
      if (m) {
        started = true;
        h.pid = Number(m[1]);
        h.nsIno = nsInode(h.pid);
        h.writeRecord();
        resolve();
      }
    });
  });
}

/** Starts a lab, runs fn, always stops the lab. */
export async function withLab<T>(countOrOpts: number | StartLabOptions, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await startLab(typeof countOrOpts === 'number' ? { count: countOrOpts } : countOrOpts);
  try {
    return await fn(lab);
  } finally {
    await lab.stop();
  }
}
