/**
 * Synth-time validation of main.cf settings: names against the catalog, values against
 * the rules main.cf syntax imposes and against the parameter's kind, and a few cross-field rules
 * that Postfix itself only enforces when a daemon starts (too late for a deploy).
 */
import { lookupParameter, ParameterKind, ParameterNameOptions, suggestParameters } from './catalog';
import { PostfixConfigError } from './errors';
import { checkKind, splitTopLevel } from './values';

export type ValidateOptions = ParameterNameOptions;

/** Throws PostfixConfigError when `name = value` would be wrong in main.cf. */
export function validateParameter(where: string, name: string, value: string, opts: ValidateOptions = {}): void {
  const info = lookupParameter(name, opts);
  if (!info) throw unknownParameterError(where, name, value, opts);
  if (info.readOnly) {
    throw new PostfixConfigError(
      where,
      name,
      value,
      'Postfix sets this parameter itself and ignores assignments to it (postconf warns "read-only parameter assignment")',
      `remove the ${name} setting`,
    );
  }
  validateValueSyntax(where, name, value);
  validateNoSelfReference(where, name, value);
  validateValueKind(where, name, value, info.kind);
  validateEnumeration(where, name, value);
  validatePattern(where, name, value);
}

function unknownParameterError(where: string, name: string, value: string, opts: ValidateOptions): PostfixConfigError {
  const suggestions = suggestParameters(name, 3, opts.userDefined ?? []);
  const guess = suggestions.length > 0 ? `did you mean ${suggestions.join(' or ')}? ` : '';
  return new PostfixConfigError(
    where,
    name,
    value,
    'Postfix 3.7 has no parameter of that name (postconf would report it as unused)',
    `${guess}If this is your own parameter for use as $${name} elsewhere, list it in userDefined`,
  );
}

/**
 * Rules every main.cf (and master.cf -o) value obeys whatever its kind: one line, and no `#`
 * that a reader would take for a comment (Postfix 3.7 keeps a trailing "# text" in the value).
 */
export function validateValueSyntax(where: string, field: string, value: string): void {
  if (/[\n\r\0]/.test(value)) {
    throw new PostfixConfigError(
      where,
      field,
      value,
      'the value contains a newline, carriage return or NUL character',
      'put the value on one line; use commas or spaces to separate list items',
    );
  }
  if (/^#|\s#/.test(value)) {
    throw new PostfixConfigError(
      where,
      field,
      value,
      'the value contains a "#" comment; Postfix treats "#" as a comment only at the start of a line, so the text after it would become part of the value',
      'remove the "# ..." text from the value (put comments in your code instead)',
    );
  }
}

/** `name = $name` makes postconf and every daemon stop ("unreasonable macro call nesting"; checked). */
function validateNoSelfReference(where: string, name: string, value: string): void {
  const escaped = name.replace(/[-]/g, '\\-');
  const self = new RegExp(`\\$(?:${escaped}(?![A-Za-z0-9_])|\\{${escaped}[}?:]|\\(${escaped}[)?:])`);
  if (!self.test(value)) return;
  throw new PostfixConfigError(
    where,
    name,
    value,
    `the value refers to $${name} itself, which Postfix cannot expand`,
    `write the value out in full, or refer to a different parameter`,
  );
}

function validateValueKind(where: string, name: string, value: string, kind: ParameterKind): void {
  const problem = checkKind(kind, value);
  if (problem) throw new PostfixConfigError(where, name, value, problem, kindFix(kind));
}

function kindFix(kind: ParameterKind): string {
  switch (kind) {
    case 'boolean':
      return 'use yes or no (or a TypeScript boolean)';
    case 'integer':
      return 'use a whole number such as 20, or a $parameter reference';
    case 'size':
      return 'use a number of bytes such as 25000000, or parseSize("25MB")';
    case 'time':
      return 'use a number with an optional unit: s (seconds), m, h, d or w, e.g. 300s or 5d';
    case 'lookup':
      return 'write each table as type:name, e.g. hash:/etc/postfix/virtual or regexp:/etc/postfix/header_checks';
    default:
      return 'correct the value';
  }
}

