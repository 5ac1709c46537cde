/**
 * Text renderers for OpenDKIM as Debian 12 packages it (opendkim 2.11): opendkim.conf, KeyTable,
 * SigningTable and TrustedHosts, with keys at `<keyDir>/<domain>/<selector>.private`. Debian's
 * opendkim.service runs `/usr/sbin/opendkim` with no options, so /etc/opendkim.conf alone decides
 * the socket (/etc/default/opendkim only matters after opendkim.service.generate). Settings and
 * data-set forms follow opendkim.conf(5).
 */
import { isIP } from 'node:net';
import { dnsError, validateDomain, validateIntRange } from './names';
import { dkimRecordName, validateSelector } from './dkim';

export const OPENDKIM_DIR = '/etc/opendkim';
export const OPENDKIM_KEY_DIR = '/etc/opendkim/keys';

export interface OpenDkimKey {
  readonly domain: string;
  readonly selector: string;
}

/**
 * The milter socket. `inet` listens on localhost only; `local` is a UNIX socket. Debian's Postfix
 * runs smtpd chrooted in /var/spool/postfix, so a UNIX socket Postfix can reach must live under it
 * (e.g. /var/spool/postfix/opendkim/opendkim.sock); inet needs no such care.
 */
export type OpenDkimSocket = { readonly inet: number } | { readonly local: string };

export const DEFAULT_OPENDKIM_SOCKET: OpenDkimSocket = { inet: 8891 };

/** `Socket` value, opendkim.conf(5): `inet:PORT@localhost` or `local:/path`. */
export function openDkimSocketSpec(socket: OpenDkimSocket): string {
  if ('inet' in socket)
    return `inet:${validateIntRange(socket.inet, 'opendkim.socket.inet', 1, 65535, 'use 8891, the port Debian examples use')}@localhost`;
  return `local:${checkAbsolutePath(socket.local, 'opendkim.socket.local')}`;
}

/**
 * The same socket as Postfix names it in smtpd_milters / non_smtpd_milters (postconf(5):
 * `inet:host:port` or `unix:pathname`). A chrooted smtpd resolves a unix: path inside the queue
 * directory, so callers give the path as the chrooted process sees it.
 */
export function postfixMilterAddress(socket: OpenDkimSocket): string {
  if ('inet' in socket) return `inet:localhost:${validateIntRange(socket.inet, 'opendkim.socket.inet', 1, 65535, 'use 8891')}`;
  return `unix:${checkAbsolutePath(socket.local, 'opendkim.socket.local')}`;
}

export function openDkimKeyPath(key: OpenDkimKey, keyDir = OPENDKIM_KEY_DIR): string {
  return `${checkAbsolutePath(keyDir, 'opendkim.keyDir')}/${validateDomain(key.domain, 'opendkim.domain')}/${validateSelector(key.selector)}.private`;
}

/** KeyTable line: key name, then `domain:selector:keyfile` (opendkim.conf(5) KeyTable). */
export function keyTableLine(key: OpenDkimKey, keyDir = OPENDKIM_KEY_DIR): string {
  const domain = validateDomain(key.domain, 'opendkim.domain');
  return `${dkimRecordName(key.selector, domain)} ${domain}:${validateSelector(key.selector)}:${openDkimKeyPath(key, keyDir)}`;
}

/** SigningTable line for a refile table: the pattern `*@domain` selects the key for every sender of the domain. */
export function signingTableLine(key: OpenDkimKey): string {
  return `*@${validateDomain(key.domain, 'opendkim.domain')} ${dkimRecordName(key.selector, key.domain)}`;
}

export function renderKeyTable(keys: readonly OpenDkimKey[], keyDir = OPENDKIM_KEY_DIR): string {
  return lines(keys.map((k) => keyTableLine(k, keyDir)));
}

/** One signing line per domain: refile uses the first match only (opendkim.conf(5) SigningTable). */
export function renderSigningTable(keys: readonly OpenDkimKey[]): string {
  const seen = new Set<string>();
  for (const k of keys) {
    const domain = validateDomain(k.domain, 'opendkim.domain');
    if (seen.has(domain)) {
      throw dnsError(
        'opendkim.keys',
        `${k.selector}@${domain}`,
        'names a second selector for a domain; only the first SigningTable match signs',
        "sign each domain with one selector (publish the next key's DNS record before switching)",
      );
    }
    seen.add(domain);
  }
  return lines(keys.map(signingTableLine));
}

