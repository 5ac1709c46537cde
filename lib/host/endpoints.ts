/**
 * A host's SMTP endpoints, read from its composed desired state: what the rest of a stack (DNS
 * records, firewalls, clients, monitoring) needs to reach it. master(5): an inet service named
 * `[host:]port` or a name from /etc/services runs smtpd(8) (or postscreen(8) in front of it);
 * Debian's stock master.cf has `smtp inet ... smtpd` on port 25, so port 25 is an endpoint unless
 * the stack removes or replaces that service. TLS: smtpd_tls_wrappermode (implicit TLS) and
 * smtpd_tls_security_level (postconf(5): none, may, encrypt), per service (`-o`) over main.cf, with
 * the obsolete smtpd_enforce_tls / smtpd_use_tls read when the level is empty, as Postfix does.
 */
import { isIP } from 'net';
import { WELL_KNOWN_PORTS } from '../model/endpoint';
import { MasterServiceSpec, serviceKey } from '../model/master-types';
import { SmtpServiceKind, SmtpTlsMode } from './vocabulary';
import { IsUnresolved } from './unresolved';

/** One port the host serves SMTP on. */
export interface SmtpEndpoint {
  /** smtp (MTA-to-MTA, port 25), submission (587, STARTTLS) or submissions (465, implicit TLS). */
  readonly kind: SmtpServiceKind;
  /** Where clients connect: the service's own listen address, else the host's SMTP address (may be a token). */
  readonly address: string;
  /** The host's myhostname when the stack sets it (what the banner and the certificate name); absent otherwise. */
  readonly hostname?: string;
  readonly port: number;
  readonly tls: SmtpTlsMode;
  /** The master.cf entry (`name/type`), e.g. `submission/inet`. */
  readonly service: string;
}

export interface EndpointInput {
  /** The address the endpoints carry when a service names none (the host's SMTP address). */
  readonly address: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly services: readonly MasterServiceSpec[];
  readonly removedServices: readonly string[];
  readonly isUnresolved: IsUnresolved;
}

/** The stock `smtp inet n - y - - smtpd` line of Debian's master.cf, as the stack sees it when it leaves port 25 alone. */
const STOCK_SMTP: MasterServiceSpec = { name: 'smtp', type: 'inet', command: 'smtpd' };

/** Every SMTP endpoint, sorted by port; services bound to a loopback address (content-filter re-injection) are left out. */
export function smtpEndpoints(input: EndpointInput): SmtpEndpoint[] {
  const services = [...input.services];
  const stockKey = serviceKey(STOCK_SMTP);
  if (!services.some((s) => serviceKey(s) === stockKey) && !input.removedServices.includes(stockKey)) services.push(STOCK_SMTP);
  const hostname = literal(input.parameters.myhostname, input.isUnresolved);
  const out: SmtpEndpoint[] = [];
  for (const s of services) {
    if (s.type !== 'inet' || (s.command !== 'smtpd' && s.command !== 'postscreen')) continue;
    const listen = splitServiceName(s.name);
    if (!listen || (listen.host !== undefined && isLoopback(listen.host))) continue;
    const wrapper = (s.options?.smtpd_tls_wrappermode ?? input.parameters.smtpd_tls_wrappermode) === 'yes';
    out.push({
      kind: kindOf(listen.port, wrapper),
      address: listen.host ?? input.address,
      ...(hostname !== undefined ? { hostname } : {}),
      port: listen.port,
      tls: wrapper ? SmtpTlsMode.IMPLICIT : tlsModeOf(s.options ?? {}, input.parameters, input.isUnresolved),
      service: serviceKey(s),
    });
  }
  return out.sort((a, b) => a.port - b.port || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

function kindOf(port: number, wrapper: boolean): SmtpServiceKind {
  if (wrapper || port === 465) return SmtpServiceKind.SUBMISSIONS;
  if (port === 587) return SmtpServiceKind.SUBMISSION;
  return SmtpServiceKind.SMTP;
}

/** postconf(5) smtpd_tls_security_level; when empty, smtpd_enforce_tls=yes means encrypt and smtpd_use_tls=yes means may. */
function tlsModeOf(
  options: Readonly<Record<string, string>>,
  main: Readonly<Record<string, string>>,
  isUnresolved: IsUnresolved,
): SmtpTlsMode {
  const value = (name: string): string | undefined => options[name] ?? main[name];
  const level = value('smtpd_tls_security_level');
  if (level !== undefined && isUnresolved(level)) return SmtpTlsMode.HOST;
  if (level === 'none') return SmtpTlsMode.NONE;
  if (level === 'may') return SmtpTlsMode.STARTTLS;
  if (level === 'encrypt') return SmtpTlsMode.STARTTLS_REQUIRED;
  if (level === '' || (level === undefined && (value('smtpd_enforce_tls') !== undefined || value('smtpd_use_tls') !== undefined))) {
    if (value('smtpd_enforce_tls') === 'yes') return SmtpTlsMode.STARTTLS_REQUIRED;
    if (value('smtpd_use_tls') === 'yes') return SmtpTlsMode.STARTTLS;
    return SmtpTlsMode.NONE;
  }
  return SmtpTlsMode.HOST;
}

/** master(5) inet service name: `port`, `name` (/etc/services), `host:port`, `[ipv6]:port`. Undefined when no port can be told. */
function splitServiceName(name: string): { host?: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]:|([^:]+):)?([^:]+)$/.exec(name);
  if (!m) return undefined;
  const port = WELL_KNOWN_PORTS[m[3].toLowerCase()] ?? (/^\d+$/.test(m[3]) ? Number(m[3]) : undefined);
  if (port === undefined) return undefined;
  const host = m[1] ?? m[2];
  return host === undefined ? { port } : { host, port };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function literal(value: string | undefined, isUnresolved: IsUnresolved): string | undefined {
  return value === undefined || isUnresolved(value) || value.includes('$') ? undefined : value;
}
