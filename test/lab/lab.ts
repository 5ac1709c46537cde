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
import { ChildProcess, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { SUPERVISOR_SCRIPT } from "./supervisor";

export const LAB_BASE_DIR = "/tmp/cdktf-postfix-lab";
const RESERVATIONS_DIR = path.join(LAB_BASE_DIR, ".addresses");
const DEFAULT_FIRST_ADDRESS = 20;
const LAST_ADDRESS = 254;
export const LAB_SUDO_USER = "mailops";

export interface StartLabOptions {
  /** Number of hosts (1..200). */
  count: number;
  /** Use 127.0.0.<firstAddress> .. +count-1 exactly (fails if one is taken). Default: the first free ones from 127.0.0.20. */
  firstAddress?: number;
  /** Lab name (directory name; [a-z0-9-]). Default: lab-<pid>-<random>. */
  name?: string;
  /** Also allow the user `mailops` (created on this machine if missing) to log in, with passwordless sudo inside the hosts. */
  nonRootUser?: boolean;
  /** Milliseconds to wait for all hosts to answer SMTP 220 and the SSH banner. Default 60000. */
  readyTimeoutMs?: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface LabHost {
  /** Short name: host1, host2, ... */
  readonly name: string;
  /** Fully qualified name, also Postfix's myhostname: host1.lab.test */
  readonly hostname: string;
  /** 127.0.0.N */
  readonly address: string;
  readonly sshPort: 22;
  readonly smtpPort: 25;
  readonly user: "root";
  /** Set when the lab was started with nonRootUser: a user with passwordless sudo inside the host. */
  readonly sudoUser?: string;
  /** The lab's client private key (ed25519, no passphrase), authorized for root on every host. */
  readonly privateKeyPath: string;
  /** known_hosts with this host's single line `127.0.0.N ssh-ed25519 AAAA...`. */
  readonly knownHostsPath: string;
  /** `SHA256:...` of the host's ed25519 key, as `ssh-keygen -lf` prints it. */
  readonly hostKeyFingerprint: string;
  /** The host's directory on the real filesystem. */
  readonly root: string;
  /** Real-filesystem path of the host's mail log (maillog_file = /var/log/mail.log inside). */
  readonly mailLogPath: string;
  /** Pid of the supervisor; `nsenter -t <pid> -m -u` enters the host. */
  readonly pid: number;
  /** Runs argv inside the host's mount and UTS namespaces (no shell). Never rejects on a non-zero exit. */
  exec(argv: string[], opts?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Reads a file as the host sees it (e.g. "/etc/postfix/main.cf"). */
  readFile(pathInsideHost: string): string;
  /** Real-filesystem path for a path inside the host, when it lies under one of the host's own directories. */
  realPath(pathInsideHost: string): string;
  /** Real-filesystem path of the user's mbox (/var/mail/<user> inside the host). */
  mailboxPath(user: string): string;
  /** Convenience: the `ssh` argv (without the remote command) that logs into this host as root. */
  sshArgs(user?: string): string[];
}

export interface Lab {
  readonly name: string;
  /** The lab's directory on the real filesystem. */
  readonly dir: string;
  readonly hosts: LabHost[];
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  /** known_hosts with one line for every host. */
  readonly knownHostsPath: string;
  /** Milliseconds startLab took. */
  readonly startMs: number;
  /** Tears every host down and removes the lab directory. Idempotent. */
  stop(): Promise<void>;
}

/** Directories of a host, relative to its root, and where they appear inside the host. */
const BINDS: ReadonlyArray<readonly [string, string]> = [
  ["etc-postfix", "/etc/postfix"],
  ["spool", "/var/spool/postfix"],
  ["lib", "/var/lib/postfix"],
  ["mail", "/var/mail"],
  ["log", "/var/log"],
  ["run", "/run"],
  ["sudoers.d", "/etc/sudoers.d"],
  ["hosts", "/etc/hosts"],
];

// ---------------------------------------------------------------------------------------------
// small process helpers

interface RunResult extends ExecResult {
  signal: NodeJS.Signals | null;
}

function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], cwd: opts.cwd ?? "/" });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => undefined);
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code: code ?? 128,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.end(opts.input ?? "");
  });
}

