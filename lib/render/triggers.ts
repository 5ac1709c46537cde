import { Bundle } from '../model/bundle';

/** Files up to this size show their text in the plan; larger ones show only their hash. */
export const MAX_TRIGGER_TEXT_BYTES = 16 * 1024;

/**
 * What Terraform stores and diffs for a host: the main.cf and master.cf lines this stack manages as
 * multi-line text (so `terraform plan` shows a line diff), the text of small non-secret files, and
 * hashes for everything else. Never secret content.
 */
export function renderTriggers(bundle: Bundle, bundleSha256: string, secretPaths: ReadonlySet<string>): Record<string, string> {
  // The runner's own hash is deliberately absent: a library upgrade that keeps the bundle schema
  // must not replace (re-apply) every host. What the host gets is decided by the bundle alone: its
  // schema version (a runner refuses a schema it does not know, lib/model/bundle.ts) and its hash.
  const triggers: Record<string, string> = {
    bundle_format: bundle.format,
    bundle_sha256: bundleSha256,
    main_cf: mainCfText(bundle),
    master_cf: masterCfText(bundle),
  };
  for (const [path, file] of Object.entries(bundle.files)) {
    const showText = file.content !== undefined && !secretPaths.has(path) && (file.size ?? 0) <= MAX_TRIGGER_TEXT_BYTES;
    if (file.fromEnv !== undefined) continue; // the construct adds a hash computed by Terraform
    triggers[`file:${path}`] = showText ? file.content : `sha256:${file.sha256} (${file.size} bytes)`;
  }
  return triggers;
}

export function mainCfText(bundle: Bundle): string {
  const lines = Object.entries(bundle.mainCf.set).map(([name, value]) => `${name} = ${value}`);
  for (const name of bundle.mainCf.remove) lines.push(`# removed: ${name}`);
  return lines.join('\n') + '\n';
}

export function masterCfText(bundle: Bundle): string {
  const lines = Object.values(bundle.masterCf.set);
  for (const key of bundle.masterCf.remove) lines.push(`# removed: ${key}`);
  return lines.join('\n') + '\n';
}
