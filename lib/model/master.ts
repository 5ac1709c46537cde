/**
 * master.cf services: validation of a MasterServiceSpec and rendering it as one master.cf line.
 */
import { isIP } from 'node:net';
import { ParameterNameOptions } from './catalog';
import { isPortNumber } from './endpoint';
import { PostfixConfigError } from './errors';
import { MasterServiceSpec, SERVICE_TYPES, serviceKey } from './master-types';
import { validateParameter } from './validate';

export type ServiceValidateOptions = ParameterNameOptions;

/** Throws PostfixConfigError for the first column or -o override that master.cf would not accept. */
export function validateService(where: string, spec: MasterServiceSpec, opts: ServiceValidateOptions = {}): void {
  const field = `service ${serviceKey(spec)}`;
  validateType(where, field, spec);
  validateName(where, field, spec);
  validateCount(where, `${field} wakeup`, spec.wakeup);
  validateCount(where, `${field} maxproc`, spec.maxproc);
  if (spec.wakeupIfUsed && spec.wakeup === undefined) {
    throw new PostfixConfigError(
      where,
      `${field} wakeup`,
      undefined,
      'wakeupIfUsed needs a wakeup time',
      'set wakeup (seconds) or drop wakeupIfUsed',
    );
  }
  validateCommand(where, field, spec.command);
  for (const arg of spec.args ?? []) validateArgument(where, field, arg);
  for (const [name, value] of Object.entries(spec.options ?? {})) validateOverride(where, field, name, value, opts);
}

/** Validates every service and refuses two entries with the same name and type. */
export function validateServices(where: string, specs: readonly MasterServiceSpec[], opts: ServiceValidateOptions = {}): void {
  // Per-transport parameters (`<service>_destination_concurrency_limit`) are valid for every defined service.
  const serviceNames = [...new Set([...(opts.serviceNames ?? []), ...specs.map((s) => s.name)])];
  const seen = new Set<string>();
  for (const spec of specs) {
    validateService(where, spec, { ...opts, serviceNames });
    const key = serviceKey(spec);
    if (seen.has(key)) {
      throw new PostfixConfigError(
        where,
        `service ${key}`,
        undefined,
        'the service is defined twice; master.cf would run two conflicting entries',
        `keep one ${key} entry and merge the settings into it`,
      );
    }
    seen.add(key);
  }
}

function validateType(where: string, field: string, spec: MasterServiceSpec): void {
  if (!(SERVICE_TYPES as readonly string[]).includes(spec.type)) {
    throw new PostfixConfigError(
      where,
      `${field} type`,
      String(spec.type),
      'unknown service type',
      `use one of: ${SERVICE_TYPES.join(', ')}`,
    );
  }
}

/** Characters that would split or comment out the line, or break `postconf -M name/type` addressing. */
const NAME_FORBIDDEN = /[\s#=/\0{}]/;

function validateName(where: string, field: string, spec: MasterServiceSpec): void {
  const { name } = spec;
  const bad = (problem: string, fix: string) => new PostfixConfigError(where, `${field} name`, name, problem, fix);
  if (name === '' || NAME_FORBIDDEN.test(name)) {
    throw bad(
      'a service name cannot be empty or contain whitespace, "#", "=", "/" or braces',
      'use a plain name such as submission or msa_cleanup',
    );
  }
  if (spec.type === 'inet') validateInetName(name, bad);
}

/** inet names are `[host:]port`, where port is a number or an /etc/services name. */
function validateInetName(name: string, bad: (problem: string, fix: string) => PostfixConfigError): void {
  const fix = 'use port, service or host:port, e.g. 587, submission, 127.0.0.1:10025 or [::1]:10025';
  const colon = name.lastIndexOf(':');
  const host = colon >= 0 ? name.slice(0, colon) : undefined;
  const port = colon >= 0 ? name.slice(colon + 1) : name;
  if (host !== undefined && !isInetHost(host)) throw bad(`"${host}" is not a host name or address`, fix);
  if (/^\d+$/.test(port)) {
    const n = Number(port);
    if (!isPortNumber(n)) throw bad(`port ${port} is outside 1-65535`, fix);
  } else if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(port)) {
    throw bad(`"${port}" is neither a port number nor a service name`, fix);
  }
}