async function runOk(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`lab: ${cmd} ${args.join(" ")} failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ""}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Process start time (clock ticks since boot), to tell a live owner from a recycled pid. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

interface Owner {
  pid: number;
  start?: string;
}

function selfOwner(): Owner {
  return { pid: process.pid, start: processStartTime(process.pid) };
}

function ownerAlive(o: Owner): boolean {
  const start = processStartTime(o.pid);
  return start !== undefined && (o.start === undefined || o.start === start);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}

function nsInode(pid: number): number | undefined {
  try {
    return fs.statSync(`/proc/${pid}/ns/mnt`).ino;
  } catch {
    return undefined;
  }
}

/** In /proc/PID/mountinfo of every lab host process: the bind of <host>/etc-postfix over /etc/postfix. */
const LAB_MOUNT_MARKER = "/etc-postfix /etc/postfix ";

/** Pids whose mount namespace is `ino` and whose mounts mention `marker` (guards against inode reuse). */
function pidsInNamespace(ino: number, marker: string): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    if (nsInode(pid) !== ino) continue;
    try {
      if (!fs.readFileSync(`/proc/${pid}/mountinfo`, "utf8").includes(marker)) continue;
    } catch {
      continue;
    }
    pids.push(pid);
  }
  return pids;
}

function killAll(pids: number[], signal: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      /* gone */
    }
  }
}

async function loAddresses(): Promise<Set<string>> {
  const out = await runOk("ip", ["-4", "-o", "addr", "show", "dev", "lo"]);
  const set = new Set<string>();
  for (const m of out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\/32/g)) set.add(m[1]);
  return set;
}

function portFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen({ port, host: address, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------------------------
// address reservations: /tmp/cdktf-postfix-lab/.addresses/127.0.0.N (O_EXCL), guarded by a lock dir

interface Reservation extends Owner {
  lab: string;
}

async function withAllocLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = path.join(LAB_BASE_DIR, ".alloc.lock");
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 15_000) fs.rmSync(lock, { recursive: true, force: true });
      } catch {
        /* raced */
      }
      if (Date.now() > deadline) throw new Error(`lab: could not take ${lock}`);
      await sleep(20);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

async function reserveAddresses(lab: string, count: number, first: number | undefined): Promise<number[]> {
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
      if (chosen.length < count) throw new Error(`lab: only ${chosen.length} free loopback addresses, ${count} wanted`);
    }
    const me: Reservation = { lab, ...selfOwner() };
    for (const n of chosen) fs.writeFileSync(path.join(RESERVATIONS_DIR, `127.0.0.${n}`), JSON.stringify(me), { flag: "wx" });
    return chosen;
  });
}

function releaseAddress(address: string, lab: string): void {
  const f = path.join(RESERVATIONS_DIR, address);
  const r = readJson<Reservation>(f);
  if (r && r.lab === lab) fs.rmSync(f, { force: true });
}

// ---------------------------------------------------------------------------------------------
// host files

interface HostRecord {
  name: string;
  address: string;
  addrAdded: boolean;
  supervisorPid?: number;
  nsIno?: number;
}

function mainCf(hostname: string, address: string): string {
  return `# Lab host ${hostname}: written by cdktf-postfix's lab (test/lab). Based on Debian 12's main.cf.
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no
append_dot_mydomain = no
readme_directory = no
compatibility_level = 3.6
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
myhostname = ${hostname}
mydomain = lab.test
myorigin = $myhostname
mydestination = $myhostname, localhost.localdomain, localhost
relayhost =
mynetworks = 127.0.0.0/8
mailbox_size_limit = 0
recipient_delimiter = +
inet_interfaces = ${address}
inet_protocols = ipv4
# The host's own aliases (the real /etc/aliases is shared by every host).
alias_maps = hash:/etc/postfix/aliases
alias_database = hash:/etc/postfix/aliases
# A plain log file, written by postlogd (service postlog in master.cf).
maillog_file = /var/log/mail.log
# No DNS here: do not look up client names (avoids resolver time-outs on 127.0.0.N).
smtpd_peername_lookup = no
smtp_host_lookup = native
# Mail never leaves a lab host. Override both to relay between lab hosts.
default_transport = error:lab host sends nowhere
relay_transport = error:lab host sends nowhere
`;
}

/** Debian's master.cf with chroot `n` everywhere (the lab host has no chroot jail set up). */
function masterCf(stock: string): string {
  const lines = stock.split("\n");
  return lines
    .map((line) => {
      if (line === "" || /^[\s#]/.test(line)) return line;
      const m = /^(\S+\s+\S+\s+\S+\s+\S+\s+)(\S+)(.*)$/.exec(line);
      return m ? `${m[1]}n${m[3]}` : line;
    })
    .join("\n");
}

function sshdConfig(h: { address: string; dir: string; labDir: string }): string {
  return `# Lab sshd for ${h.address}
ListenAddress ${h.address}:22
AddressFamily inet
HostKey ${h.dir}/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
AuthorizedKeysFile ${h.labDir}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 200:30:400
MaxSessions 100
Subsystem sftp internal-sftp
LogLevel ERROR
`;
}

function mkdirOwned(dir: string, mode: number, uid: number, gid: number): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.chownSync(dir, uid, gid);
  fs.chmodSync(dir, mode);
}

interface Ids {
  postfix: { uid: number; gid: number };
  postdropGid: number;
  mailGid: number;
}

async function lookupIds(): Promise<Ids> {
  const passwd = fs.readFileSync("/etc/passwd", "utf8");
  const group = fs.readFileSync("/etc/group", "utf8");
  const user = (n: string) => {
    const l = passwd.split("\n").find((x) => x.startsWith(`${n}:`));
    if (!l) throw new Error(`lab: user ${n} missing (is postfix installed?)`);
    const f = l.split(":");
    return { uid: Number(f[2]), gid: Number(f[3]) };
  };
  const grp = (n: string) => {
    const l = group.split("\n").find((x) => x.startsWith(`${n}:`));
    if (!l) throw new Error(`lab: group ${n} missing (is postfix installed?)`);
    return Number(l.split(":")[2]);
  };
  return { postfix: user("postfix"), postdropGid: grp("postdrop"), mailGid: grp("mail") };
}

/** Writes everything a host needs under `dir`. Synchronous file work, no processes. */
function prepareHostFiles(dir: string, hostname: string, address: string, ids: Ids, sudoUser: string | undefined): void {
  const pf = ids.postfix;
  fs.mkdirSync(dir, { recursive: true });
  // /etc/postfix: a copy of the stock one (dynamicmaps.cf, postfix-files, post-install, ...).
  const etc = path.join(dir, "etc-postfix");
  fs.cpSync("/etc/postfix", etc, { recursive: true, preserveTimestamps: true });
  fs.writeFileSync(path.join(etc, "main.cf"), mainCf(hostname, address));
  fs.writeFileSync(path.join(etc, "master.cf"), masterCf(fs.readFileSync("/etc/postfix/master.cf", "utf8")));
  fs.writeFileSync(path.join(etc, "aliases"), "# See man 5 aliases for format\npostmaster:    root\n");
  // Postfix sleeps ~2 s when main.cf is younger than 2 s: date the files back.
  const past = new Date(Date.now() - 60_000);
  for (const f of ["main.cf", "master.cf", "aliases"]) fs.utimesSync(path.join(etc, f), past, past);
  // Queue directory, as postfix-files describes it.
  const spool = path.join(dir, "spool");
  mkdirOwned(spool, 0o755, 0, 0);
  for (const d of ["active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private", "saved", "trace"]) {
    mkdirOwned(path.join(spool, d), 0o700, pf.uid, 0);
  }
  mkdirOwned(path.join(spool, "maildrop"), 0o1730, pf.uid, ids.postdropGid);
  mkdirOwned(path.join(spool, "public"), 0o2710, pf.uid, ids.postdropGid);
  mkdirOwned(path.join(spool, "pid"), 0o755, 0, 0);
  mkdirOwned(path.join(dir, "lib"), 0o700, pf.uid, pf.gid);
  mkdirOwned(path.join(dir, "mail"), 0o2775, 0, ids.mailGid);
  mkdirOwned(path.join(dir, "log"), 0o755, 0, 0);
  mkdirOwned(path.join(dir, "run"), 0o755, 0, 0);
  mkdirOwned(path.join(dir, "run", "sshd"), 0o755, 0, 0);
  mkdirOwned(path.join(dir, "run", "lock"), 0o1777, 0, 0);
  mkdirOwned(path.join(dir, "run", "user"), 0o755, 0, 0);
  fs.symlinkSync("/dev/shm", path.join(dir, "run", "shm"));
  mkdirOwned(path.join(dir, "ssh"), 0o700, 0, 0);
  if (sudoUser) {
    mkdirOwned(path.join(dir, "sudoers.d"), 0o755, 0, 0);
    const f = path.join(dir, "sudoers.d", "cdktf-postfix-lab");
    fs.writeFileSync(f, `${sudoUser} ALL=(ALL:ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
  }
}

