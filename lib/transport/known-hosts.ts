import { createHash, createHmac } from 'crypto';
import { readFileSync } from 'fs';

/** SHA256 fingerprint as `ssh-keygen -lf` prints it: base64 without padding. */
export function fingerprintOf(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/** The key type named inside an SSH public key blob (string length + name). */
export function keyTypeOf(keyBlob: Buffer): string {
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('ascii');
}

export interface KnownHostEntry {
  readonly line: number;
  readonly marker?: '@revoked' | '@cert-authority';
  readonly patterns: string;
  readonly keyType: string;
  readonly key: Buffer;
}

/** The name known_hosts uses for a host: bare for port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostEntry['marker'];
    if (fields.length < 3) return;
    const [patterns, keyType, keyB64] = fields;
    entries.push({ line: i + 1, marker, patterns, keyType, key: Buffer.from(keyB64, 'base64') });
  });
  return entries;
}

/** Does one known_hosts host field (comma-separated patterns, hashed or not) name this host? */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    const negated = pattern.startsWith('!');
    const glob = negated ? pattern.slice(1) : pattern;
    if (globMatches(glob, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function globMatches(glob: string, name: string): boolean {
  const re = new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
  return re.test(name);
}

export type HostKeyVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'unknown' | 'changed' | 'revoked'; readonly message: string };

export interface HostKeyPolicy {
  /** Pinned `SHA256:...`; when set, known_hosts is not consulted. */
  readonly fingerprint?: string;
  readonly knownHostsPath?: string;
  /** Host and port as the user named them (for messages and known_hosts names). */
  readonly host: string;
  readonly port: number;
  /** Other names the host may be listed under (e.g. the HostName behind an ssh config alias). */
  readonly aliases?: readonly string[];
}

/** Decide whether to trust the key a server presented. Unknown and changed keys are refused. */
export function verifyHostKey(policy: HostKeyPolicy, keyBlob: Buffer): HostKeyVerdict {
  const presented = fingerprintOf(keyBlob);
  const type = keyTypeOf(keyBlob);
  const howToPin = `Check it out of band (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${type.replace(/^ssh-/, '').replace(/-.*/, '')}_key.pub), then either add it to known_hosts (ssh-keyscan -p ${policy.port} ${policy.host} >> ~/.ssh/known_hosts) or pin it: connection.hostKeyFingerprint = "${presented}"`;
  if (policy.fingerprint) {
    if (policy.fingerprint.replace(/=+$/, '') === presented) return { ok: true };
    return { ok: false, reason: 'changed', message: `host key of ${policy.host}:${policy.port} is ${presented} (${type}), but the pinned fingerprint is ${policy.fingerprint}. Refusing to connect: this may be a man-in-the-middle. If the host was rebuilt, ${howToPin}` };
  }
  const path = policy.knownHostsPath ?? '';
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { ok: false, reason: 'unknown', message: `host key of ${policy.host}:${policy.port} is ${presented} (${type}) and cannot be checked: known_hosts file ${path} is not readable. ${howToPin}` };
  }
  const names = [policy.host, ...(policy.aliases ?? [])].map((h) => knownHostsName(h, policy.port));
  const forHost = parseKnownHosts(text).filter((e) => names.some((n) => hostFieldMatches(e.patterns, n)));
  if (forHost.some((e) => e.marker === '@revoked' && e.key.equals(keyBlob))) {
    return { ok: false, reason: 'revoked', message: `host key of ${policy.host}:${policy.port} (${presented}) is marked @revoked in ${path}. Refusing to connect.` };
  }
  const plain = forHost.filter((e) => !e.marker);
  if (plain.some((e) => e.key.equals(keyBlob))) return { ok: true };
  const sameType = plain.filter((e) => e.keyType === type);
  if (sameType.length > 0) {
    return { ok: false, reason: 'changed', message: `HOST KEY CHANGED for ${policy.host}:${policy.port}: it presented ${presented} (${type}), which differs from ${path} line ${sameType.map((e) => e.line).join(', ')}. Refusing to connect: this may be a man-in-the-middle. If the host was rebuilt, remove the old line (ssh-keygen -R ${knownHostsName(policy.host, policy.port)}) and ${howToPin.charAt(0).toLowerCase()}${howToPin.slice(1)}` };
  }
  return { ok: false, reason: 'unknown', message: `host ${policy.host}:${policy.port} is not in ${path} (it presented ${presented}, ${type}). Unknown host keys are never trusted on first use. ${howToPin}` };
}

/** Key types listed for a host, so the handshake asks for a key we can check. */
export function knownKeyTypes(policy: HostKeyPolicy): string[] {
  if (policy.fingerprint || !policy.knownHostsPath) return [];
  let text: string;
  try {
    text = readFileSync(policy.knownHostsPath, 'utf8');
  } catch {
    return [];
  }
  const names = [policy.host, ...(policy.aliases ?? [])].map((h) => knownHostsName(h, policy.port));
  const types = parseKnownHosts(text).filter((e) => !e.marker && names.some((n) => hostFieldMatches(e.patterns, n))).map((e) => e.keyType);
  return [...new Set(types)];
}
