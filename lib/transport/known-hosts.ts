import { createHash, createHmac } from 'crypto';
import { readFileSync, statSync } from 'fs';
import { certificateProblem, HostCertificate } from '../transport/host-cert';

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
  const re = new RegExp(
    '^' +
      glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
    'i',
  );
  return re.test(name);
}

export type HostKeyVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'unknown' | 'changed' | 'revoked' | 'certificate'; readonly message: string };

/**
 * Which host keys to trust. Order of decision (verifyHostKey):
 * 1. A key (or the CA that signed the host's certificate) marked @revoked for this host in the
 *    known_hosts file is refused, whatever else says: a pin included.
 * 2. With a pin (hostKey and/or fingerprint), the pin alone decides: every pin given must match. The
 *    known_hosts file is then read only for @revoked lines (and may be absent).
 * 3. Otherwise the known_hosts file decides: a listed key, or a host certificate signed by a
 *    @cert-authority CA for this host; a different key of a listed type is a changed key.
 */
export interface HostKeyPolicy {
  /** Pinned `SHA256:...`. */
  readonly fingerprint?: string;
  /** Pinned OpenSSH public key line (`ssh-ed25519 AAAA... comment`). */
  readonly hostKey?: string;
  readonly knownHostsPath?: string;
  /** Host and port as the user named them (for messages and known_hosts names). */
  readonly host: string;
  readonly port: number;
  /** Other names the host may be listed under (e.g. the HostName behind an ssh config alias). */
  readonly aliases?: readonly string[];
}

/**
 * Parsed known_hosts files of this process, by path, with the file's identity when read (device,
 * inode, size, mtime and ctime to the nanosecond): a process applying many hosts (the warm runner,
 * the CLI) parses a large file once; any change to it (an edit, a replacement, a chmod) is read anew.
 */
const parsed = new Map<string, { readonly identity: string; readonly entries: KnownHostEntry[] }>();