function fingerprintOf(pubLine: string): string {
  const blob = Buffer.from(pubLine.trim().split(/\s+/)[1], "base64");
  return "SHA256:" + crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

// ---------------------------------------------------------------------------------------------
// readiness probes

/** Resolves with the first line the server sends, or rejects. */
function banner(address: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: address, port });
    let buf = "";
    const done = (e?: Error, line?: string) => {
      s.destroy();
      if (e) reject(e);
      else resolve(line ?? "");
    };
    s.setTimeout(timeoutMs, () => done(new Error("timeout")));
    s.on("error", (e) => done(e));
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      const i = buf.indexOf("\n");
      if (i >= 0) {
        // Say goodbye properly, so that neither daemon logs an error for the probe.
        s.write(port === 25 ? "QUIT\r\n" : "SSH-2.0-cdktf-postfix-lab-probe\r\n");
        done(undefined, buf.slice(0, i).replace(/\r$/, ""));
      }
    });
    s.on("close", () => done(new Error(`closed before a line: ${JSON.stringify(buf)}`)));
  });
}

async function waitReady(h: { address: string; hostname: string; alive: () => boolean }, deadline: number): Promise<void> {
  let last = "";
  const want = [
    { port: 25, ok: (l: string) => l.startsWith(`220 ${h.hostname} `) },
    { port: 22, ok: (l: string) => l.startsWith("SSH-2.0-") },
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

// ---------------------------------------------------------------------------------------------
// reaping labs whose owner died

const liveLabs = new Set<LabImpl>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort: TERM makes each supervisor tear its host down and delete its files.
  // (Closing our end of the supervisors' stdin at exit has the same effect even on SIGKILL.)
  process.on("exit", () => {
    for (const lab of liveLabs) lab.killSupervisorsSync();
  });
}

/** Tears down what is left of labs whose owning process is gone. Called by startLab. */
export async function reapStaleLabs(): Promise<string[]> {
  const reaped: string[] = [];
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(LAB_BASE_DIR);
  } catch {
    return reaped;
  }
  for (const e of entries) {
    if (e.startsWith(".")) continue;
    const labDir = path.join(LAB_BASE_DIR, e);
    const owner = readJson<Owner & { lab: string }>(path.join(labDir, "owner.json"));
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
      const rec = readJson<HostRecord>(path.join(grave, h, "host.json"));
      if (!rec) continue;
      if (rec.nsIno !== undefined) {
        killAll(pidsInNamespace(rec.nsIno, LAB_MOUNT_MARKER), "SIGKILL");
      }
      if (rec.addrAdded) addrs.push(rec.address);
      releaseAddress(rec.address, e);
    }
    const onLo = await loAddresses().catch(() => new Set<string>());
    for (const a of addrs) if (onLo.has(a)) await run("ip", ["addr", "del", `${a}/32`, "dev", "lo"]);
    fs.rmSync(grave, { recursive: true, force: true });
    reaped.push(e);
  }
  return reaped;
}

