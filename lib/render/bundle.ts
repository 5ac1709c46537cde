import { Bundle, BUNDLE_FORMAT, BundleFile } from '../model/bundle';
import { HostStateSnapshot, sortedRecord } from '../model/host-state';
import { MasterServiceSpec, serviceKey } from '../model/master-types';
import { renderServiceLine } from '../model/master';
import { canonicalJson, sha256File, sha256Hex } from './hash';

/** A large file that travels beside bundle.json instead of inside it. */
export interface BundleAsset {
  /** File name beside bundle.json. */
  readonly name: string;
  /** Where to copy it from at synth time. */
  readonly sourcePath: string;
}

export interface RenderedBundle {
  readonly bundle: Bundle;
  readonly assets: BundleAsset[];
  /** sha256 of the canonical bundle JSON; changes whenever any desired state changes. */
  readonly sha256: string;
}

/**
 * Desired state -> bundle. Pure and deterministic: the same snapshot renders byte for byte the same
 * (keys sorted, no timestamps, no absolute local paths).
 */
export function renderBundle(state: HostStateSnapshot): RenderedBundle {
  const assets: BundleAsset[] = [];
  const files: Record<string, BundleFile> = {};
  for (const file of state.files) {
    const rendered = renderFile(file, assets);
    files[file.path] = rendered;
  }
  const bundle: Bundle = {
    format: BUNDLE_FORMAT,
    host: state.where,
    configDirectory: state.configDirectory,
    mainCf: { set: sortedRecord(state.parameters), remove: [...state.removedParameters] },
    masterCf: { set: renderServices(state.services), remove: [...state.removedServices] },
    files: sortedRecord(files),
    tableTypes: [...state.tableTypes],
    installPackages: [...state.installPackages],
    hooks: [...state.hooks],
    ...(state.tlsChecks.length > 0 ? { tlsChecks: [...state.tlsChecks] } : {}),
    ...(state.fileRoots !== undefined && state.fileRoots.length > 0 ? { fileRoots: [...state.fileRoots] } : {}),
  };
  return { bundle, assets, sha256: sha256Hex(bundleJson(bundle)) };
}

/** The exact bytes written to bundle.json. */
export function bundleJson(bundle: Bundle): string {
  return canonicalJson(bundle) + '\n';
}

export function renderServices(services: readonly MasterServiceSpec[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of services) out[serviceKey(spec)] = renderServiceLine(spec);
  return sortedRecord(out);
}

function renderFile(file: HostStateSnapshot['files'][number], assets: BundleAsset[]): BundleFile {
  const common = {
    mode: file.mode ?? '0644',
    owner: file.owner ?? 'root',
    group: file.group ?? 'root',
    ...(file.postmap ? { postmap: file.postmap } : {}),
    ...(file.postalias ? { postalias: file.postalias } : {}),
  };
  if (file.sourcePath !== undefined) {
    const { sha256, size } = sha256File(file.sourcePath);
    const name = `file-${sha256}`;
    if (!assets.some((a) => a.name === name)) assets.push({ name, sourcePath: file.sourcePath });
    return { ...common, sha256, size, asset: name };
  }
  if (file.fromEnv !== undefined) return { ...common, fromEnv: file.fromEnv.name };
  const content = file.content ?? '';
  return { ...common, sha256: sha256Hex(content), size: Buffer.byteLength(content), content };
}
