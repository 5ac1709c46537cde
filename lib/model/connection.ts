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
  sudo: 'CDKTF_POSTFIX_SUDO',
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
    throw new PostfixConfigError('runner', CONNECTION_ENV.host, undefined, 'no host to connect to', `set ${CONNECTION_ENV.host} (the construct's connection.host)`);
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
export function validateFingerprint(where: string, value: string): void {
  if (!FINGERPRINT.test(value)) {
    throw new PostfixConfigError(where, 'connection.hostKeyFingerprint', value, 'not a SHA256 host key fingerprint',
      'copy it from `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host (or `ssh-keyscan HOST | ssh-keygen -lf -`), e.g. SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s');
  }
}

/** A literal SSH port: a whole number 1-65535 (lib/model/endpoint.ts is the one parser). */
export function validatePort(where: string, field: string, value: number | string): void {
  parsePortNumber(value, field, where);
}

export function validateSshUser(where: string, value: string): void {
  if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(value)) {
    throw new PostfixConfigError(where, 'connection.user', value, 'not a valid login name', 'use the account name as on the host, e.g. root or deploy');
  }
}
