/**
 * mynetworks entries: every client whose address matches them may relay through permit_mynetworks,
 * so a typo or a too-wide network is an open relay. postconf(5) mynetworks: a list of network/mask
 * patterns, host names, "/file/name" files of patterns or "type:table" lookups; IPv6 addresses in
 * brackets ([::1]/128); "!" negates. Postfix refuses a pattern with host bits set (it logs
 * "non-null host address bits in ..., perhaps you should use ... instead").
 */
import { isIPv4, isIPv6 } from 'node:net';
import { PostfixConfigError } from './errors';
import { splitTopLevel } from './values';

/**
 * The widest networks accepted. An IPv4 /8 is 1/256 of the address space (10.0.0.0/8, 127.0.0.0/8 are
 * real private networks); anything wider is no longer "my network". IPv6 allocations to one
 * organisation are /32 or longer, so /16 (1/65536 of the space) leaves room for any real site while
 * refusing ::/0, 2000::/3 (all global unicast) and similar. IPv4-mapped and NAT64 prefixes
 * (::ffff:0:0/96, 64:ff9b::/96) hold IPv4 addresses and get the IPv4 limit on their last 32 bits.
 */
export const MIN_IPV4_PREFIX = 8;
export const MIN_IPV6_PREFIX = 16;

/** ::ffff:0:0/96 (IPv4-mapped) and 64:ff9b::/96 (NAT64): each holds the whole IPv4 space. */
const IPV4_IN_IPV6 = [0xffffn << 32n, 0x64ff9bn << 96n];

const FIX_FORMAT = 'write IPv4 networks as 192.0.2.0/24, IPv6 networks in brackets as [2001:db8::]/32, or use a host name or type:table';

/** Throws PostfixConfigError for the first mynetworks entry that is not a valid network or is too wide. */
export function checkMynetworks(where: string, field: string, value: string): void {
  for (const raw of splitTopLevel(value)) checkEntry(where, field, value, raw);
}

function checkEntry(where: string, field: string, value: string, raw: string): void {
  const negated = raw.startsWith('!');
  const entry = negated ? raw.slice(1) : raw;
  const bad = (problem: string, fix: string) => new PostfixConfigError(where, field, value, `"${raw}" ${problem}`, fix);
  // Lookup tables, pattern files and $references cannot be checked here: Postfix reads them on the host.
  if (entry.startsWith('/') || entry.startsWith('$') || (/^[a-z][a-z0-9_]*:[^[\]]/.test(entry) && !looksLikeBareIpv6(entry))) return;
  const m = /^(\[[^\]]*\]|[^/]+)(?:\/(.*))?$/.exec(entry);
  if (!m) throw bad('is not a network', FIX_FORMAT);
  const bracketed = m[1].startsWith('[');
  const address = bracketed ? m[1].slice(1, -1) : m[1];
  const prefixText = m[2];
  if (looksLikeBareIpv6(entry))
    throw bad(
      'is an IPv6 address without brackets; Postfix would read it as a type:table lookup',
      `write it as [${address}]${prefixText !== undefined ? `/${prefixText}` : ''}`,
    );
  const v6 = isIPv6(address);
  const v4 = !v6 && isIPv4(address);
  if (bracketed && !v6) throw bad('has brackets around something that is not an IPv6 address', FIX_FORMAT);
  if (!v4 && !v6) {
    if (/^\d+(\.\d+)*$/.test(address)) throw bad(`has "${address}", which is not a valid IPv4 address (four numbers 0-255)`, FIX_FORMAT);
    if (prefixText !== undefined || !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(address))
      throw bad('is not an address, a network or a host name', FIX_FORMAT);
    return; // a host name: resolved by Postfix on the host
  }
  const bits = v4 ? 32 : 128;
  if (prefixText === undefined) return; // one address
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
    throw bad(`has the prefix length /${prefixText}; an ${v4 ? 'IPv4' : 'IPv6'} prefix is a whole number from 0 to ${bits}`, FIX_FORMAT);
  }
  const prefix = Number(prefixText);
  const value128 = v4 ? ipv4Value(address) : ipv6Value(address);
  const network = maskTo(value128, prefix, bits);
  if (network !== value128) {
    const suggestion = `${bracketed ? '[' : ''}${v4 ? formatIpv4(network) : formatIpv6(network)}${bracketed ? ']' : ''}/${prefix}`;
    throw bad(
      'has host bits set after the prefix (Postfix stops with "non-null host address bits")',
      `did you mean ${negated ? '!' : ''}${suggestion}?`,
    );
  }
  if (negated) return; // excluding a wide network narrows the list
  checkWidth(v4 ? { v4: true, prefix, network } : { v4: false, prefix, network }, bad);
}

function checkWidth(n: { v4: boolean; prefix: number; network: bigint }, bad: (problem: string, fix: string) => PostfixConfigError): void {
  const fix =
    'list only the networks of your own clients (e.g. 127.0.0.0/8, 192.0.2.0/24); let everyone else authenticate with SASL on the submission port';
  if (n.v4) {
    if (n.prefix < MIN_IPV4_PREFIX)
      throw bad(
        `covers ${share(n.prefix)} of all IPv4 addresses: every client in it may relay (mynetworks entries must be /${MIN_IPV4_PREFIX} or narrower)`,
        fix,
      );
    return;
  }
  if (n.prefix < MIN_IPV6_PREFIX)
    throw bad(
      `covers ${share(n.prefix)} of all IPv6 addresses: every client in it may relay (IPv6 mynetworks entries must be /${MIN_IPV6_PREFIX} or narrower)`,
      fix,
    );
  for (const embedded of IPV4_IN_IPV6) {
    if (n.prefix >= 96 && n.network >> 32n === embedded >> 32n) {
      if (n.prefix - 96 < MIN_IPV4_PREFIX)
        throw bad(
          `covers ${share(n.prefix - 96)} of all IPv4 addresses (as IPv4-mapped or NAT64 addresses): every client in it may relay`,
          fix,
        );
      return;
    }
    if (n.prefix < 96 && maskTo(embedded, n.prefix, 128) === n.network)
      throw bad('covers every IPv4 address (as IPv4-mapped or NAT64 addresses): every client may relay', fix);
  }
}

function share(prefix: number): string {
  return prefix === 0 ? 'all' : `1/${2 ** prefix}`;
}

/** `2001:db8::/32` or `::1`: Postfix's list parser sees the colon first and takes it for type:table. */
function looksLikeBareIpv6(entry: string): boolean {
  const address = entry.split('/')[0];
  return !entry.startsWith('[') && isIPv6(address);
}

function ipv4Value(a: string): bigint {
  return a.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6Value(a: string): bigint {
  let text = a;
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4tail) {
    const v = ipv4Value(v4tail[1]);
    text = `${text.slice(0, v4tail.index)}${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function maskTo(value: bigint, prefix: number, bits: number): bigint {
  const hostBits = BigInt(bits - prefix);
  return (value >> hostBits) << hostBits;
}

function formatIpv4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
}

function formatIpv6(v: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  // Compress the longest run of two or more zero groups (RFC 5952).
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}
