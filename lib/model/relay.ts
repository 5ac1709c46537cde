/**
 * Relay safety from effective values: for every smtpd service, the restriction lists it will really
 * run (its master.cf `-o` overrides over main.cf over Postfix's defaults, $name references
 * expanded), evaluated the way smtpd does for one client: unauthenticated, outside mynetworks,
 * asking for a recipient in a domain this host does not serve. Anything that cannot be shown to
 * refuse that client is reported. Pure: tables are described by the caller.
 *
 * Postfix's order (postconf(5) smtpd_relay_restrictions, smtpd_recipient_restrictions,
 * smtpd_delay_reject): the client, HELO and sender lists run first (with smtpd_delay_reject = yes at
 * RCPT time); a "permit" there ends only that list, a reject refuses the client. Then at RCPT
 * smtpd_relay_restrictions and, unless that rejected, smtpd_recipient_restrictions: the recipient is
 * accepted when neither list rejects. An empty smtpd_relay_restrictions leaves the decision to
 * smtpd_recipient_restrictions, and the end of a list permits. (When neither list names a relay
 * control at all, smtpd refuses to start; that is reported too: it proves nothing about the next edit.)
 */
import { lookupParameter } from './catalog';
import { PostfixConfigError } from './errors';
import { expand, Lookup, Unresolvable } from './expand';
import { checkMynetworks } from './mynetworks';
import { splitTopLevel } from './values';

/** One smtpd service as master.cf will hold it. */
export interface RelayService {
  /** `name/type`, e.g. `submission/inet`. */
  readonly key: string;
  /** `-o name=value` overrides. */
  readonly options: Readonly<Record<string, string>>;
}

export interface RelayCheckInput {
  /** Host (construct path or address) for messages. */
  readonly where: string;
  /** main.cf values that are set (the bundle's, or `postconf -n` on the host). */
  readonly main: Readonly<Record<string, string>>;
  /** Every service whose command is smtpd. */
  readonly services: readonly RelayService[];
  /**
   * The actions a lookup table (`type:name`) can return, or undefined when they cannot be known
   * (then the table is assumed able to answer OK). inline: and static: tables are read here.
   */
  readonly tableActions?: (table: string) => readonly string[] | undefined;
  /**
   * compatibility_level values to assume when it is not set (it decides the default of
   * smtpd_relay_restrictions). The host's main.cf is unknown at synth time: the check must hold for
   * Postfix's built-in default (0) and for Debian's stock main.cf (3.6). @default ["0"] (Postfix's
   * built-in default: right for `postconf -n` text, which lists compatibility_level when it is set)
   */
  readonly assumeCompatibilityLevels?: readonly string[];
}

type Verdict =
  { readonly kind: 'refuse' } | { readonly kind: 'pass' } | { readonly kind: 'open'; readonly item: string; readonly reason: string };

/** Refuse the model client wherever they are reached in the RCPT lists. */
const REFUSE_AT_RCPT = new Set(['reject', 'defer', 'reject_unauth_destination', 'defer_unauth_destination', 'defer_if_permit']);
/** Refuse the model client in the client and sender lists (the unauth_destination ones need a recipient). */
const REFUSE_EARLY = new Set(['reject', 'defer']);
/** Never permit the model client: they test for mynetworks, SASL, a listed client certificate, a local destination or the host's own address. */
const NEVER_PERMIT = new Set([
  'permit_mynetworks',
  'permit_sasl_authenticated',
  'permit_tls_clientcerts',
  'permit_auth_destination',
  'permit_inet_interfaces',
  'defer_if_reject',
  'sleep',
]);
/** Restrictions that take one argument (a table, a DNS list, a server, seconds). */
const TAKES_ARGUMENT = /^(check_\w+|reject_rbl_client|reject_rhsbl_\w+|permit_dnswl_client|permit_rhswl_client|sleep)$/;
const MAY_PERMIT: Readonly<Record<string, string>> = {
  permit: 'permits every client',
  permit_mx_backup: 'permits any domain whose MX record names this host, which the sender can arrange (postconf(5) advises against it)',
  permit_tls_all_clientcerts: 'permits any client with a certificate from any trusted CA',
  permit_dnswl_client: 'permits clients listed by a DNS allowlist, which this host does not control',
  permit_rhswl_client: 'permits clients listed by a DNS allowlist, which this host does not control',
  check_relay_domains: 'is obsolete; it permitted clients whose host name matches relay_domains',
  check_policy_service: 'asks a policy server, which can answer OK',
};

interface Context {
  readonly lookup: Lookup;
  readonly classes: ReadonlySet<string>;
  readonly tableActions: (table: string) => readonly string[] | undefined;
}

/** Items of a restriction list, each restriction with its argument. */
export function restrictionItems(value: string): string[] {
  const items: string[] = [];
  for (const word of splitTopLevel(value)) {
    const last = items[items.length - 1];
    if (last !== undefined && !last.includes(' ') && TAKES_ARGUMENT.test(last)) items[items.length - 1] = `${last} ${word}`;
    else items.push(word);
  }
  return items;
}