function readKnownHosts(path: string): KnownHostEntry[] | undefined {
  let identity: string;
  try {
    const st = statSync(path, { bigint: true });
    identity = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
  const known = parsed.get(path);
  if (known?.identity === identity) return known.entries;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const entries = parseKnownHosts(text);
  parsed.set(path, { identity, entries });
  return entries;
}

/** The known_hosts lines naming this host; entries is undefined when the file cannot be read. */
function knownHostsFor(policy: HostKeyPolicy): { path: string; entries?: KnownHostEntry[] } {
  const path = policy.knownHostsPath ?? '';
  const all = readKnownHosts(path);
  if (!all) return { path };
  const names = hostNames(policy).map((h) => knownHostsName(h, policy.port));
  return { path, entries: all.filter((e) => names.some((n) => hostFieldMatches(e.patterns, n))) };
}

/** The names a host goes by: as given, then its aliases (IPv6 without brackets). */
function hostNames(policy: HostKeyPolicy): string[] {
  return [policy.host, ...(policy.aliases ?? [])].map((h) => h.replace(/^\[(.*)\]$/, '$1'));
}

/** The blob of a pinned OpenSSH public key line (validated at synth; here only decoded). */
function pinnedKeyBlob(line: string): Buffer {
  return Buffer.from(line.trim().split(/\s+/)[1] ?? '', 'base64');
}

/** Decide whether to trust the key a server presented. Unknown and changed keys are refused. */
export function verifyHostKey(policy: HostKeyPolicy, keyBlob: Buffer, certificate?: HostCertificate): HostKeyVerdict {
  const presented = fingerprintOf(keyBlob);
  const type = keyTypeOf(keyBlob);
  const where = `${policy.host}:${policy.port}`;
  const howToPin = `Check it out of band (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${type.replace(/^ssh-/, '').replace(/-.*/, '')}_key.pub), then either add it to known_hosts (ssh-keyscan -p ${policy.port} ${policy.host} >> ~/.ssh/known_hosts) or pin it: connection.hostKeyFingerprint = "${presented}" (or connection.hostKey = the .pub file's line)`;
  const file = knownHostsFor(policy);
  const revoked = (file.entries ?? []).find(
    (e) => e.marker === '@revoked' && (e.key.equals(keyBlob) || (certificate && e.key.equals(certificate.caKeyBlob))),
  );
  if (revoked) {
    const what = revoked.key.equals(keyBlob)
      ? `host key of ${where} (${presented})`
      : `the CA that signed the host certificate of ${where} (${fingerprintOf(revoked.key)})`;
    return {
      ok: false,
      reason: 'revoked',
      message: `${what} is marked @revoked in ${file.path} line ${revoked.line}. Refusing to connect, whatever else trusts it (pins included). Fix: give the host a new key${revoked.key.equals(keyBlob) ? '' : ' signed by a CA that is not revoked'}`,
    };
  }
  if (policy.fingerprint || policy.hostKey) {
    const fingerprintOk = !policy.fingerprint || policy.fingerprint.replace(/=+$/, '') === presented;
    const keyOk = !policy.hostKey || pinnedKeyBlob(policy.hostKey).equals(keyBlob);
    if (fingerprintOk && keyOk) return { ok: true };
    const pinned = !fingerprintOk
      ? `the pinned fingerprint is ${policy.fingerprint}`
      : `the pinned connection.hostKey is ${fingerprintOf(pinnedKeyBlob(policy.hostKey!))}`;
    return {
      ok: false,
      reason: 'changed',
      message: `host key of ${where} is ${presented} (${type}), but ${pinned}. Refusing to connect: this may be a man-in-the-middle. If the host was rebuilt, ${howToPin}`,
    };
  }
  if (!file.entries) {
    return {
      ok: false,
      reason: 'unknown',
      message: `host key of ${where} is ${presented} (${type}) and cannot be checked: known_hosts file ${file.path} is not readable. ${howToPin}`,
    };
  }
  const plain = file.entries.filter((e) => !e.marker);
  if (plain.some((e) => e.key.equals(keyBlob))) return { ok: true };
  const authorities = file.entries.filter((e) => e.marker === '@cert-authority');
  if (authorities.length > 0 && plain.length === 0) return certificateVerdict(policy, file.path, authorities, keyBlob, certificate);
  const sameType = plain.filter((e) => e.keyType === type);
  if (sameType.length > 0) {
    return {
      ok: false,
      reason: 'changed',
      message: `HOST KEY CHANGED for ${where}: it presented ${presented} (${type}), which differs from ${file.path} line ${sameType.map((e) => e.line).join(', ')}. Refusing to connect: this may be a man-in-the-middle. If the host was rebuilt, remove the old line (ssh-keygen -R ${knownHostsName(policy.host, policy.port)}) and ${howToPin.charAt(0).toLowerCase()}${howToPin.slice(1)}`,
    };
  }
  return {
    ok: false,
    reason: 'unknown',
    message: `host ${where} is not in ${file.path} (it presented ${presented}, ${type}). Unknown host keys are never trusted on first use. ${howToPin}`,
  };
}

/** Trust through a @cert-authority line: the certificate checks out and certifies the presented key. */
function certificateVerdict(
  policy: HostKeyPolicy,
  path: string,
  authorities: KnownHostEntry[],
  keyBlob: Buffer,
  certificate: HostCertificate | undefined,
): HostKeyVerdict {
  const where = `${policy.host}:${policy.port}`;
  const lines = `${path} line ${authorities.map((e) => e.line).join(', ')}`;
  const refuse = (problem: string, fix: string): HostKeyVerdict => ({
    ok: false,
    reason: 'certificate',
    message: `host ${where} is trusted only through @cert-authority (${lines}), and ${problem}. Refusing to connect. Fix: ${fix}`,
  });
  const resign = `on the CA: ssh-keygen -s CA_KEY -I ${policy.host} -h -n ${hostNames(policy)[0]} /etc/ssh/ssh_host_ed25519_key.pub, then HostCertificate in sshd_config`;
  if (!certificate) return refuse('it presented no host certificate', resign);
  const ca = authorities.find((e) => e.key.equals(certificate.caKeyBlob));
  if (!ca)
    return refuse(
      `its certificate "${certificate.keyId}" is signed by ${fingerprintOf(certificate.caKeyBlob)}, which no @cert-authority line for it lists`,
      `sign the host key with a listed CA (${resign}) or add that CA's @cert-authority line`,
    );
  const problem = certificateProblem(certificate, hostNames(policy));
  if (problem) return refuse(problem, resign);
  if (!certificate.keyBlob.equals(keyBlob))
    return refuse(`the key it used (${fingerprintOf(keyBlob)}) is not the certified key (${fingerprintOf(certificate.keyBlob)})`, resign);
  return { ok: true };
}

/** Key types listed for a host, so the handshake asks for a key we can check. */
export function knownKeyTypes(policy: HostKeyPolicy): string[] {
  if (policy.hostKey) return [keyTypeOf(pinnedKeyBlob(policy.hostKey))];
  if (policy.fingerprint) return [];
  const types = (knownHostsFor(policy).entries ?? []).filter((e) => !e.marker).map((e) => e.keyType);
  return [...new Set(types)];
}

/** True when only @cert-authority lines can vouch for this host (no pin, no plain key line). */
export function trustedByCertificateOnly(policy: HostKeyPolicy): boolean {
  if (policy.fingerprint || policy.hostKey) return false;
  const entries = knownHostsFor(policy).entries ?? [];
  return entries.some((e) => e.marker === '@cert-authority') && !entries.some((e) => !e.marker);
}
