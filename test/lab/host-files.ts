/** The files of one lab host: main.cf, master.cf, sshd_config, keys, owned directories. */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface HostRecord {
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
  const lines = stock.split('\n');
  return lines
    .map((line) => {
      if (line === '' || /^[\s#]/.test(line)) return line;
      const m = /^(\S+\s+\S+\s+\S+\s+\S+\s+)(\S+)(.*)$/.exec(line);
      return m ? `${m[1]}n${m[3]}` : line;
    })
    .join('\n');
}

export function sshdConfig(h: { address: string; dir: string; labDir: string }): string {
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

export function lookupIds(): Ids {
  const passwd = fs.readFileSync('/etc/passwd', 'utf8');
  const group = fs.readFileSync('/etc/group', 'utf8');
  const user = (n: string) => {
    const l = passwd.split('\n').find((x) => x.startsWith(`${n}:`));
    if (!l) throw new Error(`lab: user ${n} missing (is postfix installed?)`);
    const f = l.split(':');
    return { uid: Number(f[2]), gid: Number(f[3]) };
  };
  const grp = (n: string) => {
    const l = group.split('\n').find((x) => x.startsWith(`${n}:`));
    if (!l) throw new Error(`lab: group ${n} missing (is postfix installed?)`);
    return Number(l.split(':')[2]);
  };
  return { postfix: user('postfix'), postdropGid: grp('postdrop'), mailGid: grp('mail') };
}

/** Writes everything a host needs under `dir`. Synchronous file work, no processes. */
export function prepareHostFiles(dir: string, hostname: string, address: string, ids: Ids, sudoUser: string | undefined): void {
  const pf = ids.postfix;
  fs.mkdirSync(dir, { recursive: true });
  // /etc/postfix: a copy of the stock one (dynamicmaps.cf, postfix-files, post-install, ...).
  const etc = path.join(dir, 'etc-postfix');
  fs.cpSync('/etc/postfix', etc, { recursive: true, preserveTimestamps: true });
  fs.writeFileSync(path.join(etc, 'main.cf'), mainCf(hostname, address));
  fs.writeFileSync(path.join(etc, 'master.cf'), masterCf(fs.readFileSync('/etc/postfix/master.cf', 'utf8')));
  fs.writeFileSync(path.join(etc, 'aliases'), '# See man 5 aliases for format\npostmaster:    root\n');
  // Postfix sleeps ~2 s when main.cf is younger than 2 s: date the files back.
  const past = new Date(Date.now() - 60_000);
  for (const f of ['main.cf', 'master.cf', 'aliases']) fs.utimesSync(path.join(etc, f), past, past);
  // Queue directory, as postfix-files describes it.
  const spool = path.join(dir, 'spool');
  mkdirOwned(spool, 0o755, 0, 0);
  for (const d of ['active', 'bounce', 'corrupt', 'defer', 'deferred', 'flush', 'hold', 'incoming', 'private', 'saved', 'trace']) {
    mkdirOwned(path.join(spool, d), 0o700, pf.uid, 0);
  }
  mkdirOwned(path.join(spool, 'maildrop'), 0o1730, pf.uid, ids.postdropGid);
  mkdirOwned(path.join(spool, 'public'), 0o2710, pf.uid, ids.postdropGid);
  mkdirOwned(path.join(spool, 'pid'), 0o755, 0, 0);
  mkdirOwned(path.join(dir, 'lib'), 0o700, pf.uid, pf.gid);
  mkdirOwned(path.join(dir, 'mail'), 0o2775, 0, ids.mailGid);
  mkdirOwned(path.join(dir, 'log'), 0o755, 0, 0);
  mkdirOwned(path.join(dir, 'run'), 0o755, 0, 0);
  mkdirOwned(path.join(dir, 'run', 'sshd'), 0o755, 0, 0);
  mkdirOwned(path.join(dir, 'run', 'lock'), 0o1777, 0, 0);
  mkdirOwned(path.join(dir, 'run', 'user'), 0o755, 0, 0);
  fs.symlinkSync('/dev/shm', path.join(dir, 'run', 'shm'));
  mkdirOwned(path.join(dir, 'ssh'), 0o700, 0, 0);
  if (sudoUser) {
    mkdirOwned(path.join(dir, 'sudoers.d'), 0o755, 0, 0);
    const f = path.join(dir, 'sudoers.d', 'cdktf-postfix-lab');
    fs.writeFileSync(f, `${sudoUser} ALL=(ALL:ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
  }
}

export function fingerprintOf(pubLine: string): string {
  const blob = Buffer.from(pubLine.trim().split(/\s+/)[1], 'base64');
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}