/** Evaluates one list for the model client; `refuse` is the set that refuses in this list's stage. */
function evaluate(value: string, ctx: Context, refuse: ReadonlySet<string>, depth = 0): Verdict {
  if (depth > 10) return { kind: 'open', item: value, reason: 'restriction classes nest too deeply to follow' };
  let warnOnly = false;
  for (const item of restrictionItems(value)) {
    const verdict = evaluateItem(item, ctx, refuse, depth);
    const wasWarnOnly = warnOnly;
    warnOnly = item === 'warn_if_reject';
    // warn_if_reject turns the next restriction's reject into a log line (postconf(5)).
    if (verdict.kind === 'refuse' && wasWarnOnly) continue;
    if (verdict.kind !== 'pass') return verdict;
  }
  return { kind: 'pass' };
}

function evaluateItem(item: string, ctx: Context, refuse: ReadonlySet<string>, depth: number): Verdict {
  const space = item.indexOf(' ');
  const name = space < 0 ? item : item.slice(0, space);
  const arg = space < 0 ? undefined : item.slice(space + 1);
  if (refuse.has(name)) return { kind: 'refuse' };
  if (REFUSE_AT_RCPT.has(name) || NEVER_PERMIT.has(name) || name === 'warn_if_reject') return { kind: 'pass' };
  if (MAY_PERMIT[name]) return { kind: 'open', item, reason: `${name} ${MAY_PERMIT[name]}` };
  if (/^check_\w+_access$/.test(name) && arg !== undefined) {
    // Before RCPT a table can end its list but never refuse for certain: no need to read it.
    return refuse === REFUSE_EARLY ? { kind: 'pass' } : evaluateTable(item, arg, ctx, refuse, depth);
  }
  // Conditional refusals (reject_unknown_*, reject_rbl_client, reject_non_fqdn_*...) may or may not fire: they prove nothing.
  if (/^(reject|defer)_/.test(name)) return { kind: 'pass' };
  if (ctx.classes.has(name)) {
    const body = resolveList(name, ctx.lookup);
    if (body.kind === 'unknown') return { kind: 'open', item, reason: body.reason };
    return evaluate(body.value, ctx, refuse, depth + 1);
  }
  return { kind: 'open', item, reason: `"${name}" is not a restriction this check understands, so it cannot be shown to refuse` };
}

function evaluateTable(item: string, table: string, ctx: Context, refuse: ReadonlySet<string>, depth: number): Verdict {
  const actions = builtinTableActions(table) ?? ctx.tableActions(table);
  if (actions === undefined) return { kind: 'open', item, reason: `${table} can answer OK (its entries are not known here)` };
  for (const action of actions) {
    const word = (action.trim().split(/[\s,]+/)[0] ?? '').toUpperCase();
    if (word === 'OK' || (/^\d+$/.test(word) && !/^[45]\d\d$/.test(word)))
      return { kind: 'open', item, reason: `${table} has an entry that answers ${action.trim()} (access(5): OK accepts)` };
    if (/^([45]\d\d|REJECT|DEFER|DEFER_IF_REJECT|DEFER_IF_PERMIT|BCC|DISCARD|DUNNO|FILTER|HOLD|PREPEND|REDIRECT|INFO|WARN)$/.test(word))
      continue;
    // Any other result is a restriction list (access(5) "restriction..."), evaluated in place.
    const verdict = evaluate(action, ctx, refuse, depth + 1);
    if (verdict.kind === 'open') return { kind: 'open', item, reason: `${table} has an entry "${action.trim()}": ${verdict.reason}` };
  }
  return { kind: 'pass' };
}

/** inline:{ k=v, ... } and static:value carry their results in the value itself. */
function builtinTableActions(table: string): string[] | undefined {
  const stat = /^static:(.*)$/s.exec(table);
  if (stat) return [unbrace(stat[1])];
  const inline = /^inline:\{(.*)\}$/s.exec(table);
  if (!inline) return undefined;
  return splitTopLevel(inline[1].replace(/,/g, ' , '))
    .filter((e) => e !== ',')
    .map((e) => {
      const entry = unbrace(e);
      return entry.slice(entry.indexOf('=') + 1).trim();
    });
}

function unbrace(text: string): string {
  const t = text.trim();
  return t.startsWith('{') && t.endsWith('}') ? t.slice(1, -1).trim() : t;
}

type Resolved = { kind: 'known'; value: string } | { kind: 'unknown'; reason: string };

function resolveList(name: string, lookup: Lookup): Resolved {
  const raw = lookup(name);
  if (raw === undefined) return { kind: 'unknown', reason: `${name} has no value that can be known here` };
  try {
    return { kind: 'known', value: expand(raw, lookup) };
  } catch (e) {
    if (e instanceof Unresolvable) return { kind: 'unknown', reason: e.message };
    throw e;
  }
}

/** The service's parameter lookup: its -o overrides, then main.cf, then Postfix's defaults. */
function serviceLookup(main: Readonly<Record<string, string>>, options: Readonly<Record<string, string>>): Lookup {
  return (name) => {
    if (Object.prototype.hasOwnProperty.call(options, name)) return options[name];
    if (Object.prototype.hasOwnProperty.call(main, name)) return main[name];
    return lookupParameter(name)?.default ?? undefined;
  };
}