/** Parameters with a fixed vocabulary, where a typo silently changes behaviour or stops a daemon. */
interface Enumeration {
  readonly words: readonly string[];
  readonly multiple: boolean;
  /** Empty TLS levels are valid (they mean "use the legacy setting"); elsewhere empty is a fatal error. */
  readonly emptyAllowed?: boolean;
}

const ENUMERATIONS: Readonly<Record<string, Enumeration>> = {
  inet_protocols: { words: ['all', 'ipv4', 'ipv6'], multiple: true },
  smtpd_tls_security_level: { words: ['none', 'may', 'encrypt'], multiple: false, emptyAllowed: true },
  smtp_tls_security_level: {
    words: ['none', 'may', 'encrypt', 'dane', 'dane-only', 'fingerprint', 'verify', 'secure'],
    multiple: false,
    emptyAllowed: true,
  },
  lmtp_tls_security_level: {
    words: ['none', 'may', 'encrypt', 'dane', 'dane-only', 'fingerprint', 'verify', 'secure'],
    multiple: false,
    emptyAllowed: true,
  },
  smtp_address_preference: { words: ['any', 'ipv4', 'ipv6'], multiple: false },
  // postconf and every daemon stop with "bad mynetworks_style value" (checked) when mynetworks is derived from it.
  mynetworks_style: { words: ['host', 'subnet', 'class'], multiple: false },
};

/** Parameters whose syntax postconf itself checks while reading main.cf (it stops on a mismatch; checked). */
const PATTERNS: Readonly<Record<string, { readonly pattern: RegExp; readonly problem: string; readonly fix: string }>> = {
  compatibility_level: {
    pattern: /^\d+(\.\d+){0,2}$/,
    problem: 'malformed compatibility level; postconf and every daemon stop with "macro processing error"',
    fix: 'use a Postfix release level such as 3.6 or 2, or leave it unset',
  },
};

function validatePattern(where: string, name: string, value: string): void {
  const rule = PATTERNS[name];
  if (!rule || value.includes('$') || rule.pattern.test(value.trim())) return;
  throw new PostfixConfigError(where, name, value, rule.problem, rule.fix);
}

function validateEnumeration(where: string, name: string, value: string): void {
  const rule = ENUMERATIONS[name];
  if (!rule || value.includes('$')) return;
  const items = splitTopLevel(value);
  const fix = `use ${rule.multiple ? 'one or more' : 'one'} of: ${rule.words.join(', ')}`;
  if (!rule.multiple && items.length > 1) throw new PostfixConfigError(where, name, value, 'expected a single word', fix);
  if (items.length === 0 && !rule.emptyAllowed) throw new PostfixConfigError(where, name, value, `an empty ${name} is not valid`, fix);
  const bad = items.find((item) => !rule.words.includes(item.toLowerCase()));
  if (bad !== undefined) throw new PostfixConfigError(where, name, value, `"${bad}" is not a valid ${name} value`, fix);
}

/** The value main.cf would have: the given one, else the catalog default. */
function effective(params: Readonly<Record<string, string>>, name: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(params, name)) return params[name];
  return lookupParameter(name)?.default ?? undefined;
}

/** A byte count, or undefined when the value is a `$reference` or otherwise not plain digits. */
function bytes(params: Readonly<Record<string, string>>, name: string): bigint | undefined {
  const value = effective(params, name);
  return value !== undefined && /^\+?\d+$/.test(value) ? BigInt(value) : undefined;
}

/** Throws PostfixConfigError for combinations of settings that Postfix refuses or ignores at run time. */
export function validateCrossField(where: string, params: Readonly<Record<string, string>>): void {
  checkMailboxNotSmallerThanMessage(where, params, 'mailbox_size_limit', 'local(8)');
  checkMailboxNotSmallerThanMessage(where, params, 'virtual_mailbox_limit', 'virtual(8)');
  checkQueueMinfree(where, params);
  checkRelayControl(where, params);
  checkInterfacesMatchProtocols(where, params);
}

/**
 * postconf and every daemon stop with "config variable inet_interfaces: host not found" when
 * inet_interfaces names an address of a protocol that inet_protocols leaves out (checked with 3.7.11).
 */
