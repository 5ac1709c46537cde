/**
 * The connection flags every command that connects to a host takes (queue, logs, ...), so they read
 * the same everywhere and end in the same ConnectionSpec the apply transport uses.
 *
 *   --host ADDRESS[:PORT] --user U --identity KEY_FILE --known-hosts FILE
 *   --host-key SHA256:... | "ssh-ed25519 AAAA..."   pin the host key (fingerprint or public key line)
 *   --stack DIR [--target ID]          reuse the connection of a host in a synthesized stack
 *   (none of them)                     the local machine
 */
import type { Command } from 'commander';
import { readStackHosts } from '../lib/apply/stack';
import { ConnectionSpec, HOST_KEY_TYPES, parseOpenSshPublicKey, validateFingerprint, validateSshUser } from '../lib/model/connection';
import { parseEndpoint } from '../lib/model/endpoint';
import { UsageError } from '../lib/errors';
import { resolveStackDir } from './stack-arg';
import { asUsageError } from './usage';

/** The parsed flags, as commander hands them to an action (camelCase). */
export interface ConnectionOptions {
  readonly host?: string;
  readonly user?: string;
  readonly identity?: string;
  readonly knownHosts?: string;
  readonly hostKey?: string;
  readonly stack?: string;
  readonly target?: string;
}

/** Adds the shared connection flags to a command; returns it for chaining. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--host <address[:port]>', 'run on this host over SSH (default: this machine); [v6]:port for IPv6 with a port')
    .option('--user <user>', 'SSH user (default: root, or ~/.ssh/config); non-root users run Postfix commands through sudo -n')
    .option('--identity <key-file>', 'private key file (default: ssh-agent, or ~/.ssh/config)')
    .option('--known-hosts <file>', 'known_hosts file to check the host key against (default: ~/.ssh/known_hosts)')
    .option(
      '--host-key <key>',
      'pin the host key instead of known_hosts: its fingerprint (SHA256:...) or its public key line ("ssh-ed25519 AAAA...", as in /etc/ssh/ssh_host_ed25519_key.pub)',
    )
    .option(
      '--stack <stack>',
      'use the connection of a host in this synthesized stack (a directory such as cdktf.out/stacks/mail, or its name)',
    )
    .option('--target <id>', 'with --stack: which host (construct id or path); optional when the stack has one host');
}

/** The flags that refine a connection, as ConnectionSpec fields (only those given). */
function overrides(opts: ConnectionOptions): Partial<ConnectionSpec> {
  if (opts.user !== undefined) asUsageError(() => validateSshUser('', opts.user!));
  return {
    ...(opts.user !== undefined ? { user: opts.user } : {}),
    ...(opts.identity !== undefined ? { privateKeyPath: opts.identity } : {}),
    ...(opts.knownHosts !== undefined ? { knownHostsPath: opts.knownHosts } : {}),
    ...(opts.hostKey !== undefined ? hostKeyPin(opts.hostKey) : {}),
  };
}

/**
 * --host-key: a public key line (it starts with a key type) pins connection.hostKey, anything else
 * must be a SHA256 fingerprint (connection.hostKeyFingerprint).
 */
function hostKeyPin(value: string): Pick<ConnectionSpec, 'hostKey'> | Pick<ConnectionSpec, 'hostKeyFingerprint'> {
  const type = value.trim().split(/\s+/)[0];
  if ((HOST_KEY_TYPES as readonly string[]).includes(type)) {
    asUsageError(() => parseOpenSshPublicKey('', '--host-key', value));
    return { hostKey: value.trim() };
  }
  if (!/^SHA256:/.test(value)) {
    throw UsageError.of(
      '--host-key',
      value,
      'is neither a SHA256 fingerprint nor an OpenSSH public key line',
      'give `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` (SHA256:...) or the .pub file\'s line ("ssh-ed25519 AAAA... root@mx1")',
    );
  }
  asUsageError(() => validateFingerprint('', value, '--host-key'));
  return { hostKeyFingerprint: value };
}

/** A pin given on the command line replaces both of the stack's pins (either could disagree with it). */
function withoutPins(spec: ConnectionSpec): ConnectionSpec {
  const { hostKey: _key, hostKeyFingerprint: _fingerprint, ...rest } = spec;
  return rest;
}

/** The one host of a stack that --target names (or the only host). */
function stackConnection(stackDir: string, target: string | undefined): ConnectionSpec {
  const hosts = readStackHosts(stackDir, target);
  if (hosts.length === 1) return hosts[0].connection;
  const ids = hosts.map((h) => h.path.split('/').pop()).join(', ');
  const problem = hosts.length === 0 ? 'has no hosts' : target ? `matches ${hosts.length} hosts` : `has ${hosts.length} hosts`;
  throw UsageError.of(
    `${stackDir}: --target`,
    target,
    problem,
    hosts.length ? `name one host: --target ${ids.split(', ')[0]} (hosts: ${ids})` : 'synthesize a stack with a PostfixHost in it',
  );
}

/**
 * Flags -> where to connect. Undefined means the local machine. With --stack, the stack's
 * connection is used and any of --user/--identity/--known-hosts/--host-key given replaces its
 * value (a key may live elsewhere on this machine than on the deploy runner).
 */
export function connectionFromOptions(opts: ConnectionOptions): ConnectionSpec | undefined {
  if (opts.host !== undefined && opts.stack !== undefined) {
    throw UsageError.of('--host', opts.host, 'cannot be combined with --stack', 'pass either --host ADDRESS or --stack DIR --target ID');
  }
  if (opts.target !== undefined && opts.stack === undefined) {
    throw UsageError.of('--target', opts.target, 'needs --stack', 'add --stack DIR (a synthesized stack such as cdktf.out/stacks/mail)');
  }
  const refine = overrides(opts);
  if (opts.stack !== undefined) {
    const fromStack = stackConnection(resolveStackDir(opts.stack), opts.target);
    return { ...(opts.hostKey !== undefined ? withoutPins(fromStack) : fromStack), ...refine };
  }
  if (opts.host !== undefined) return { ...asUsageError(() => parseEndpoint(opts.host!, { field: '--host' })), ...refine };
  const given = Object.keys(refine);
  if (given.length > 0) {
    const flag =
      {
        user: '--user',
        privateKeyPath: '--identity',
        knownHostsPath: '--known-hosts',
        hostKeyFingerprint: '--host-key',
        hostKey: '--host-key',
      }[given[0]] ?? given[0];
    throw UsageError.of(
      flag,
      undefined,
      'has no host to connect to (without --host or --stack the command runs on this machine)',
      'add --host ADDRESS[:PORT] or --stack DIR --target ID',
    );
  }
  return undefined;
}
