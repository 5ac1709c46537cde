/**
 * Where and how to reach a host: a ConnectionSpec (construct props or the runner's environment) with
 * ~/.ssh/config applied the way ssh(1) reads it and the time limits filled in. No sockets here.
 */
import { existsSync, readFileSync } from 'fs';
import { homedir } from 'os';
import { join } from 'path';
import SSHConfig from 'ssh-config';
import { CONNECTION_ENV, ConnectionSpec, validateSeconds } from '../model/connection';

/** A connection spec with ~/.ssh/config applied and defaults filled in. */
export interface ResolvedConnection {
  readonly label: string;
  /** The host as the user named it (brackets of an IPv6 literal removed): its known_hosts name. */
  readonly name: string;
  readonly hostName: string;
  readonly port: number;
  readonly user: string;
  readonly privateKeyPath?: string;
  readonly agent?: string;
  /** Passphrase of the key file (CDKTF_POSTFIX_KEY_PASSPHRASE of the given environment). Never logged. */
  readonly passphrase?: string;
  readonly knownHostsPath: string;
  readonly fingerprint?: string;
  /** Pinned OpenSSH public key line. */
  readonly hostKey?: string;
  readonly sudo: boolean;
  readonly aliases: string[];
  readonly jump?: ResolvedConnection;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  /** 0 = no keepalives. */
  readonly keepaliveMs: number;
  /** 0 = one attempt. */
  readonly waitTimeoutMs: number;
}

/** Defaults, in seconds, for the connection's time limits. */
export const SSH_DEFAULTS = {
  connectTimeoutSeconds: 20,
  commandTimeoutSeconds: 1800,
  keepaliveSeconds: 15,
  waitTimeoutSeconds: 300,
} as const;
/** Unanswered keepalives before the connection counts as dead. */
export const KEEPALIVE_COUNT_MAX = 3;

/** A time limit from the spec (which may come from the runner's environment) or its default, in ms. */
function seconds(spec: ConnectionSpec, key: keyof typeof SSH_DEFAULTS): number {
  const value = spec[key];
  if (value === undefined || value === '') return SSH_DEFAULTS[key] * 1000;
  validateSeconds(
    'runner',
    `connection.${key} (${CONNECTION_ENV[key]})`,
    value,
    key === 'keepaliveSeconds' || key === 'waitTimeoutSeconds',
  );
  return Number(value) * 1000;
}

/** known_hosts and ssh name a host `2001:db8::1`; users may write it `[2001:db8::1]`. */
function unbracket(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

export function expandHome(p: string): string {
  return p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p;
}

/** Apply ~/.ssh/config (HostName, Port, User, IdentityFile, UserKnownHostsFile) the way ssh would. */
export function resolveConnection(
  spec: ConnectionSpec,
  env: NodeJS.ProcessEnv = process.env,
  sshConfigPath = env.CDKTF_POSTFIX_SSH_CONFIG ?? join(homedir(), '.ssh', 'config'),
): ResolvedConnection {
  let computed: Record<string, string | string[]> = {};
  if (existsSync(sshConfigPath)) {
    computed = SSHConfig.parse(readFileSync(sshConfigPath, 'utf8')).compute(spec.host);
  }
  const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
  const name = unbracket(spec.host);
  const hostName = unbracket(first(computed.HostName) ?? spec.host);
  const port = Number(spec.port ?? first(computed.Port) ?? 22);
  const user = spec.user ?? first(computed.User) ?? 'root';
  const identity = spec.privateKeyPath ?? first(computed.IdentityFile);
  const knownHosts = spec.knownHostsPath ?? first(computed.UserKnownHostsFile) ?? join(homedir(), '.ssh', 'known_hosts');
  const sudo = spec.sudo === undefined ? user !== 'root' : spec.sudo === true || spec.sudo === 'yes' || spec.sudo === 'true';
  const jumpSpec = spec.jumpHost ?? jumpFromConfig(first(computed.ProxyJump));
  return {
    label: spec.port && Number(spec.port) !== 22 ? `${name.includes(':') ? `[${name}]` : name}:${spec.port}` : name,
    name,
    hostName,
    port,
    user,
    privateKeyPath: identity ? expandHome(identity) : undefined,
    agent: identity ? undefined : env.SSH_AUTH_SOCK,
    ...(identity && env.CDKTF_POSTFIX_KEY_PASSPHRASE ? { passphrase: env.CDKTF_POSTFIX_KEY_PASSPHRASE } : {}),
    knownHostsPath: expandHome(knownHosts),
    fingerprint: spec.hostKeyFingerprint,
    hostKey: spec.hostKey,
    sudo,
    aliases: hostName !== name ? [hostName] : [],
    jump: jumpSpec
      ? resolveConnection(
          {
            knownHostsPath: spec.knownHostsPath,
            connectTimeoutSeconds: spec.connectTimeoutSeconds,
            keepaliveSeconds: spec.keepaliveSeconds,
            ...jumpSpec,
            sudo: false,
          },
          env,
          sshConfigPath,
        )
      : undefined,
    connectTimeoutMs: seconds(spec, 'connectTimeoutSeconds'),
    commandTimeoutMs: seconds(spec, 'commandTimeoutSeconds'),
    keepaliveMs: seconds(spec, 'keepaliveSeconds'),
    waitTimeoutMs: seconds(spec, 'waitTimeoutSeconds'),
  };
}

function jumpFromConfig(proxyJump: string | undefined): ConnectionSpec | undefined {
  if (!proxyJump || proxyJump === 'none') return undefined;
  const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(proxyJump.split(',')[0]);
  return m ? { host: m[2], user: m[1], port: m[3] } : undefined;
}
