import { ConnectionSpec, validateFingerprint, validatePort, validateSshUser } from '../model/connection';
import { PostfixConfigError } from '../model/errors';
import { IsUnresolved } from './unresolved';

export interface JumpHostConnection {
  readonly host: string;
  /** @default 22 */
  readonly port?: number | string;
  /** @default "root" */
  readonly user?: string;
  /** @default the ssh-agent */
  readonly privateKeyPath?: string;
  /** @default the target's knownHostsPath */
  readonly knownHostsPath?: string;
  readonly hostKeyFingerprint?: string;
}

export interface PostfixConnection {
  /** Address, DNS name or ~/.ssh/config alias. May be a token (e.g. a VM's address). */
  readonly host: string;
  /** @default 22 */
  readonly port?: number;
  /** @default "root" */
  readonly user?: string;
  /** Private key file on the machine that runs the deploy. Never the key itself. @default ssh-agent ($SSH_AUTH_SOCK) */
  readonly privateKeyPath?: string;
  /** @default "~/.ssh/known_hosts" */
  readonly knownHostsPath?: string;
  /** Pin the host key (`SHA256:...` as `ssh-keygen -lf` prints it) instead of reading known_hosts. @default - known_hosts decides */
  readonly hostKeyFingerprint?: string;
  /** Use `sudo -n` for Postfix commands. @default true when user is not "root" */
  readonly sudo?: boolean;
  /** One bastion hop. @default - direct connection */
  readonly jumpHost?: JumpHostConnection;
}

/** The connection as the apply engine takes it; sudo is left open when the user is known only at apply time. */
export function connectionSpec(c: PostfixConnection, isUnresolved: IsUnresolved): ConnectionSpec {
  const user = c.user ?? 'root';
  const sudo = c.sudo ?? (isUnresolved(user) ? undefined : user !== 'root');
  return {
    host: c.host,
    port: c.port,
    user,
    privateKeyPath: c.privateKeyPath,
    knownHostsPath: c.knownHostsPath,
    hostKeyFingerprint: c.hostKeyFingerprint,
    sudo,
    jumpHost: c.jumpHost,
  };
}

/** Checks the literal parts of a connection; unresolved values (tokens) are left for apply time. */
export function validateConnection(where: string, c: PostfixConnection, isUnresolved: IsUnresolved): void {
  const literal = (v: unknown): v is string | number => v !== undefined && !isUnresolved(v);
  if (literal(c.host) && (String(c.host).trim() === '' || /[\s\x00-\x1f]/.test(String(c.host)))) {
    throw new PostfixConfigError(where, 'connection.host', String(c.host), 'not a host name or address', 'use a DNS name, an IP address or an ~/.ssh/config alias');
  }
  if (literal(c.port)) validatePort(where, 'connection.port', c.port);
  if (literal(c.user)) validateSshUser(where, String(c.user));
  if (literal(c.hostKeyFingerprint)) validateFingerprint(where, String(c.hostKeyFingerprint));
  if (c.jumpHost) {
    if (literal(c.jumpHost.port)) validatePort(where, 'connection.jumpHost.port', c.jumpHost.port);
    if (literal(c.jumpHost.hostKeyFingerprint)) validateFingerprint(where, String(c.jumpHost.hostKeyFingerprint));
  }
}