/**
 * Hosts whose mail is signed rather than verified (InternalHosts) and which may send as the
 * signing domains (ExternalIgnoreList): loopback always, since Postfix hands local and submitted
 * mail to the milter from there, plus any IPs, CIDRs or host names given.
 */
export function renderTrustedHosts(extra: readonly string[] = []): string {
  return lines(['127.0.0.1', '::1', 'localhost', ...extra.map((h, i) => checkPeer(h, `opendkim.trustedHosts[${i}]`))]);
}

export interface OpenDkimConfInput {
  readonly socket?: OpenDkimSocket;
  /** `relaxed/simple` (header/body), the Debian default; relaxed body survives list footers' whitespace changes. */
  readonly canonicalization?: 'relaxed/simple' | 'relaxed/relaxed' | 'simple/simple' | 'simple/relaxed';
  /** s signs, v verifies; default sv. */
  readonly mode?: 's' | 'v' | 'sv';
  /** Directory of KeyTable, SigningTable and TrustedHosts. */
  readonly dir?: string;
}

/** opendkim.conf text: Debian's defaults plus the table wiring for signing by domain. */
export function renderOpenDkimConf(input: OpenDkimConfInput = {}): string {
  const dir = checkAbsolutePath(input.dir ?? OPENDKIM_DIR, 'opendkim.dir');
  const mode = input.mode ?? 'sv';
  if (!['s', 'v', 'sv'].includes(mode))
    throw dnsError('opendkim.mode', mode, 'is not an OpenDKIM mode', 'use sv (sign and verify), s or v');
  const canon = input.canonicalization ?? 'relaxed/simple';
  if (!/^(relaxed|simple)\/(relaxed|simple)$/.test(canon)) {
    throw dnsError(
      'opendkim.canonicalization',
      canon,
      'is not header/body canonicalization (RFC 6376 §3.4)',
      'use relaxed/simple or relaxed/relaxed',
    );
  }
  const settings: [string, string][] = [
    ['Syslog', 'yes'],
    ['SyslogSuccess', 'yes'],
    ['UMask', '007'],
    ['UserID', 'opendkim'],
    ['PidFile', '/run/opendkim/opendkim.pid'],
    ['Socket', openDkimSocketSpec(input.socket ?? DEFAULT_OPENDKIM_SOCKET)],
    ['Mode', mode],
    ['Canonicalization', canon],
    // RFC 6376 §8.15: signing one more From than present stops a second From being added later.
    ['OversignHeaders', 'From'],
    // KeyTable keys are exact key names, so a plain file; SigningTable needs refile for *@domain.
    ['KeyTable', `file:${dir}/KeyTable`],
    ['SigningTable', `refile:${dir}/SigningTable`],
    ['InternalHosts', `refile:${dir}/TrustedHosts`],
    ['ExternalIgnoreList', `refile:${dir}/TrustedHosts`],
    ['TrustAnchorFile', '/usr/share/dns/root.key'],
  ];
  return lines(['# Managed by cdktf-postfix; see opendkim.conf(5).', ...settings.map(([k, v]) => `${k.padEnd(20)}${v}`)]);
}

function lines(items: readonly string[]): string {
  return items.map((l) => `${l}\n`).join('');
}

function checkAbsolutePath(path: string, field: string): string {
  if (!/^\/[A-Za-z0-9._/-]+$/.test(path) || path.split('/').includes('..') || (path.length > 1 && path.endsWith('/'))) {
    throw dnsError(
      field,
      path,
      'is not an absolute path of plain characters',
      'use a path such as /etc/opendkim or /run/opendkim/opendkim.sock',
    );
  }
  return path;
}

function checkPeer(peer: string, field: string): string {
  const [addr, prefix, extra] = peer.split('/');
  const family = isIP(addr);
  if (
    family !== 0 &&
    extra === undefined &&
    (prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)))
  )
    return peer;
  if (prefix === undefined) return validateDomain(peer, field);
  throw dnsError(field, peer, 'is not an IP address, CIDR network or host name', 'use e.g. 192.0.2.10, 192.0.2.0/24 or relay.example.org');
}