/** master(5): a host name or IP address; brackets are optional even for IPv6 (`::1:smtp`). */
function isInetHost(host: string): boolean {
  const bare = /^\[(.*)\]$/.exec(host)?.[1] ?? host;
  if (isIP(bare) !== 0) return true;
  return bare === host && /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host);
}

function validateCount(where: string, field: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new PostfixConfigError(
      where,
      field,
      String(value),
      'expected a non-negative whole number',
      'use 0 or a positive integer, or leave it undefined for the default (-)',
    );
  }
}

function validateCommand(where: string, field: string, command: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/.test(command)) {
    throw new PostfixConfigError(
      where,
      `${field} command`,
      command,
      'the command must be a bare program name from daemon_directory',
      'use a name such as smtpd, cleanup or pipe, and put arguments in args',
    );
  }
}

function validateArgument(where: string, field: string, arg: string): void {
  const bad = (problem: string, fix: string) => new PostfixConfigError(where, `${field} args`, arg, problem, fix);
  if (arg === '' || /[\s\0]/.test(arg))
    throw bad(
      'an argument cannot be empty or contain whitespace',
      'split it into separate arguments, or move the setting into main.cf and refer to it as $name',
    );
  if (arg === '-o') throw bad('-o overrides do not belong in args', 'put name/value overrides in options');
  if (arg.startsWith('{')) throw bad('an argument starting with "{" is read as a Postfix 3 grouping', 'remove the braces');
}

function validateOverride(where: string, field: string, name: string, value: string, opts: ServiceValidateOptions): void {
  try {
    validateParameter(where, name, value, opts);
  } catch (err) {
    if (!(err instanceof PostfixConfigError)) throw err;
    throw new PostfixConfigError(where, `${field} -o ${err.field}`, err.value, err.problem, err.fix, { cause: err });
  }
  if (!bracesBalanced(value)) {
    throw new PostfixConfigError(
      where,
      `${field} -o ${name}`,
      value,
      'unbalanced "{" or "}" in the value would end the -o { ... } group early',
      'balance the braces, or set the value in main.cf and use -o name=$other_name',
    );
  }
}

function bracesBalanced(value: string): boolean {
  let depth = 0;
  for (const ch of value) {
    if (ch === '{') depth++;
    if (ch === '}' && --depth < 0) return false;
  }
  return depth === 0;
}

/** One master.cf line: `name type private unpriv chroot wakeup maxproc command -o k=v ... args...`. */
export function renderServiceLine(spec: MasterServiceSpec): string {
  const columns = [
    spec.name,
    spec.type,
    yesNo(spec.private),
    yesNo(spec.unpriv),
    yesNo(spec.chroot),
    spec.wakeup === undefined ? '-' : `${spec.wakeup}${spec.wakeupIfUsed ? '?' : ''}`,
    spec.maxproc === undefined ? '-' : String(spec.maxproc),
    spec.command,
  ];
  const overrides = Object.keys(spec.options ?? {})
    .sort()
    .map((name) => renderOverride(name, (spec.options ?? {})[name]));
  // Daemons read options getopt-style: an -o after the first plain argument is not an override
  // (checked: `postconf -P` ignores it), so overrides come before args.
  return [...columns, ...overrides, ...(spec.args ?? [])].join(' ');
}

function yesNo(flag: boolean | undefined): string {
  return flag === undefined ? '-' : flag ? 'y' : 'n';
}

/** Short form `-o k=v`; values with whitespace need the Postfix 3.0 long form `-o { k = v }`. */
function renderOverride(name: string, value: string): string {
  return /\s/.test(value) ? `-o { ${name} = ${value} }` : `-o ${name}=${value}`;
}
