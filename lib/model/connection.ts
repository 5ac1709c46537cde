import { parsePortNumber } from './endpoint';
import { PostfixConfigError } from './errors';

/**
 * How to reach a host over SSH. Values may be Terraform tokens at synth time; they are resolved by
 * Terraform and handed to the runner through environment variables, never through the bundle.
 */
export interface ConnectionSpec {
  /** Address, DNS name or ~/.ssh/config alias. */
  readonly host: string;
  /** @default 22 (or the ssh config's Port) */
  readonly port?: number | string;
  /** @default "root" (or the ssh config's User) */
  readonly user?: string;
  /** Private key file. @default the ssh-agent at $SSH_AUTH_SOCK (or the ssh config's IdentityFile) */
  readonly privateKeyPath?: string;
  /** @default ~/.ssh/known_hosts */
  readonly knownHostsPath?: string;
  /** Pin the host key instead of known_hosts, as `ssh-keygen -lf` prints it: `SHA256:...`. */
  readonly hostKeyFingerprint?: string;
  /**
   * Pin the host's public key itself, as an OpenSSH public key line (`ssh-ed25519 AAAA... comment`,
   * the content of /etc/ssh/ssh_host_ed25519_key.pub); may be a token (a key made by another resource).
   * A pin (this or hostKeyFingerprint) decides trust on its own; a key marked @revoked in the
   * known_hosts file is still refused.
   */
  readonly hostKey?: string;
  /** Seconds for TCP connect + SSH handshake + authentication. @default 20 */
  readonly connectTimeoutSeconds?: number | string;
  /** Seconds one remote command may run. @default 1800 */
  readonly commandTimeoutSeconds?: number | string;
  /** Seconds between SSH keepalives (3 unanswered end the connection); 0 turns them off. @default 15 */
  readonly keepaliveSeconds?: number | string;
  /**
   * Keep retrying the connection (with backoff) this many seconds while the host is not up yet, e.g. a
   * VM born in the same deploy. Host key refusals are never retried. 0 = one attempt. @default 300
   */
  readonly waitTimeoutSeconds?: number | string;
  /** Run Postfix commands through `sudo -n`. @default true when user is not root */
  readonly sudo?: boolean | string;
  /** Reach the host through this bastion (one hop). */
  readonly jumpHost?: ConnectionSpec;
}

/** Environment variable names the runner reads; the construct writes the same names. */
export const CONNECTION_ENV = {
  host: 'CDKTF_POSTFIX_HOST',
  port: 'CDKTF_POSTFIX_PORT',
  user: 'CDKTF_POSTFIX_USER',
  privateKeyPath: 'CDKTF_POSTFIX_IDENTITY',
  knownHostsPath: 'CDKTF_POSTFIX_KNOWN_HOSTS',
  hostKeyFingerprint: 'CDKTF_POSTFIX_HOST_KEY',
  hostKey: 'CDKTF_POSTFIX_HOST_PUBLIC_KEY',
  sudo: 'CDKTF_POSTFIX_SUDO',
  connectTimeoutSeconds: 'CDKTF_POSTFIX_SSH_CONNECT_TIMEOUT',
  commandTimeoutSeconds: 'CDKTF_POSTFIX_SSH_COMMAND_TIMEOUT',
  keepaliveSeconds: 'CDKTF_POSTFIX_SSH_KEEPALIVE',
  waitTimeoutSeconds: 'CDKTF_POSTFIX_SSH_WAIT',
} as const;

/** ConnectionSpec -> environment variables (tokens pass through untouched); the jump host's use CDKTF_POSTFIX_JUMP_*. */
export function connectionToEnv(spec: ConnectionSpec): Record<string, string> {
  const env: Record<string, string> = {};
  writeEnv(env, spec, '');
  if (spec.jumpHost) writeEnv(env, spec.jumpHost, 'JUMP_');
  return env;
}

function writeEnv(env: Record<string, string>, spec: ConnectionSpec, infix: string): void {
  for (const [key, name] of Object.entries(CONNECTION_ENV)) {
    const value = spec[key as keyof typeof CONNECTION_ENV];
    if (value === undefined) continue;
    const envName = infix ? name.replace('CDKTF_POSTFIX_', `CDKTF_POSTFIX_${infix}`) : name;
    env[envName] = typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value);
  }
}

/** Environment -> ConnectionSpec, for the runner. */
export function connectionFromEnv(env: NodeJS.ProcessEnv): ConnectionSpec {
  const main = readEnv(env, '');
  if (!main.host) {
    throw new PostfixConfigError(
      'runner',
      CONNECTION_ENV.host,
      undefined,
      'no host to connect to',
      `set ${CONNECTION_ENV.host} (the construct's connection.host)`,
    );
  }
  const jump = readEnv(env, 'JUMP_');
  return { ...(main as ConnectionSpec), ...(jump.host ? { jumpHost: jump as ConnectionSpec } : {}) };
}

