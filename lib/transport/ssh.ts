import { existsSync, readFileSync } from 'fs';
import { homedir } from 'os';
import { join } from 'path';
import { Client, ConnectConfig } from 'ssh2';
import SSHConfig from 'ssh-config';
import { ConnectionSpec } from '../model/connection';
import { HostKeyPolicy, knownKeyTypes, verifyHostKey } from './known-hosts';

export class SshError extends Error {
  constructor(message: string, public readonly kind: 'hostkey' | 'auth' | 'network' | 'remote' = 'network') {
    super(message);
    this.name = 'SshError';
  }
}

/** A connection spec with ~/.ssh/config applied and defaults filled in. */
export interface ResolvedConnection {
  readonly label: string;
  readonly hostName: string;
  readonly port: number;
  readonly user: string;
  readonly privateKeyPath?: string;
  readonly agent?: string;
  readonly knownHostsPath: string;
  readonly fingerprint?: string;
  readonly sudo: boolean;
  readonly aliases: string[];
  readonly jump?: ResolvedConnection;
}

export function expandHome(p: string): string {
  return p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p;
}

/** Apply ~/.ssh/config (HostName, Port, User, IdentityFile, UserKnownHostsFile) the way ssh would. */
export function resolveConnection(spec: ConnectionSpec, env: NodeJS.ProcessEnv = process.env, sshConfigPath = env.CDKTF_POSTFIX_SSH_CONFIG ?? join(homedir(), '.ssh', 'config')): ResolvedConnection {
  let computed: Record<string, string | string[]> = {};
  if (existsSync(sshConfigPath)) {
    computed = SSHConfig.parse(readFileSync(sshConfigPath, 'utf8')).compute(spec.host) as unknown as Record<string, string | string[]>;
  }
  const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
  const hostName = first(computed.HostName) ?? spec.host;
  const port = Number(spec.port ?? first(computed.Port) ?? 22);
  const user = spec.user ?? first(computed.User) ?? 'root';
  const identity = spec.privateKeyPath ?? first(computed.IdentityFile);
  const knownHosts = spec.knownHostsPath ?? first(computed.UserKnownHostsFile) ?? join(homedir(), '.ssh', 'known_hosts');
  const sudo = spec.sudo === undefined ? user !== 'root' : spec.sudo === true || spec.sudo === 'yes' || spec.sudo === 'true';
  const jumpSpec = spec.jumpHost ?? jumpFromConfig(first(computed.ProxyJump));
  return {
    label: spec.port && Number(spec.port) !== 22 ? `${spec.host}:${spec.port}` : spec.host,
    hostName,
    port,
    user,
    privateKeyPath: identity ? expandHome(identity) : undefined,
    agent: identity ? undefined : env.SSH_AUTH_SOCK,
    knownHostsPath: expandHome(knownHosts),
    fingerprint: spec.hostKeyFingerprint,
    sudo,
    aliases: hostName !== spec.host ? [hostName] : [],
    jump: jumpSpec ? resolveConnection({ knownHostsPath: spec.knownHostsPath, ...jumpSpec, sudo: false }, env, sshConfigPath) : undefined,
  };
}

function jumpFromConfig(proxyJump: string | undefined): ConnectionSpec | undefined {
  if (!proxyJump || proxyJump === 'none') return undefined;
  const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(proxyJump.split(',')[0]);
  return m ? { host: m[2], user: m[1], port: m[3] } : undefined;
}

