import { Bundle } from '../model/bundle';
import { renderDhRotationScript } from '../render/dh-rotation';

/**
 * Host-side scripts that a bundle's hooks need, shipped as payloads of the transaction: the same
 * DH rotation script the schedule runs, so generation on apply and rotation share one code path.
 */
export function hookScriptsFor(bundle: Bundle): Record<string, string> {
  return bundle.hooks.some((h) => h.kind === 'dhparam-generate') ? { 'dh-rotate.sh': renderDhRotationScript() } : {};
}
