/**
 * Composition: turns everything added to a host, in whatever order it came, into one desired state.
 * Pieces that act on other pieces (restriction placements on restriction lists, TLS and header-check
 * overrides on services, TLS probes on ports) are applied here, once, to the complete set.
 */
import { TlsCheckSpec } from '../model/bundle';
import { validatePort } from '../model/connection';
import { PostfixConfigError } from '../model/errors';
import { MasterServiceSpec } from '../model/master-types';
import {
  DEFAULT_RELAY_RESTRICTIONS,
  findOpenRelay,
  formatRestrictions,
  openRelayError,
  Placement,
  placeCheck,
  RestrictionStage,
  STAGE_CHECK,
  STAGE_PARAMETER,
} from '../model/restrictions';
import { serviceOverrides } from '../model/tls';
import { AccessTableInfo } from './access-table';
import { SubmissionHeaderChecks, submissionHeaderOverrides } from './header-checks';
import { TlsProtocol } from './vocabulary';

export interface Owned<T> {
  readonly value: T;
  /** Who asked for it (a construct path), for conflict messages. */
  readonly source: string;
}

/** check_*_access for one table in one restriction list. */
export interface RestrictionPlacement {
  readonly table: AccessTableInfo;
  readonly stage: RestrictionStage;
  readonly placement?: Placement;
  readonly source: string;
}

/** `-o name=value` on a service. */
export interface ServiceOption {
  readonly key: string;
  readonly name: string;
  readonly value: string;
  readonly source: string;
}

/** A lookup table (or alias file) the composed host lists in a `*_maps` parameter. */
export interface MapsReference {
  readonly parameter: string;
  /** `type:path` or `inline:{ ... }`. */
  readonly reference: string;
  readonly source: string;
}

/** What the TLS probe after each apply checks; `{}` checks the default ports with the default minimum. */
export interface TlsCheckAfterApply {
  /** @default 25 plus the ports of submission and submissions services */
  readonly ports?: number[];
  /** @default TlsProtocol.TLS_V1_2 */
  readonly minProtocol?: TlsProtocol;
}

/** What composition reads: the declarations, as added. */
export interface Declarations {
  readonly where: string;
  readonly parameters: ReadonlyMap<string, Owned<string>>;
  readonly services: ReadonlyMap<string, Owned<MasterServiceSpec>>;
  readonly serviceOptions: readonly ServiceOption[];
  readonly placements: readonly RestrictionPlacement[];
  /** Sources of TLS policies that require TLS on submission. */
  readonly tlsOnSubmission: readonly string[];
  readonly submissionHeaderChecks: readonly (SubmissionHeaderChecks & { readonly source: string })[];
  readonly tlsCheckAfterApply?: TlsCheckAfterApply;
  readonly mapsReferences?: readonly MapsReference[];
}

export interface Composed {
  readonly parameters: Map<string, Owned<string>>;
  readonly services: Map<string, Owned<MasterServiceSpec>>;
  readonly tlsChecks: TlsCheckSpec[];
}

export function compose(d: Declarations): Composed {
  const parameters = new Map(d.parameters);
  placeRestrictions(parameters, d.placements);
  appendMaps(parameters, d.mapsReferences ?? []);
  const services = new Map(d.services);
  for (const o of d.serviceOptions) setServiceOption(d.where, services, o);
  for (const source of d.tlsOnSubmission) {
    for (const o of serviceOverrides(values(services))) setServiceOption(d.where, services, { ...o, source });
  }
  for (const h of d.submissionHeaderChecks) {
    for (const o of submissionHeaderOverrides(h, values(services), parameters.get('header_checks')?.value))
      setServiceOption(d.where, services, { ...o, source: h.source });
  }
  return { parameters, services, tlsChecks: tlsChecks(d.where, d.tlsCheckAfterApply, values(services)) };
}

/**
 * Each placement, in the order the restrict calls came, on top of the list the settings give; the
 * relay restrictions are the final ones, whenever they were set. Then the whole recipient list is
 * checked once more for a permissive table ahead of the relay check (access(5), postconf(5)
 * smtpd_relay_restrictions: an open relay).
 */