function readEnv(env: NodeJS.ProcessEnv, infix: string): Partial<Record<keyof typeof CONNECTION_ENV, string>> {
  const out: Partial<Record<keyof typeof CONNECTION_ENV, string>> = {};
  for (const [key, name] of Object.entries(CONNECTION_ENV)) {
    const envName = infix ? name.replace('CDKTF_POSTFIX_', `CDKTF_POSTFIX_${infix}`) : name;
    const value = env[envName];
    if (value !== undefined && value !== '') out[key as keyof typeof CONNECTION_ENV] = value;
  }
  return out;
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

/** Checks that can run on literal values; callers skip values that are still tokens. */
export function validateFingerprint(where: string, value: string, field = 'connection.hostKeyFingerprint'): void {
  if (!FINGERPRINT.test(value)) {
    throw new PostfixConfigError(
      where,
      field,
      value,
      'not a SHA256 host key fingerprint',
      'copy it from `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host (or `ssh-keyscan HOST | ssh-keygen -lf -`), e.g. SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
    );
  }
}

/** A literal SSH port: a whole number 1-65535 (lib/model/endpoint.ts is the one parser). */
export function validatePort(where: string, field: string, value: number | string): void {
  parsePortNumber(value, field, where);
}

export function validateSshUser(where: string, value: string): void {
  if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(value)) {
    throw new PostfixConfigError(
      where,
      'connection.user',
      value,
      'not a valid login name',
      'use the account name as on the host, e.g. root or deploy',
    );
  }
}

/** Seconds fields of a connection: a whole number of seconds, 0 allowed where it turns the thing off. */
export function validateSeconds(where: string, field: string, value: number | string, allowZero: boolean): void {
  const n = Number(value);
  if (String(value).trim() === '' || !Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 86400) {
    throw new PostfixConfigError(
      where,
      field,
      String(value),
      'not a number of seconds',
      `use a whole number from ${allowZero ? 0 : 1} to 86400`,
    );
  }
}

/** Key types an OpenSSH public key line may name for a host key. */
export const HOST_KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;

/**
 * An OpenSSH public key line (`TYPE BASE64 [comment]`) -> its key blob. The blob must name the
 * same type as the line, so a truncated or pasted-wrong key fails here rather than at connect time.
 */
export function parseOpenSshPublicKey(where: string, field: string, value: string): { type: string; blob: Buffer } {
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  const bad = (problem: string) =>
    new PostfixConfigError(
      where,
      field,
      shown,
      problem,
      'give the host\'s public key line as ssh-keyscan or /etc/ssh/ssh_host_ed25519_key.pub shows it, e.g. "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI... root@mx1"',
    );
  const [type, b64] = value.trim().split(/\s+/);
  if (!(HOST_KEY_TYPES as readonly string[]).includes(type)) {
    throw bad(`does not start with a host key type (${HOST_KEY_TYPES.join(', ')})`);
  }
  if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw bad('the key after the type is not base64');
  const blob = Buffer.from(b64, 'base64');
  const nameLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (nameLength < 0 || 4 + nameLength > blob.length || blob.subarray(4, 4 + nameLength).toString('latin1') !== type) {
    throw bad(`the base64 key is not a ${type} key (truncated, or the type does not match the key)`);
  }
  if (type === 'ssh-ed25519' && blob.length !== 4 + nameLength + 4 + 32) throw bad('the ssh-ed25519 key has the wrong length (truncated?)');
  return { type, blob };
}

/** Literal connection values checked at synth time (callers skip tokens with isLiteral). */
export function validateConnectionValues(
  where: string,
  spec: Partial<ConnectionSpec>,
  isLiteral: (v: unknown) => boolean,
  prefix = 'connection',
): void {
  if (isLiteral(spec.hostKeyFingerprint)) validateFingerprint(where, String(spec.hostKeyFingerprint), `${prefix}.hostKeyFingerprint`);
  if (isLiteral(spec.hostKey)) parseOpenSshPublicKey(where, `${prefix}.hostKey`, String(spec.hostKey));
  for (const key of ['connectTimeoutSeconds', 'commandTimeoutSeconds', 'keepaliveSeconds', 'waitTimeoutSeconds'] as const) {
    const value = spec[key];
    if (isLiteral(value))
      validateSeconds(where, `${prefix}.${key}`, value as number | string, key === 'keepaliveSeconds' || key === 'waitTimeoutSeconds');
  }
}
