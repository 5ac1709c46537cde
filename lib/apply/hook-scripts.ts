import { Bundle } from '../model/bundle';
import { renderDhRotationScript } from '../render/dh-rotation';
import { renderDkimKeygenScript, renderServiceRestartScript } from '../render/service-hooks';

/**
 * Host-side scripts that a bundle's hooks need, shipped as payloads of the transaction: the same
 * DH rotation script the schedule runs, so generation on apply and rotation share one code path;
 * and `hook-<kind>.sh` for DKIM key generation and service restarts.
 */
export function hookScriptsFor(bundle: Bundle): Record<string, string> {
  const scripts: Record<string, string> = {};
  const kinds = new Set(bundle.hooks.map((h) => h.kind));
  if (kinds.has('dhparam-generate')) scripts['dh-rotate.sh'] = renderDhRotationScript();
  if (kinds.has('dkim-keygen')) scripts['hook-dkim-keygen.sh'] = renderDkimKeygenScript();
  if (kinds.has('service-restart')) scripts['hook-service-restart.sh'] = renderServiceRestartScript();
  return scripts;
}