function placeRestrictions(parameters: Map<string, Owned<string>>, placements: readonly RestrictionPlacement[]): void {
  const relay = parameters.get('smtpd_relay_restrictions')?.value ?? DEFAULT_RELAY_RESTRICTIONS;
  for (const p of placements) {
    const parameter = STAGE_PARAMETER[p.stage];
    const check = `${STAGE_CHECK[p.stage]} ${p.table.reference}`;
    const items = placeCheck({
      where: p.source,
      stage: p.stage,
      current: parameters.get(parameter)?.value,
      relay,
      check,
      permissive: p.table.permissive,
      placement: p.placement,
      table: p.source,
    });
    parameters.set(parameter, { value: formatRestrictions(items), source: p.source });
  }
  for (const p of placements) {
    if (p.stage !== 'recipient' || !p.table.permissive) continue;
    const check = `${STAGE_CHECK.recipient} ${p.table.reference}`;
    if (findOpenRelay(parameters.get('smtpd_recipient_restrictions')?.value, relay, new Set([check]))) {
      throw openRelayError({ where: p.source, check, relay, table: p.source });
    }
  }
}

/**
 * Each table after whatever the parameter already holds, tables of one parameter in reference order
 * (the order of additions never changes the bundle; Postfix searches the list left to right).
 */
function appendMaps(parameters: Map<string, Owned<string>>, refs: readonly MapsReference[]): void {
  const sorted = [...refs].sort((a, b) =>
    a.parameter === b.parameter ? (a.reference < b.reference ? -1 : a.reference > b.reference ? 1 : 0) : a.parameter < b.parameter ? -1 : 1,
  );
  for (const r of sorted) {
    const current = parameters.get(r.parameter)?.value;
    const listed = current?.split(/[\s,]+/).includes(r.reference);
    if (listed) continue;
    parameters.set(r.parameter, { value: current ? `${current}, ${r.reference}` : r.reference, source: r.source });
  }
}

/** Adds `-o name=value`; a second, different value for the same option is an error naming both sources. */
export function setServiceOption(where: string, services: Map<string, Owned<MasterServiceSpec>>, o: ServiceOption): void {
  const existing = services.get(o.key);
  if (!existing) {
    throw new PostfixConfigError(
      where,
      `service ${o.key}`,
      undefined,
      `${o.source} sets -o ${o.name} on it, but the service is not defined on this host`,
      'add the service (host.addService(...)) or choose a defined one',
    );
  }
  const current = existing.value.options?.[o.name];
  if (current !== undefined && current !== o.value) {
    throw new PostfixConfigError(
      where,
      `service ${o.key} -o ${o.name}`,
      o.value,
      `${o.source} sets it, but it is already ${JSON.stringify(current)}`,
      'set each -o option in one place',
    );
  }
  const options = { ...(existing.value.options ?? {}), [o.name]: o.value };
  services.set(o.key, { value: { ...existing.value, options }, source: existing.source });
}

/** Port 25 plus every smtpd inet service's port (or the ports given); implicit TLS where the service wraps. */
function tlsChecks(where: string, opts: TlsCheckAfterApply | undefined, services: readonly MasterServiceSpec[]): TlsCheckSpec[] {
  if (!opts) return [];
  const minProtocol = opts.minProtocol ?? TlsProtocol.TLS_V1_2;
  const smtpdPorts = services
    .filter((s) => s.type === 'inet' && s.command === 'smtpd')
    .map((s) => portOf(s.name))
    .filter((p): p is number => p !== undefined && p !== 25);
  const ports = opts.ports ?? [25, ...smtpdPorts];
  const out: TlsCheckSpec[] = [];
  for (const port of new Set(ports)) {
    validatePort(where, 'tlsCheckAfterApply.ports', port);
    const wrapper = services.some((s) => portOf(s.name) === port && s.options?.smtpd_tls_wrappermode === 'yes');
    out.push({ port, mode: wrapper || port === 465 ? 'implicit' : 'starttls', minProtocol });
  }
  return out.sort((a, b) => a.port - b.port);
}

/** master(5) inet service names: a port, host:port, or a name from /etc/services. */
function portOf(name: string): number | undefined {
  const named: Record<string, number> = { submission: 587, submissions: 465, smtps: 465 };
  const numeric = /(?:^|:)(\d+)$/.exec(name);
  return named[name] ?? (numeric ? Number(numeric[1]) : undefined);
}

function values<T>(m: ReadonlyMap<string, Owned<T>>): T[] {
  return [...m.values()].map((o) => o.value);
}
