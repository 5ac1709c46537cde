import { readFileSync } from 'fs';
import { PostfixConfigError } from './errors';
import { checkFileRoots } from './file-roots';
import { HostStateSnapshot } from './host-state';
import { validateServices } from './master';
import { serviceKey } from './master-types';
import { validateCrossField, validateParameter } from './validate';
import { checkRelaySafety, RelayService } from './relay';
import { tableActionsFrom } from './relay-text';

/** Everything about one host that can be known at synth time, checked in one place. */
export function validateHostState(state: HostStateSnapshot): void {
  validateConfigDirectory(state.where, state.configDirectory);
  const serviceNames = state.services.map((s) => s.name);
  const opts = { userDefined: state.userDefinedParameters, serviceNames };
  for (const [name, value] of Object.entries(state.parameters)) validateParameter(state.where, name, value, opts);
  for (const name of state.removedParameters) validateParameterName(state.where, name);
  validateCrossField(state.where, state.parameters);
  validateServices(state.where, state.services, opts);
  for (const file of state.files) validateHostPath(state.where, 'file', file.path);
  for (const root of state.fileRoots ?? []) validateHostPath(state.where, 'fileRoots', root);
  checkFileRoots(state.where, state.configDirectory, state.fileRoots, [
    ...state.files.map((f) => f.path),
    ...state.hooks.map((h) => h.path),
  ]);
  checkHostRelay(state);
  checkAliasesReachable(state);
}

/**
 * aliases(5) files are read by local(8) only (aliases(5), local(8)). A host that delivers nothing
 * locally (a null client: mydestination empty, or local_transport an error) never consults them,
 * so an aliases file there would silently redirect nothing.
 */
function checkAliasesReachable(state: HostStateSnapshot): void {
  const file = state.files.find((f) => f.postalias !== undefined);
  if (!file) return;
  const local = state.parameters.local_transport;
  const why =
    state.parameters.mydestination === ''
      ? 'mydestination is empty'
      : local?.startsWith('error:')
        ? `local_transport is ${local}`
        : undefined;
  if (why === undefined) return;
  throw new PostfixConfigError(
    state.where,
    'aliases',
    file.path,
    `this host delivers nothing locally (${why}), and only local(8) reads aliases(5), so no alias in it would ever apply`,
    'redirect root with a virtual(5) alias, which rewrites the recipient before the message leaves: LookupTable.virtualAlias(host, "root_alias", { type: "inline", entries: [{ key: "root", value: "ops@example.org" }] })',
  );
}

/**
 * No smtpd service may relay for unauthenticated clients outside mynetworks (lib/model/relay.ts).
 * The host's main.cf is not known at synth time: parameters the stack does not set take Postfix's
 * defaults, with compatibility_level (which decides the default smtpd_relay_restrictions) at Debian
 * 12's stock 3.6 unless the stack sets it. The runner repeats the check on the host's real values
 * (`postconf -n`/`-M` with the bundle applied) before every transaction. Port 25
 * (`smtp inet ... smtpd`, without -o in Debian's master.cf) is checked even when the stack does not
 * define it, since it runs with the main.cf values.
 */
function checkHostRelay(state: HostStateSnapshot): void {
  const services: RelayService[] = state.services
    .filter((s) => s.command === 'smtpd')
    .map((s) => ({ key: serviceKey(s), options: s.options ?? {} }));
  if (!state.services.some((s) => serviceKey(s) === 'smtp/inet') && !state.removedServices.includes('smtp/inet'))
    services.unshift({ key: 'smtp/inet', options: {} });
  const byPath = new Map(state.files.map((f) => [f.path, f]));
  const tableActions = tableActionsFrom((path) => {
    const file = byPath.get(path);
    if (file?.content !== undefined) return file.content;
    return file?.sourcePath !== undefined && !file.secret ? readFileSync(file.sourcePath, 'utf8') : undefined;
  });
  checkRelaySafety({ where: state.where, main: state.parameters, services, tableActions, assumeCompatibilityLevels: ['3.6'] });
}

/** Absolute, normalized, printable: paths travel to the host as data lines, never as shell text. */
export function validateHostPath(where: string, field: string, path: string): void {
  const fix = 'use an absolute path such as /etc/postfix/blacklist, without "..", whitespace or control characters';
  if (!path.startsWith('/')) throw new PostfixConfigError(where, field, path, 'the path is not absolute', fix);
  if (/[\s\x00-\x1f\x7f]/.test(path))
    throw new PostfixConfigError(where, field, path, 'the path contains whitespace or a control character', fix);
  if (path.split('/').some((part) => part === '..' || part === '.'))
    throw new PostfixConfigError(where, field, path, 'the path contains "." or ".." segments', fix);
  if (path.length > 1 && path.endsWith('/')) throw new PostfixConfigError(where, field, path, 'the path ends with "/"', fix);
}

export function validateConfigDirectory(where: string, dir: string): void {
  validateHostPath(where, 'configDirectory', dir);
}

function validateParameterName(where: string, name: string): void {
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new PostfixConfigError(
      where,
      'removeSettings',
      name,
      'not a main.cf parameter name',
      'name the parameter exactly, letters, digits and _ only',
    );
  }
}