function checkInterfacesMatchProtocols(where: string, params: Readonly<Record<string, string>>): void {
  const protocols = effective(params, 'inet_protocols');
  const interfaces = effective(params, 'inet_interfaces');
  if (protocols === undefined || interfaces === undefined || protocols.includes('$') || interfaces.includes('$')) return;
  const enabled = new Set(splitTopLevel(protocols).map((p) => p.toLowerCase()));
  if (enabled.has('all')) return;
  const isIpv6 = (a: string) => a.startsWith('[') || a.includes(':');
  const isIpv4 = (a: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(a);
  for (const address of splitTopLevel(interfaces)) {
    const family = isIpv6(address) ? 'ipv6' : isIpv4(address) ? 'ipv4' : undefined;
    if (family && !enabled.has(family)) {
      throw new PostfixConfigError(
        where,
        'inet_interfaces',
        interfaces,
        `${address} is an ${family === 'ipv6' ? 'IPv6' : 'IPv4'} address but inet_protocols = ${protocols} leaves ${family} out; Postfix stops with "host not found"`,
        `remove ${address} from inet_interfaces, or add ${family} to inet_protocols`,
      );
    }
  }
}

/** local(8)/virtual(8) stop with a fatal error when a non-zero mailbox limit is below message_size_limit. */
function checkMailboxNotSmallerThanMessage(
  where: string,
  params: Readonly<Record<string, string>>,
  limitName: string,
  agent: string,
): void {
  const limit = bytes(params, limitName);
  const message = bytes(params, 'message_size_limit');
  if (limit === undefined || message === undefined || limit === 0n || limit >= message) return;
  throw new PostfixConfigError(
    where,
    limitName,
    effective(params, limitName),
    `${limitName} (${limit}) is smaller than message_size_limit (${message}); ${agent} refuses to deliver with that setting`,
    `set ${limitName} to at least ${message}, or to 0 for no limit, or lower message_size_limit`,
  );
}

/** A non-zero queue_minfree below 1.5 x message_size_limit has no effect (postconf(5)), which is never what was meant. */
function checkQueueMinfree(where: string, params: Readonly<Record<string, string>>): void {
  const minfree = bytes(params, 'queue_minfree');
  const message = bytes(params, 'message_size_limit');
  if (minfree === undefined || message === undefined || minfree === 0n) return;
  const required = (message * 3n + 1n) / 2n;
  if (minfree >= required) return;
  throw new PostfixConfigError(
    where,
    'queue_minfree',
    effective(params, 'queue_minfree'),
    `queue_minfree (${minfree}) is below 1.5 x message_size_limit (${required}); the SMTP server already requires that much free space, so this setting has no effect`,
    `set queue_minfree to 0 (the default) or to at least ${required}`,
  );
}

const RELAY_CONTROL = [
  'reject',
  'defer',
  'defer_if_permit',
  'reject_unauth_destination',
  'defer_unauth_destination',
  'check_relay_domains',
];

/**
 * smtpd refuses all mail when neither smtpd_relay_restrictions nor smtpd_recipient_restrictions
 * names one of the relay-control restrictions (postconf(5) smtpd_relay_restrictions).
 */
function checkRelayControl(where: string, params: Readonly<Record<string, string>>): void {
  const relay = effective(params, 'smtpd_relay_restrictions') ?? '';
  const recipient = effective(params, 'smtpd_recipient_restrictions') ?? '';
  if (relay.includes('$') || recipient.includes('$')) return;
  const classes = new Set(splitTopLevel(effective(params, 'smtpd_restriction_classes') ?? ''));
  const words = [...splitTopLevel(relay), ...splitTopLevel(recipient)];
  // A restriction class may hide the required restriction; Postfix cannot be second-guessed there.
  if (words.some((w) => RELAY_CONTROL.includes(w) || classes.has(w))) return;
  throw new PostfixConfigError(
    where,
    'smtpd_relay_restrictions',
    relay,
    'neither smtpd_relay_restrictions nor smtpd_recipient_restrictions contains reject_unauth_destination (or reject, defer, defer_if_permit, defer_unauth_destination); the Postfix SMTP server then refuses to receive mail',
    'end smtpd_relay_restrictions with reject_unauth_destination, e.g. "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"',
  );
}