/** A running command whose stdout is a stream (flow-controlled by its reader). */
export interface ExecStream {
  readonly stdout: NodeJS.ReadableStream;
  /** Settles when the command has exited (exit code, stderr text up to 64 KiB). */
  readonly done: Promise<{ code: number; stderr: string }>;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** ssh2's names for the host key algorithms that can produce a key of a known_hosts key type. */
function hostKeyAlgorithms(types: string[]): string[] | undefined {
  if (types.length === 0) return undefined;
  const out: string[] = [];
  for (const t of types) out.push(...(t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
  return out;
}

/**
 * One SSH connection to one host. The host key is checked inside the handshake, before any
 * authentication or command is sent; an unknown or changed key ends the connection there.
 */
export class SshSession {
  private constructor(private readonly client: Client, private readonly jumpClient: Client | undefined, readonly target: ResolvedConnection) {}

  static async connect(target: ResolvedConnection, timeoutMs = 20000): Promise<SshSession> {
    let jumpClient: Client | undefined;
    let sock: NodeJS.ReadableStream | undefined;
    if (target.jump) {
      jumpClient = await openClient(target.jump, undefined, timeoutMs);
      sock = await new Promise<NodeJS.ReadableStream>((resolve, reject) => {
        jumpClient!.forwardOut('127.0.0.1', 0, target.hostName, target.port, (err, stream) => (err ? reject(new SshError(`jump host ${target.jump!.label} could not reach ${target.hostName}:${target.port}: ${err.message}`)) : resolve(stream)));
      });
    }
    try {
      const client = await openClient(target, sock, timeoutMs);
      return new SshSession(client, jumpClient, target);
    } catch (e) {
      jumpClient?.end();
      throw e;
    }
  }

  /**
   * Run a fixed command string. Callers pass constants only: data goes through stdin, never into
   * the command line. With sudo, the command runs through `sudo -n` (no password prompt, ever).
   */
  exec(command: string, stdin?: Buffer | string | NodeJS.ReadableStream, onStdoutLine?: (line: string) => void): Promise<ExecResult> {
    const full = this.target.sudo ? `sudo -n ${command}` : command;
    return new Promise((resolve, reject) => {
      this.client.exec(full, (err, stream) => {
        if (err) return reject(new SshError(`${this.target.label}: cannot run a command: ${err.message}`));
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let pending = '';
        stream.on('data', (d: Buffer) => {
          out.push(d);
          if (onStdoutLine) {
            pending += d.toString('utf8');
            let i: number;
            while ((i = pending.indexOf('\n')) >= 0) {
              onStdoutLine(pending.slice(0, i));
              pending = pending.slice(i + 1);
            }
          }
        });
        stream.stderr.on('data', (d: Buffer) => errOut.push(d));
        let code: number | null = null;
        stream.on('exit', (c: number | null) => (code = c));
        stream.on('close', () => {
          if (onStdoutLine && pending) onStdoutLine(pending);
          resolve({ code: code ?? 255, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8') });
        });
        stream.on('error', (e: Error) => reject(new SshError(`${this.target.label}: ${e.message}`)));
        if (stdin === undefined) stream.end();
        else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) stream.end(stdin);
        else {
          stdin.on('error', (e: Error) => {
            stream.close();
            reject(new SshError(`${this.target.label}: ${e.message}`));
          });
          stdin.pipe(stream);
        }
      });
    });
  }

  /** Like exec, for output too large to hold: stdout arrives as a stream. Same constant-command rule. */
  execStream(command: string, stdin?: string): Promise<ExecStream> {
    const full = this.target.sudo ? `sudo -n ${command}` : command;
    return new Promise((resolve, reject) => {
      this.client.exec(full, (err, channel) => {
        if (err) return reject(new SshError(`${this.target.label}: cannot run a command: ${err.message}`));
        let stderr = '';
        channel.stderr.on('data', (d: Buffer) => {
          if (stderr.length < 65536) stderr += d.toString('utf8');
        });
        const done = new Promise<{ code: number; stderr: string }>((res, rej) => {
          let code: number | null = null;
          channel.on('exit', (c: number | null) => (code = c));
          channel.on('close', () => res({ code: code ?? 255, stderr }));
          channel.on('error', (e: Error) => rej(new SshError(`${this.target.label}: ${e.message}`)));
        });
        done.catch(() => undefined);
        if (stdin === undefined) channel.end();
        else channel.end(stdin);
        resolve({ stdout: channel, done });
      });
    });
  }

  close(): void {
    this.client.end();
    this.jumpClient?.end();
  }
}

function openClient(target: ResolvedConnection, sock: NodeJS.ReadableStream | undefined, timeoutMs: number): Promise<Client> {
  const policy: HostKeyPolicy = { host: target.label.replace(/:\d+$/, ''), port: target.port, fingerprint: target.fingerprint, knownHostsPath: target.knownHostsPath, aliases: target.aliases };
  let refusal: string | undefined;
  const config: ConnectConfig = {
    host: sock ? undefined : target.hostName,
    port: sock ? undefined : target.port,
    sock: sock as ConnectConfig['sock'],
    username: target.user,
    readyTimeout: timeoutMs,
    keepaliveInterval: 0,
    hostVerifier: (key: Buffer) => {
      const verdict = verifyHostKey(policy, key);
      if (!verdict.ok) refusal = verdict.message;
      return verdict.ok;
    },
  };
  const algorithms = hostKeyAlgorithms(knownKeyTypes(policy));
  if (algorithms) config.algorithms = { serverHostKey: algorithms as never };
  if (target.privateKeyPath) {
    try {
      config.privateKey = readFileSync(target.privateKeyPath);
    } catch (e) {
      return Promise.reject(new SshError(`${target.label}: cannot read private key ${target.privateKeyPath}: ${(e as Error).message}. Fix: point privateKeyPath at a readable key file, or leave it unset to use ssh-agent`, 'auth'));
    }
    if (process.env.CDKTF_POSTFIX_KEY_PASSPHRASE) config.passphrase = process.env.CDKTF_POSTFIX_KEY_PASSPHRASE;
  } else if (target.agent) {
    config.agent = target.agent;
  } else {
    return Promise.reject(new SshError(`${target.label}: no private key and no ssh-agent (SSH_AUTH_SOCK is unset). Fix: set privateKeyPath, or start ssh-agent and ssh-add your key`, 'auth'));
  }
  return new Promise((resolve, reject) => {
    const client = new Client();
    // Without Nagle's algorithm: the handshake is many small packets, and on a quiet link Nagle
    // plus delayed ACKs stalls each round trip by tens of milliseconds.
    client.once('connect', () => client.setNoDelay(true));
    client.once('ready', () => resolve(client));
    client.once('error', (err: Error & { level?: string }) => {
      client.end();
      if (refusal) return reject(new SshError(refusal, 'hostkey'));
      if (err.level === 'client-authentication') return reject(new SshError(`${target.label}: authentication as ${target.user} failed (${target.privateKeyPath ? `key ${target.privateKeyPath}` : 'ssh-agent'}). Fix: check the user and that its key is in the host's authorized_keys`, 'auth'));
      reject(new SshError(`${target.label}: ${err.message}`));
    });
    client.connect(config);
  });
}
