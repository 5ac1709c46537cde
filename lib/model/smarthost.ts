/**
 * Relaying all outbound mail through a smarthost with SASL (postconf(5) relayhost,
 * smtp_sasl_auth_enable, smtp_sasl_password_maps, smtp_tls_security_level): the pure checks.
 *
 * relayhost forms (postconf(5) relayhost): `[host]:port` and `[host]` connect to the host itself;
 * `host:port` and `host` look up MX records of `host` first, which is rarely what a smarthost user
 * wants (and the sasl_passwd key must then be the MX-looked-up form): it needs `mxLookup: true`.
 */
import { isIP } from 'net';
import { PostfixConfigError } from './errors';

export interface ParsedRelayhost {
  /** As Postfix will see it: also the sasl_passwd lookup key (SASL_README: the relayhost value). */
  readonly relayhost: string;
  readonly host: string;
  readonly port: number;
  /** True for `[host]` forms: no MX lookup. */
  readonly bracketed: boolean;
}

/** The levels that keep the password off the wire in clear (TLS_README: encrypt, or secure with a verified name). */
export const SASL_TLS_LEVELS: readonly string[] = ['encrypt', 'secure', 'verify', 'dane-only'];

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;
const FIX = 'write it as [smtp.example.net]:587 (brackets: connect to that host, no MX lookup)';

/** `[host]:port`, `[host]`, `host:port` or `host` (the last two only with mxLookup); the port defaults to 25 as in Postfix. */
export function parseRelayhost(where: string, value: string, mxLookup = false): ParsedRelayhost {
  const m = /^(?:\[([^\]]+)\]|([^[\]:]+))(?::(\d+))?$/.exec(value.trim() === value ? value : '');
  if (!m) throw new PostfixConfigError(where, 'relayhost', value, 'not a relayhost', FIX);
  const bracketed = m[1] !== undefined;
  const host = (m[1] ?? m[2]).replace(/^ipv6:/i, '');
  if (!(HOST_NAME.test(host) || isIP(host) !== 0)) {
    throw new PostfixConfigError(where, 'relayhost', value, `"${host}" is neither a host name nor an IP address`, FIX);
  }
  if (!bracketed && isIP(host) !== 0) {
    throw new PostfixConfigError(
      where,
      'relayhost',
      value,
      'an IP address needs brackets (postconf(5): a bare name is looked up in DNS)',
      `write it as [${host}]${m[3] ? `:${m[3]}` : ''}`,
    );
  }
  if (!bracketed && !mxLookup) {
    throw new PostfixConfigError(
      where,
      'relayhost',
      value,
      'without brackets Postfix looks up the MX records of the name and relays to whatever they name',
      `write [${host}]${m[3] ? `:${m[3]}` : ':587'} to connect to that host, or set mxLookup: true if MX lookup is what you want`,
    );
  }
  const port = m[3] === undefined ? 25 : Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PostfixConfigError(
      where,
      'relayhost',
      value,
      `port ${m[3]} is outside 1-65535`,
      "use the smarthost's submission port, usually 587 (or 465 with wrapper mode)",
    );
  }
  return { relayhost: value, host, port, bracketed };
}

/**
 * sasl_passwd lines are `key user:password` (SASL_README): the user may not hold whitespace (it
 * would split the line), a colon (it ends the user) or control characters.
 */
export function validateSaslUsername(where: string, value: string): void {
  if (value.length === 0)
    throw new PostfixConfigError(
      where,
      'username',
      value,
      'is empty',
      'give the account name the smarthost expects, e.g. relay@example.net',
    );
  if (/[\s:\0-\x1f\x7f]/.test(value)) {
    throw new PostfixConfigError(
      where,
      'username',
      value,
      'holds whitespace, a colon or a control character, which the sasl_passwd format (key user:password) cannot carry',
      'use the account name without spaces or colons',
    );
  }
}

/** A literal password in whitespace-free, single-line form (a token is checked by the caller). */
export function validateSaslPassword(where: string, value: string): void {
  if (/[\r\n\0]/.test(value))
    throw new PostfixConfigError(
      where,
      'password',
      undefined,
      'holds a line break or NUL, which would split the sasl_passwd line',
      'use a password without line breaks',
    );
}

/** TLS to the smarthost must be required: with `may` or `none` the password can cross in clear. */
export function validateSaslTlsLevel(where: string, value: string): string {
  if (SASL_TLS_LEVELS.includes(value)) return value;
  const why =
    value === 'may' || value === 'none' || value === ''
      ? 'with SASL the password would cross the network in clear whenever the smarthost offers no STARTTLS'
      : `not a TLS security level for this (postconf(5) smtp_tls_security_level)`;
  throw new PostfixConfigError(
    where,
    'tlsLevel',
    value,
    why,
    'use "encrypt" (TLS required) or "secure" (TLS required and the certificate verified against the name)',
  );
}
