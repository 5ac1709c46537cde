/** The lab's public shapes and fixed places (addresses, directories, the sudo user). */
import * as path from 'node:path';

export const LAB_BASE_DIR = '/tmp/cdktf-postfix-lab';
export const RESERVATIONS_DIR = path.join(LAB_BASE_DIR, '.addresses');
export const DEFAULT_FIRST_ADDRESS = 20;
export const LAST_ADDRESS = 254;
export const LAB_SUDO_USER = 'mailops';

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
  readonly user: 'root';
  /** Set when the lab was started with nonRootUser: a user with passwordless sudo inside the host. */
  readonly sudoUser?: string;
  /** The lab's client private key (ed25519, no passphrase), authorized for root on every host. */
  readonly privateKeyPath: string;
  /** known_hosts with this host's single line `127.0.0.N ssh-ed25519 AAAA...`. */
  readonly knownHostsPath: string;
  /** `SHA256:...` of the host's ed25519 key, as `ssh-keygen -lf` prints it. */
  readonly hostKeyFingerprint: string;
  /** The host's ed25519 public key line (`ssh-ed25519 AAAA... root@host1.lab.test`), known before the host starts. */
  readonly hostPublicKey: string;
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

/**
 * A lab whose hosts are not running yet (prepareLab): addresses reserved, host keys generated,
 * known_hosts written. The hosts' exec/readFile work only after start().
 */
export interface PreparedLab extends Omit<Lab, 'startMs'> {
  /** Brings every host up and waits until each answers SMTP 220 and the SSH banner. Once only; later calls return the same lab. */
  start(opts?: { readyTimeoutMs?: number }): Promise<Lab>;
}

/** Directories of a host, relative to its root, and where they appear inside the host. */
export const BINDS: ReadonlyArray<readonly [string, string]> = [
  ['etc-postfix', '/etc/postfix'],
  ['spool', '/var/spool/postfix'],
  ['lib', '/var/lib/postfix'],
  ['mail', '/var/mail'],
  ['log', '/var/log'],
  ['run', '/run'],
  ['sudoers.d', '/etc/sudoers.d'],
  ['hosts', '/etc/hosts'],
];
