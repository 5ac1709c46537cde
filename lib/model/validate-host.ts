import { PostfixConfigError } from './errors';
import { HostStateSnapshot } from './host-state';
import { validateServices } from './master';
import { validateCrossField, validateParameter } from './validate';

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
}

/** Absolute, normalized, printable: paths travel to the host as data lines, never as shell text. */
export function validateHostPath(where: string, field: string, path: string): void {
  const fix = 'use an absolute path such as /etc/postfix/blacklist, without "..", whitespace or control characters';
  if (!path.startsWith('/')) throw new PostfixConfigError(where, field, path, 'the path is not absolute', fix);
  if (/[\s\x00-\x1f\x7f]/.test(path)) throw new PostfixConfigError(where, field, path, 'the path contains whitespace or a control character', fix);
  if (path.split('/').some((part) => part === '..' || part === '.')) throw new PostfixConfigError(where, field, path, 'the path contains "." or ".." segments', fix);
  if (path.length > 1 && path.endsWith('/')) throw new PostfixConfigError(where, field, path, 'the path ends with "/"', fix);
}

export function validateConfigDirectory(where: string, dir: string): void {
  validateHostPath(where, 'configDirectory', dir);
}

function validateParameterName(where: string, name: string): void {
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new PostfixConfigError(where, 'removeSettings', name, 'not a main.cf parameter name', 'name the parameter exactly, letters, digits and _ only');
  }
}
