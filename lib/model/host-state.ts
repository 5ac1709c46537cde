/**
 * The desired state of one host as plain data: what lib/host's HostBuilder composes, what validation
 * checks and what the renderer turns into a bundle.
 */
import { BundleHook, IndexedTableType, TlsCheckSpec } from './bundle';
import { MasterServiceSpec } from './master-types';

/** A file the host should hold, as constructs describe it (rendered into a BundleFile later). */
export interface DesiredFile {
  /** Absolute path on the host. */
  readonly path: string;
  /** Small files: the content itself. */
  readonly content?: string;
  /** Large files: a local file read (streamed) at synth time instead of held in memory. */
  readonly sourcePath?: string;
  /**
   * Content known only at apply time or secret: the construct passes it to the runner through this
   * environment variable (value set on the Terraform resource), never through the bundle.
   */
  readonly fromEnv?: { readonly name: string; readonly value: string };
  /** @default "0644" */
  readonly mode?: string;
  /** @default "root" */
  readonly owner?: string;
  /** @default "root" */
  readonly group?: string;
  /** Build with postmap after placing. */
  readonly postmap?: IndexedTableType;
  /** Build with postalias after placing (an aliases(5) file); never together with postmap. */
  readonly postalias?: IndexedTableType;
  /** Holds a secret (private key): never put its content into Terraform triggers or plan output. */
  readonly secret?: boolean;
}

/** One host's composed desired state: plain data, sorted where order does not matter. */
export interface HostStateSnapshot {
  readonly where: string;
  readonly configDirectory: string;
  readonly parameters: Record<string, string>;
  readonly parameterSources: Record<string, string>;
  readonly removedParameters: string[];
  readonly services: MasterServiceSpec[];
  readonly removedServices: string[];
  readonly files: DesiredFile[];
  readonly hooks: BundleHook[];
  readonly tableTypes: string[];
  readonly installPackages: string[];
  readonly userDefinedParameters: string[];
  readonly tlsChecks: TlsCheckSpec[];
  /** Where files may be written besides configDirectory (lib/model/file-roots.ts); sorted. */
  readonly fileRoots?: string[];
}

export function sortedRecord<T>(r: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(r).sort(compare)) out[k] = r[k];
  return out;
}

/** Code-point order, independent of locale, so renders are byte-for-byte stable everywhere. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