// ---------------------------------------------------------------------------------------------
// the lab

class HostImpl implements LabHost {
  readonly sshPort = 22 as const;
  readonly smtpPort = 25 as const;
  readonly user = "root" as const;
  readonly knownHostsPath: string;
  readonly mailLogPath: string;
  hostKeyFingerprint = "";
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
    this.knownHostsPath = path.join(root, "known_hosts");
    this.mailLogPath = path.join(root, "log", "mail.log");
  }

  exec(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    if (!this.pid || this.exited) return Promise.reject(new Error(`lab: ${this.name} is not running`));
    if (argv.length === 0) return Promise.reject(new Error("lab: exec needs a command"));
    return run("nsenter", ["-t", String(this.pid), "-m", "-u", "--", ...argv], opts).then(({ code, stdout, stderr }) => ({ code, stdout, stderr }));
  }

  realPath(p: string): string {
    const norm = path.posix.normalize(p);
    for (const [rel, inside] of BINDS) {
      if (norm === inside || norm.startsWith(inside + "/")) return path.join(this.root, rel, norm.slice(inside.length));
    }
    throw new Error(`lab: ${p} is not under one of the host's own directories (${BINDS.map((b) => b[1]).join(", ")})`);
  }

  readFile(p: string): string {
    if (this.pid && !this.exited) return fs.readFileSync(`/proc/${this.pid}/root${path.posix.normalize(p)}`, "utf8");
    return fs.readFileSync(this.realPath(p), "utf8");
  }

  mailboxPath(user: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(user)) throw new Error(`lab: bad user name ${user}`);
    return path.join(this.root, "mail", user);
  }

  sshArgs(user = "root"): string[] {
    return [
      "-i", this.privateKeyPath,
      "-o", `UserKnownHostsFile=${this.knownHostsPath}`,
      "-o", "StrictHostKeyChecking=yes",
      "-o", "BatchMode=yes",
      "-o", "LogLevel=ERROR",
      "-p", "22",
      `${user}@${this.address}`,
    ];
  }

  record(): HostRecord {
    return { name: this.name, address: this.address, addrAdded: this.addrAdded, supervisorPid: this.pid || undefined, nsIno: this.nsIno };
  }

  writeRecord(): void {
    fs.writeFileSync(path.join(this.root, "host.json"), JSON.stringify(this.record()));
  }
}

