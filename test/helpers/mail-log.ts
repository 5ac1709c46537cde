import { readFileSync } from 'fs';

/** How many reloads master has logged in a lab host's mail log so far (one line per SIGHUP it took). */
export function masterReloads(h: { readonly mailLogPath: string }): number {
  return (readFileSync(h.mailLogPath, 'utf8').match(/postfix\/master\[\d+\]: reload/g) ?? []).length;
}
