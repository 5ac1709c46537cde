/**
 * Shared rules for DNS record inputs: domain names, labels, TTLs, report URIs, and values that are
 * only known at deploy time. Pure: no I/O, no cdktf import.
 */
import { PostfixConfigError } from '../errors';

/**
 * A value the construct layer could not resolve at synth (a Terraform token such as
 * `${TfToken[TOKEN.12]}` or an interpolation `${aws_instance.mx.public_ip}`). Builders pass such
 * values through unchanged and skip the checks that need the literal text. SPF macros use `%{`,
 * never `${`, so the two cannot be confused.
 */
export function isDeferred(value: string): boolean {
  return value.includes('${') || value.includes('#{TfToken[');
}

export function dnsError(field: string, value: string | undefined, problem: string, fix: string): PostfixConfigError {
  return new PostfixConfigError('', field, value, problem, fix);
}

/** RFC 1035 §2.3.1 / RFC 1123 §2.1: letters, digits and inner hyphens, 1 to 63 octets. */
const LDH_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * A host or mail domain as DNS owner names use it: at least two labels, each a letter-digit-hyphen
 * label, at most 253 octets. A trailing dot is accepted and dropped; the result is lower case
 * (DNS names compare case-insensitively, RFC 4343). Deferred values pass through.
 */
export function validateDomain(value: string, field: string): string {
  if (isDeferred(value)) return value;
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  const labels = name.split('.');
  if (name.length === 0 || name.length > 253 || labels.length < 2 || !labels.every((l) => LDH_LABEL.test(l))) {
    throw dnsError(
      field,
      value,
      'is not a fully qualified domain name (labels of letters, digits and inner hyphens, at least two labels, at most 253 characters)',
      'give a name such as example.org or mx1.example.org, without spaces, underscores or a scheme',
    );
  }
  return name.toLowerCase();
}

/** One DNS label without dots, as a DKIM selector or similar owner-name prefix must be. */
export function validateLabel(value: string, field: string, fix: string): string {
  if (isDeferred(value)) return value;
  if (!LDH_LABEL.test(value)) {
    const problem = value.includes('.')
      ? 'contains a dot; this project keeps each selector one DNS label (one key file per selector and domain)'
      : 'is not a DNS label (1 to 63 letters, digits or inner hyphens)';
    throw dnsError(field, value, problem, fix);
  }
  return value.toLowerCase();
}

/** Owner names are capped at 253 octets in text form (RFC 1035 §2.3.4: 255 on the wire). */
export function ownerName(prefix: string, domain: string, field: string): string {
  const name = prefix ? `${prefix}.${domain}` : domain;
  if (!isDeferred(name) && name.length > 253) {
    throw dnsError(field, name, 'makes an owner name longer than 253 characters', 'use a shorter selector or domain');
  }
  return name;
}

/** Default TTL for the records we emit: one hour, short enough to roll keys and policies. */
export const DEFAULT_TTL = 3600;

/** RFC 2181 §8: a TTL is an unsigned 31-bit number of seconds. */
export function validateTtl(ttl: number | undefined, field = 'ttl'): number {
  if (ttl === undefined) return DEFAULT_TTL;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 2147483647) {
    throw dnsError(field, String(ttl), 'is not a whole number of seconds from 0 to 2147483647 (RFC 2181 §8)', `use e.g. ${DEFAULT_TTL}`);
  }
  return ttl;
}

/** A whole number within [min, max]; for preferences, percentages, ages. */
export function validateIntRange(value: number, field: string, min: number, max: number, fix: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw dnsError(field, String(value), `is not a whole number from ${min} to ${max}`, fix);
  }
  return value;
}

/** local@domain: a plain address, no display name, no spaces, no characters a URI list would split on. */
const MAIL_ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9.-]+)$/;

/**
 * A `mailto:` report URI for DMARC rua/ruf (RFC 7489 §6.2, with an optional `!size` limit such as
 * `!10m`) or TLSRPT rua (RFC 8460 §3, which also allows `https:`). Commas and semicolons separate
 * URIs and tags, so a URI holding one must percent-encode it; we refuse it rather than guess.
 */
export function validateReportUri(uri: string, field: string, opts: { allowHttps: boolean; allowSizeLimit: boolean }): ReportUri {
  if (isDeferred(uri)) return { uri, domain: undefined };
  const https = opts.allowHttps && /^https:\/\/[A-Za-z0-9.-]+(?::\d+)?(?:\/[^\s,;]*)?$/.test(uri);
  if (https) return { uri, domain: validateDomain(new URL(uri).hostname, field) };
  const limit = opts.allowSizeLimit ? '(?:![0-9]+[kmgt]?)?' : '';
  const m = new RegExp(`^mailto:([^\\s,;!]+)${limit}$`, 'i').exec(uri);
  const address = m ? MAIL_ADDRESS.exec(m[1]) : null;
  if (!address) {
    const schemes = opts.allowHttps
      ? 'mailto:reports@example.org or https://reports.example.org/tlsrpt'
      : 'mailto:dmarc-reports@example.org';
    throw dnsError(field, uri, 'is not a report URI (a mailto: address without spaces, commas or semicolons)', `use e.g. ${schemes}`);
  }
  return { uri, domain: validateDomain(address[1], field) };
}

export interface ReportUri {
  readonly uri: string;
  /** The domain that receives the reports, when known at synth. */
  readonly domain: string | undefined;
}

/** A key or other secret must never reach an error message: show its first line only if it is a PEM header. */
export function describeSecret(text: string): string {
  const first = text.trim().split('\n')[0];
  return /^-----BEGIN [A-Z0-9 ]+-----$/.test(first) ? first : `(${text.length} characters, not shown)`;
}