function sourceOf(name: string, main: Readonly<Record<string, string>>, options: Readonly<Record<string, string>>): string {
  if (Object.prototype.hasOwnProperty.call(options, name)) return `its -o ${name}`;
  if (Object.prototype.hasOwnProperty.call(main, name)) return 'main.cf';
  return "Postfix's default";
}

/** Every relay problem of every service (empty: all refuse the model client), as errors. */
export function findRelayProblems(input: RelayCheckInput): PostfixConfigError[] {
  const problems: PostfixConfigError[] = [];
  const levels = Object.prototype.hasOwnProperty.call(input.main, 'compatibility_level')
    ? [undefined]
    : (input.assumeCompatibilityLevels ?? ['0']);
  if (input.main.mynetworks !== undefined) problems.push(...mynetworksProblem(input.where, 'mynetworks', input.main.mynetworks));
  for (const service of input.services) {
    const own = service.options.mynetworks;
    if (own !== undefined) problems.push(...mynetworksProblem(input.where, `service ${service.key} -o mynetworks`, own));
    for (const level of levels) {
      const main = level === undefined ? input.main : { ...input.main, compatibility_level: level };
      const problem = serviceProblem(input, service, main, level);
      if (problem) {
        problems.push(problem);
        break;
      }
    }
  }
  return problems;
}

function mynetworksProblem(where: string, field: string, value: string): PostfixConfigError[] {
  try {
    checkMynetworks(where, field, value);
    return [];
  } catch (e) {
    if (e instanceof PostfixConfigError) return [e];
    throw e;
  }
}

function serviceProblem(
  input: RelayCheckInput,
  service: RelayService,
  main: Readonly<Record<string, string>>,
  assumedLevel: string | undefined,
): PostfixConfigError | undefined {
  const lookup = serviceLookup(main, service.options);
  const classesValue = resolveList('smtpd_restriction_classes', lookup);
  const classes = new Set(classesValue.kind === 'known' ? splitTopLevel(classesValue.value) : []);
  const ctx: Context = { lookup, classes, tableActions: input.tableActions ?? (() => undefined) };
  const list = (name: string) => resolveList(name, lookup);
  const early = ['smtpd_client_restrictions', 'smtpd_sender_restrictions'];
  // Without HELO (allowed unless smtpd_helo_required = yes) the HELO list is skipped at RCPT.
  const heloRequired = list('smtpd_helo_required');
  if (heloRequired.kind === 'known' && /^yes$/i.test(heloRequired.value.trim())) early.push('smtpd_helo_restrictions');
  for (const name of early) {
    const r = list(name);
    if (r.kind === 'known' && evaluate(r.value, ctx, REFUSE_EARLY).kind === 'refuse') return undefined;
  }
  const relay = list('smtpd_relay_restrictions');
  const recipient = list('smtpd_recipient_restrictions');
  const relayVerdict: Verdict =
    relay.kind === 'known' ? evaluate(relay.value, ctx, REFUSE_AT_RCPT) : { kind: 'open', item: '', reason: relay.reason };
  if (relayVerdict.kind === 'refuse') return undefined;
  const recipientVerdict: Verdict =
    recipient.kind === 'known' ? evaluate(recipient.value, ctx, REFUSE_AT_RCPT) : { kind: 'open', item: '', reason: recipient.reason };
  if (recipientVerdict.kind === 'refuse') return undefined;
  const blame = relayVerdict.kind === 'open' ? 'smtpd_relay_restrictions' : 'smtpd_recipient_restrictions';
  const verdict = relayVerdict.kind === 'open' ? relayVerdict : recipientVerdict;
  const blamed = blame === 'smtpd_relay_restrictions' ? relay : recipient;
  const shown = (r: Resolved) => (r.kind === 'known' ? JSON.stringify(r.value) : '(unknown)');
  const why =
    verdict.kind === 'open'
      ? `${verdict.item ? `"${verdict.item}" ` : ''}${verdict.reason}`
      : 'no restriction refuses it, and the end of a list permits';
  const assumption = assumedLevel !== undefined ? ` (assuming compatibility_level = ${assumedLevel}, which the stack does not set)` : '';
  return new PostfixConfigError(
    input.where,
    `service ${service.key} ${blame}`,
    blamed.kind === 'known' ? blamed.value : undefined,
    `an unauthenticated client outside mynetworks could relay mail to any domain through this service (an open relay)${assumption}: ${why}; ` +
      `effective smtpd_relay_restrictions = ${shown(relay)} (from ${sourceOf('smtpd_relay_restrictions', main, service.options)}), ` +
      `smtpd_recipient_restrictions = ${shown(recipient)} (from ${sourceOf('smtpd_recipient_restrictions', main, service.options)})`,
    'end smtpd_relay_restrictions with reject_unauth_destination (or reject on a submission port), e.g. "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination", and place anything that can answer OK after it',
  );
}

/** Throws the first relay problem. */
export function checkRelaySafety(input: RelayCheckInput): void {
  const [first] = findRelayProblems(input);
  if (first) throw first;
}
