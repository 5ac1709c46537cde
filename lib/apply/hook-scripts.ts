import { Bundle } from '../model/bundle';

/** Host-side scripts that a bundle's hooks need, shipped as payloads of the transaction. */
export function hookScriptsFor(bundle: Bundle): Record<string, string> {
  void bundle;
  return {};
}