class LabImpl implements Lab {
  hosts: HostImpl[] = [];
  startMs = 0;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly dir: string,
  ) {}

  get privateKeyPath(): string {
    return path.join(this.dir, "id_ed25519");
  }
  get publicKeyPath(): string {
    return path.join(this.dir, "id_ed25519.pub");
  }
  get knownHostsPath(): string {
    return path.join(this.dir, "known_hosts");
  }

  killSupervisorsSync(): void {
    for (const h of this.hosts) {
      if (h.pid && !h.exited) {
        try {
          process.kill(h.pid, "SIGTERM");
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
        if (left.length) killAll(left, "SIGKILL");
      }
      if (h.addrAdded && onLo.has(h.address)) await run("ip", ["addr", "del", `${h.address}/32`, "dev", "lo"]);
      releaseAddress(h.address, this.name);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    liveLabs.delete(this);
  }

  private async stopHost(h: HostImpl): Promise<void> {
    const child = h.child;
    if (!child || h.exited) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    try {
      child.stdin?.write("stop\n");
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
      child.kill("SIGKILL");
      await exited;
    }
  }
}

let labCounter = 0;

async function ensureSudoUser(): Promise<string> {
  if (!fs.existsSync("/usr/bin/sudo") || !fs.existsSync("/etc/sudoers.d")) {
    throw new Error("lab: nonRootUser needs sudo (apt-get install -y sudo)");
  }
  const passwd = fs.readFileSync("/etc/passwd", "utf8");
  if (!passwd.split("\n").some((l) => l.startsWith(`${LAB_SUDO_USER}:`))) {
    const r = await run("useradd", ["--create-home", "--shell", "/bin/bash", LAB_SUDO_USER]);
    if (r.code !== 0 && r.code !== 9 /* exists: raced */) throw new Error(`lab: useradd ${LAB_SUDO_USER}: ${r.stderr.trim()}`);
  }
  // useradd leaves the account locked ("!"), and sshd (UsePAM no) refuses locked accounts even
  // for keys: set "*" (no password can match, but not locked).
  const shadow = fs.readFileSync("/etc/shadow", "utf8").split("\n").find((l) => l.startsWith(`${LAB_SUDO_USER}:`));
  if (shadow && shadow.split(":")[1].startsWith("!")) await runOk("usermod", ["-p", "*", LAB_SUDO_USER]);
  return LAB_SUDO_USER;
}

/** Starts `count` isolated mail hosts. Needs root. */
export async function startLab(opts: StartLabOptions): Promise<Lab> {
  const t0 = Date.now();
  const count = opts.count;
  if (!Number.isInteger(count) || count < 1 || count > 200) throw new Error(`lab: count must be 1..200, got ${count}`);
  if (process.getuid && process.getuid() !== 0) throw new Error("lab: must run as root (mount namespaces, bind mounts, ip addr)");
  const name = opts.name ?? `lab-${process.pid}-${++labCounter}-${crypto.randomBytes(3).toString("hex")}`;
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new Error(`lab: bad lab name ${name}`);

  fs.mkdirSync(RESERVATIONS_DIR, { recursive: true, mode: 0o755 });
  await reapStaleLabs();
  const dir = path.join(LAB_BASE_DIR, name);
  fs.mkdirSync(dir, { mode: 0o755 }); // fails if a live lab has this name
  const lab = new LabImpl(name, dir);
  liveLabs.add(lab);
  installExitHook();
  fs.writeFileSync(path.join(dir, "owner.json"), JSON.stringify({ lab: name, ...selfOwner() }));

  try {
    const sudoUser = opts.nonRootUser ? await ensureSudoUser() : undefined;
    const [numbers, ids] = await Promise.all([reserveAddresses(name, count, opts.firstAddress), lookupIds()]);
    lab.hosts = numbers.map((n, i) => {
      const hn = `host${i + 1}`;
      return new HostImpl(hn, `${hn}.lab.test`, `127.0.0.${n}`, path.join(dir, hn), lab.privateKeyPath, sudoUser);
    });

    // Keys: one client key for the lab, one ed25519 host key per host, all generated in parallel.
    const keygen = (file: string, comment: string) => runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
    for (const h of lab.hosts) {
      prepareHostFiles(h.root, h.hostname, h.address, ids, sudoUser);
      fs.writeFileSync(path.join(h.root, "ssh", "sshd_config"), sshdConfig({ address: h.address, dir: h.root, labDir: dir }));
      h.writeRecord();
    }
    await Promise.all([
      keygen(lab.privateKeyPath, `lab@${name}`),
      ...lab.hosts.map((h) => keygen(path.join(h.root, "ssh", "ssh_host_ed25519_key"), `root@${h.hostname}`)),
    ]);
    fs.copyFileSync(lab.publicKeyPath, path.join(dir, "authorized_keys"));
    const khLines: string[] = [];
    for (const h of lab.hosts) {
      const pub = fs.readFileSync(path.join(h.root, "ssh", "ssh_host_ed25519_key.pub"), "utf8").trim().split(/\s+/);
      const line = `${h.address} ${pub[0]} ${pub[1]}\n`;
      fs.writeFileSync(h.knownHostsPath, line);
      khLines.push(line);
      h.hostKeyFingerprint = fingerprintOf(line.slice(h.address.length + 1));
    }
    fs.writeFileSync(lab.knownHostsPath, khLines.join(""));
    // Each host's own /etc/hosts (a file bind mount): its name resolves (sudo wants that), and so do
    // the other lab hosts' names, for relaying between lab hosts without DNS.
    const hostsFile =
      "127.0.0.1\tlocalhost\n" + lab.hosts.map((h) => `${h.address}\t${h.hostname} ${h.name}\n`).join("");
    for (const h of lab.hosts) fs.writeFileSync(path.join(h.root, "hosts"), hostsFile);

    // Addresses on lo, in one `ip -batch`.
    const onLo = await loAddresses();
    const toAdd = lab.hosts.filter((h) => !onLo.has(h.address));
    if (toAdd.length) {
      for (const h of toAdd) h.addrAdded = true;
      await runOk("ip", ["-batch", "-"], { input: toAdd.map((h) => `addr add ${h.address}/32 dev lo\n`).join("") });
    }

    // Supervisors, all at once; then wait until every host answers.
    await Promise.all(lab.hosts.map((h) => spawnSupervisor(h, name)));
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    await Promise.all(lab.hosts.map((h) => waitReady({ address: h.address, hostname: h.hostname, alive: () => !h.exited }, deadline)));
  } catch (e) {
    const logs = lab.hosts
      .map((h) => {
        try {
          return `--- ${h.name} supervisor.log:\n${fs.readFileSync(path.join(h.root, "supervisor.log"), "utf8").slice(-2000)}`;
        } catch {
          return "";
        }
      })
      .filter(Boolean)
      .join("\n");
    await lab.stop().catch(() => undefined);
    const err = e as Error;
    err.message += logs ? `\n${logs}` : "";
    throw err;
  }
  lab.startMs = Date.now() - t0;
  return lab;
}

function spawnSupervisor(h: HostImpl, labName: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const logFd = fs.openSync(path.join(h.root, "supervisor.log"), "a");
    const child = spawn("unshare", ["--mount", "--uts", "--propagation", "private", "--", "/bin/bash", "-c", SUPERVISOR_SCRIPT], {
      cwd: "/",
      detached: true, // own process group: a terminal's Ctrl-C reaches only our owner, which stops us in order
      stdio: ["pipe", "pipe", logFd],
      env: {
        PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        LANG: "C.UTF-8",
        LAB_HOST_DIR: h.root,
        LAB_ADDR: h.address,
        LAB_HOSTNAME: h.hostname,
        LAB_ADDR_ADDED: h.addrAdded ? "1" : "0",
        LAB_SUDOERS: h.sudoUser ? "1" : "0",
        LAB_RESERVATION: path.join(RESERVATIONS_DIR, h.address),
        LAB_NAME: labName,
      },
    });
    fs.closeSync(logFd);
    h.child = child;
    child.stdin!.on("error", () => undefined);
    let out = "";
    let started = false;
    child.on("error", (e) => {
      h.exited = true;
      if (!started) reject(e);
    });
    child.on("exit", (code, signal) => {
      h.exited = true;
      if (!started) reject(new Error(`lab: ${h.name} supervisor exited (${code ?? signal}) before starting`));
    });
    child.stdout!.on("data", (d: Buffer) => {
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
  const lab = await startLab(typeof countOrOpts === "number" ? { count: countOrOpts } : countOrOpts);
  try {
    return await fn(lab);
  } finally {
    await lab.stop();
  }
}
