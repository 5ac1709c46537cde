import { readFileSync } from 'fs';
import { connect as tcpConnect } from 'net';
import { Duplex } from 'stream';
import { Client, ConnectConfig } from 'ssh2';
import { CdktfPostfixError } from '../errors';
import { fileProblem } from '../files';
import { CONNECTION_ENV } from '../model/connection';
import { KEEPALIVE_COUNT_MAX, ResolvedConnection } from './connection';
import { fetchHostCertificate } from '../transport/cert-fetch';
import { HostCertificate, parseHostCertificate } from '../transport/host-cert';
import { withSshWait } from '../transport/ssh-wait';
import { connectPacketSocket } from './packet-socket';
import { signFirstLogin, skipHostKeyProofs } from './ssh2-internals';
import { sudoRefusal } from './sudo';
import { HostKeyPolicy, keyTypeOf, knownKeyTypes, trustedByCertificateOnly, verifyHostKey } from './known-hosts';

export class SshError extends CdktfPostfixError {
  constructor(
    message: string,
    public readonly kind: 'hostkey' | 'auth' | 'network' | 'timeout' | 'remote' = 'network',
    public readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
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
  /** Set when the connection dies under a running session (keepalive timeout, reset). */
  private failure?: SshError;

  private constructor(
    private readonly client: Client,
    private readonly jumpClient: Client | undefined,
    readonly target: ResolvedConnection,
  ) {
    // After 'ready', ssh2 reports a dead link (e.g. "Keepalive timeout") as an 'error' event.
    const onError = (err: Error & { level?: string }) => {
      this.failure ??=
        err.level === 'client-timeout'
          ? new SshError(
              `${target.label}: the host stopped answering (${KEEPALIVE_COUNT_MAX} keepalives ${target.keepaliveMs / 1000} s apart went unanswered). Fix: check the network path to ${target.hostName}:${target.port}; raise connection.keepaliveSeconds (${CONNECTION_ENV.keepaliveSeconds}) on a slow link`,
              'timeout',
            )
          : new SshError(`${target.label}: connection lost: ${err.message}`);
    };
    client.on('error', onError);
    jumpClient?.on('error', onError);
  }

  /**
   * Connect, retrying (with backoff, progress on stderr) while the host is not reachable yet, for
   * up to target.waitTimeoutMs. Host key and authentication failures are never retried.
   */
  static connect(target: ResolvedConnection, opts: { progress?: (line: string) => void } = {}): Promise<SshSession> {
    return withSshWait(
      target,
      () => SshSession.connectOnce(target),
      (e) => (e instanceof SshError && (e.kind === 'network' || e.kind === 'timeout') ? waitReason(e) : undefined),
      opts.progress,
    );
  }

  private static async connectOnce(target: ResolvedConnection): Promise<SshSession> {
    let jumpClient: Client | undefined;
    if (target.jump) jumpClient = await openClient(target.jump, () => dialDirect(target.jump!));
    try {
      const client = await openClient(target, jumpClient ? () => dialThrough(jumpClient, target) : () => dialDirect(target));
      return new SshSession(client, jumpClient, target);
    } catch (e) {
      jumpClient?.end();
      throw e;
    }
  }

  /** The command as run (with sudo -n) and a short name for it in messages. */
  private command(command: string): { full: string; short: string } {
    const full = this.target.sudo ? `sudo -n ${command}` : command;
    return { full, short: command.length > 60 ? `${command.slice(0, 57)}...` : command };
  }

  /**
   * Ends a command that runs past the connection's command timeout: onTimeout gets an error naming
   * the host, the command and the fix at once; the channel is signalled (sshd forwards it to the
   * command where it can) and closed. A command that ignores both may run on until it exits.
   */
  private commandTimer(
    channel: { signal(name: string): unknown; close(): unknown },
    short: string,
    onTimeout: (e: SshError) => void,
  ): NodeJS.Timeout {
    const limit = this.target.commandTimeoutMs;
    return setTimeout(() => {
      try {
        channel.signal('KILL');
      } catch {
        // older servers do not take signals; closing the channel still ends our side
      }
      channel.close();
      onTimeout(
        new SshError(
          `${this.target.label}: command "${short}" did not finish within ${limit / 1000} s (command timeout); the channel was closed and a KILL signal sent (a server that ignores channel signals may leave the command running). Fix: find out what it waits for on the host, or raise connection.commandTimeoutSeconds (${CONNECTION_ENV.commandTimeoutSeconds})`,
          'timeout',
        ),
      );
    }, limit);
  }

  /**
   * Run a fixed command string. Callers pass constants only: data goes through stdin, never into
   * the command line. With sudo, the command runs through `sudo -n` (no password prompt, ever).
   */
  exec(command: string, stdin?: Buffer | string | NodeJS.ReadableStream, onStdoutLine?: (line: string) => void): Promise<ExecResult> {
    const { full, short } = this.command(command);
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.client.exec(full, (err, stream) => {
        if (err) return reject(this.failure ?? new SshError(`${this.target.label}: cannot run a command: ${err.message}`));
        const timer = this.commandTimer(stream, short, reject);
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
          clearTimeout(timer);
          if (onStdoutLine && pending) onStdoutLine(pending);
          if (this.failure) return reject(this.failure);
          const stderr = Buffer.concat(errOut).toString('utf8');
          const refused = sudoRefusal(this.target, code ?? 255, stderr);
          if (refused) return reject(new SshError(refused, 'auth'));
          resolve({ code: code ?? 255, stdout: Buffer.concat(out).toString('utf8'), stderr });
        });
        stream.on('error', (e: Error) => reject(new SshError(`${this.target.label}: ${e.message}`, 'network', undefined, { cause: e })));
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
    const { full, short } = this.command(command);
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.client.exec(full, (err, channel) => {
        if (err) return reject(this.failure ?? new SshError(`${this.target.label}: cannot run a command: ${err.message}`));
        let timedOut: ((e: SshError) => void) | undefined;
        const timer = this.commandTimer(channel, short, (e) => timedOut?.(e));
        let stderr = '';
        channel.stderr.on('data', (d: Buffer) => {
          if (stderr.length < 65536) stderr += d.toString('utf8');
        });
        const done = new Promise<{ code: number; stderr: string }>((res, rej) => {
          timedOut = rej;
          let code: number | null = null;
          channel.on('exit', (c: number | null) => (code = c));
          channel.on('close', () => {
            clearTimeout(timer);
            if (this.failure) return rej(this.failure);
            const refused = sudoRefusal(this.target, code ?? 255, stderr);
            if (refused) return rej(new SshError(refused, 'auth'));
            res({ code: code ?? 255, stderr });
          });
          channel.on('error', (e: Error) => rej(new SshError(`${this.target.label}: ${e.message}`, 'network', undefined, { cause: e })));
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

/** A short reason for the wait-for-SSH progress line. */
function waitReason(e: SshError): string {
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    EHOSTUNREACH: 'no route to host',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'name not found',
    EAI_AGAIN: 'name not found yet',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'timed out',
  };
  return reasons[e.code ?? ''] ?? e.message.replace(/^[^:]*:\s*/, '').slice(0, 80);
}

type Dial = () => Promise<Duplex>;

/** A TCP connection to the target (used for the certificate scan; ssh2 dials its own). */
function dialDirect(target: ResolvedConnection): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const sock = tcpConnect({ host: target.hostName, port: target.port });
    sock.setTimeout(target.connectTimeoutMs, () => sock.destroy(Object.assign(new Error('TCP connect timed out'), { code: 'ETIMEDOUT' })));
    sock.once('connect', () => {
      sock.setTimeout(0);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}

function dialThrough(jumpClient: Client, target: ResolvedConnection): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    jumpClient.forwardOut('127.0.0.1', 0, target.hostName, target.port, (err, stream) =>
      err
        ? reject(new SshError(`jump host ${target.jump!.label} could not reach ${target.hostName}:${target.port}: ${err.message}`))
        : resolve(stream),
    );
  });
}

/** What a failed attempt was doing, for the timeout message. */
type Phase = 'TCP connect' | 'SSH handshake' | 'login';

/**
 * When only a @cert-authority line can vouch for the host, fetch its certificate on a side
 * connection (see cert-fetch.ts). Undefined when not needed or when the host offers none.
 */
async function hostCertificateFor(target: ResolvedConnection, policy: HostKeyPolicy, dial: Dial): Promise<HostCertificate | undefined> {
  if (!trustedByCertificateOnly(policy)) return undefined;
  let blob: Buffer | undefined;
  try {
    blob = await fetchHostCertificate(await dial(), target.connectTimeoutMs);
  } catch (e) {
    if (e instanceof SshError) throw e;
    const err = e as Error & { code?: string };
    throw new SshError(`${target.label}: ${err.message}`, /timed out|within/.test(err.message) ? 'timeout' : 'network', err.code, {
      cause: e,
    });
  }
  if (!blob) return undefined;
  try {
    return parseHostCertificate(blob);
  } catch (e) {
    throw new SshError(
      `${target.label}: the host's certificate cannot be read: ${(e as Error).message}. Fix: re-issue it with ssh-keygen -s CA_KEY -h`,
      'hostkey',
      undefined,
      { cause: e },
    );
  }
}

/**
 * ssh2's config for the login: the key file, else the agent. The method is named (authHandler), so
 * the login starts with it: left to itself, ssh2 first tries "none" to learn the server's methods,
 * one more round trip on every connection.
 */
function authConfig(target: ResolvedConnection): Partial<ConnectConfig> {
  if (target.privateKeyPath) {
    let privateKey: Buffer;
    try {
      privateKey = readFileSync(target.privateKeyPath);
    } catch (e) {
      throw new SshError(
        `${target.label}: cannot read private key ${target.privateKeyPath} (${fileProblem(e)}). Fix: point privateKeyPath at a readable key file, or leave it unset to use ssh-agent`,
        'auth',
        undefined,
        { cause: e },
      );
    }
    return { privateKey, ...(target.passphrase ? { passphrase: target.passphrase } : {}), authHandler: ['publickey'] };
  }
  if (target.agent) return { agent: target.agent, authHandler: ['agent'] };
  throw new SshError(
    `${target.label}: no private key and no ssh-agent (SSH_AUTH_SOCK is unset). Fix: set privateKeyPath, or start ssh-agent and ssh-add your key`,
    'auth',
  );
}

async function openClient(target: ResolvedConnection, dial: Dial): Promise<Client> {
  const policy: HostKeyPolicy = {
    host: target.name,
    port: target.port,
    fingerprint: target.fingerprint,
    hostKey: target.hostKey,
    knownHostsPath: target.knownHostsPath,
    aliases: target.aliases,
  };
  const auth = authConfig(target);
  const certificate = await hostCertificateFor(target, policy, dial);
  let refusal: string | undefined;
  const config: ConnectConfig = {
    ...auth,
    username: target.user,
    readyTimeout: 0, // our own timer below covers TCP connect, handshake and login together
    keepaliveInterval: target.keepaliveMs,
    keepaliveCountMax: KEEPALIVE_COUNT_MAX,
    hostVerifier: (key: Buffer) => {
      const verdict = verifyHostKey(policy, key, certificate);
      if (!verdict.ok) refusal = verdict.message;
      return verdict.ok;
    },
  };
  const algorithms = hostKeyAlgorithms(certificate ? [keyTypeOf(certificate.keyBlob)] : knownKeyTypes(policy));
  if (algorithms) config.algorithms = { serverHostKey: algorithms as never };
  if (target.jump) config.sock = await dial();
  return new Promise((resolve, reject) => {
    const client = new Client();
    // Dialled here rather than by ssh2, so that each turn's packets leave in one segment.
    if (!target.jump) config.sock = connectPacketSocket(target.hostName, target.port);
    let phase: Phase = 'TCP connect';
    const fail = (e: SshError) => {
      clearTimeout(timer);
      client.removeAllListeners('ready');
      client.on('error', () => undefined);
      client.end();
      // A socket still connecting would wait out the kernel's SYN retries (about two minutes),
      // keeping the process alive after the error is reported.
      (config.sock as Duplex | undefined)?.destroy();
      reject(e);
    };
    const timer = setTimeout(
      () =>
        fail(
          new SshError(
            `${target.label}: no SSH session within ${target.connectTimeoutMs / 1000} s: timed out in the ${phase}${phase === 'SSH handshake' ? ' (the port accepts TCP, but no SSH server answers)' : ''}. Fix: check that the host is up and sshd listens on ${target.hostName}:${target.port}, or raise connection.connectTimeoutSeconds (${CONNECTION_ENV.connectTimeoutSeconds})`,
            'timeout',
            'ETIMEDOUT',
          ),
        ),
      target.connectTimeoutMs,
    );
    // Without Nagle's algorithm: the handshake is many small packets, and on a quiet link Nagle
    // plus delayed ACKs stalls each round trip by tens of milliseconds.
    client.once('connect', () => {
      phase = 'SSH handshake';
      client.setNoDelay(true);
    });
    client.once('handshake', () => (phase = 'login'));
    client.once('ready', () => {
      clearTimeout(timer);
      client.removeAllListeners('error');
      client.on('error', () => undefined); // SshSession attaches the real handler
      resolve(client);
    });
    client.once('error', (err: Error & { level?: string; code?: string }) => {
      if (refusal) return fail(new SshError(refusal, 'hostkey'));
      if (err.level === 'client-authentication')
        return fail(
          new SshError(
            `${target.label}: authentication as ${target.user} failed (${target.privateKeyPath ? `key ${target.privateKeyPath}` : 'ssh-agent'}). Fix: check the user and that its key is in the host's authorized_keys`,
            'auth',
          ),
        );
      fail(new SshError(`${target.label}: ${err.message}`, 'network', err.code));
    });
    client.connect(config);
    skipHostKeyProofs(client);
    signFirstLogin(client);
  });
}
