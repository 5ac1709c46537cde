/**
 * The one place that knows what a TCP port and a "host:port" look like, for SSH connections
 * (`--host`, connection.port), the TLS probe (`tls-check HOST:PORT`) and the after-apply checks.
 *
 *   mx1.example.org            host name, default port (if any)
 *   mx1.example.org:2222       host name and port
 *   192.0.2.1:25               IPv4 and port
 *   [2001:db8::1]:2222         IPv6 and port: brackets, because every colon belongs to the address
 *   [2001:db8::1], 2001:db8::1 IPv6 without port
 *   mx1.example.org:submission a well-known service name instead of the number
 */
import { isIP } from 'net';
import { PostfixConfigError } from './errors';

/** Mail service names (master(5) inet services) and the ports /etc/services gives them. */
export const WELL_KNOWN_PORTS: Readonly<Record<string, number>> = Object.freeze({
  smtp: 25,
  submission: 587,
  submissions: 465,
  smtps: 465,
});

export interface Endpoint {
  readonly host: string;
  /** Absent when the text named none and no default was given. */
  readonly port?: number;
}

export interface EndpointOptions {
  /** Host (construct path) or file the value belongs to, for the error message. @default "" */
  readonly where?: string;
  /** The flag or field the value came from, e.g. `--host`. */
  readonly field: string;
  /** Used when the text names no port. */
  readonly defaultPort?: number;
  /** A port must be given (or defaulted). @default false */
  readonly requirePort?: boolean;
  /** What the fix suggests. @default "mx1.example.org:2222 or [2001:db8::1]:2222" */
  readonly example?: string;
}

const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/;
const PORT_FIX = `use a whole number from 1 to 65535 or one of ${Object.keys(WELL_KNOWN_PORTS).join(', ')}`;

/** A well-known service name or a number 1-65535 -> the port number; anything else throws. */
export function parsePort(value: number | string, field: string, where = ''): number {
  const port = portOf(value);
  if (port === undefined) throw new PostfixConfigError(where, field, String(value), 'not a TCP port', PORT_FIX);
  return port;
}

/** A number 1-65535 (no service names: e.g. an SSH port handed to ssh2 as a number). */
export function parsePortNumber(value: number | string, field: string, where = ''): number {
  const n = numberOf(value);
  if (n === undefined) throw new PostfixConfigError(where, field, String(value), 'not a TCP port', 'use a whole number from 1 to 65535');
  return n;
}

function portOf(value: number | string): number | undefined {
  return WELL_KNOWN_PORTS[String(value).trim().toLowerCase()] ?? numberOf(value);
}

function numberOf(value: number | string): number | undefined {
  const text = String(value).trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  return isPortNumber(n) ? n : undefined;
}

/** True for a port number Postfix and ssh accept (1-65535). */
export function isPortNumber(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

/**
 * An IPv4/IPv6 address or a DNS name / ~/.ssh/config alias. No leading dash: the host travels as
 * an argv value (ssh, openssl) and must never look like an option.
 */
export function isEndpointHost(host: string): boolean {
  return isIP(host) !== 0 || HOST_NAME.test(host);
}

/** The forms listed at the top of this file -> host and port; bad input throws a PostfixConfigError. */
export function parseEndpoint(text: string, options: EndpointOptions & { requirePort: true }): Required<Endpoint>;
export function parseEndpoint(text: string, options: EndpointOptions): Endpoint;
export function parseEndpoint(text: string, options: EndpointOptions): Endpoint {
  const { where = '', field, example = 'mx1.example.org:2222 or [2001:db8::1]:2222' } = options;
  const bad = (problem: string, fix = `write HOST or HOST:PORT, e.g. ${example}`) =>
    new PostfixConfigError(where, field, text, problem, fix);
  const { host, port } = splitEndpoint(text.trim(), bad);
  if (!isEndpointHost(host)) {
    throw bad(host === '' ? 'names no host' : `"${host}" is not a host name, IPv4 or IPv6 address`);
  }
  if (port !== undefined) {
    const n = portOf(port);
    if (n === undefined) throw bad(`port "${port}" is not a TCP port`, `${PORT_FIX}, e.g. ${example}`);
    return { host, port: n };
  }
  if (options.defaultPort !== undefined) return { host, port: options.defaultPort };
  if (options.requirePort) throw bad('names no port', `add the port, e.g. ${example}`);
  return { host };
}

/** Split before validating: brackets first, then a bare IPv6 address, then the one colon of HOST:PORT. */
function splitEndpoint(v: string, bad: (problem: string, fix?: string) => PostfixConfigError): { host: string; port?: string } {
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(v);
  if (bracketed) {
    if (isIP(bracketed[1]) !== 6) throw bad(`"${bracketed[1]}" in brackets is not an IPv6 address`);
    return { host: bracketed[1], port: bracketed[2] };
  }
  if (isIP(v) === 6) return { host: v };
  const colons = v.split(':').length - 1;
  if (colons === 0) return { host: v };
  if (colons > 1)
    throw bad('has several colons but is not an IPv6 address', 'put an IPv6 address with a port in brackets, e.g. [2001:db8::1]:2222');
  return { host: v.slice(0, v.indexOf(':')), port: v.slice(v.indexOf(':') + 1) };
}

/** host + port -> text that parseEndpoint reads back (IPv6 in brackets). */
export function formatEndpoint(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
