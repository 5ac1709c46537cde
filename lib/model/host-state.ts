import { BundleHook, IndexedTableType, TlsCheckSpec } from './bundle';
import { PostfixConfigError } from './errors';
import { MasterServiceSpec, serviceKey } from './master-types';

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
  /** Holds a secret (private key): never put its content into Terraform triggers or plan output. */
  readonly secret?: boolean;
}

interface Owned<T> {
  readonly value: T;
  /** Who asked for it (a construct path), for conflict messages. */
  readonly source: string;
}

/**
 * The desired state of one host while constructs are still adding to it. Constructs contribute
 * parameters, services, files and hooks; two contributions that disagree are an error naming both.
 */
export class HostState {
  private readonly parameters = new Map<string, Owned<string>>();
  private readonly removedParameters = new Map<string, string>();
  private readonly services = new Map<string, Owned<MasterServiceSpec>>();
  private readonly removedServices = new Map<string, string>();
  private readonly files = new Map<string, Owned<DesiredFile>>();
  private readonly hookList: Owned<BundleHook>[] = [];
  private readonly tableTypeSet = new Set<string>();
  private readonly packageSet = new Set<string>();
  private readonly tlsCheckMap = new Map<number, TlsCheckSpec>();
  /** Names a user declared as their own main.cf parameters (used as $name elsewhere). */
  readonly userDefinedParameters = new Set<string>();

  constructor(
    /** Construct path of the host, used in every message. */
    public readonly where: string,
    public readonly configDirectory: string,
  ) {}

  setParameter(name: string, value: string, source: string): void {
    const existing = this.parameters.get(name);
    if (existing && existing.value !== value) {
      throw new PostfixConfigError(this.where, name, value,
        `${source} sets it, but ${existing.source} already set it to ${JSON.stringify(existing.value)}`,
        'set each parameter in one place, or pass the combined value from one construct');
    }
    if (this.removedParameters.has(name)) {
      throw conflictWithRemoval(this.where, name, source, this.removedParameters.get(name)!);
    }
    this.parameters.set(name, { value, source });
  }

  /** Replace a parameter's value on purpose (the caller owns the combined value, e.g. restriction lists). */
  replaceParameter(name: string, value: string, source: string): void {
    this.parameters.set(name, { value, source });
  }

  getParameter(name: string): string | undefined {
    return this.parameters.get(name)?.value;
  }

  removeParameter(name: string, source: string): void {
    if (this.parameters.has(name)) {
      throw conflictWithRemoval(this.where, name, this.parameters.get(name)!.source, source);
    }
    this.removedParameters.set(name, source);
  }

  addService(spec: MasterServiceSpec, source: string): void {
    const key = serviceKey(spec);
    const existing = this.services.get(key);
    if (existing) {
      throw new PostfixConfigError(this.where, `service ${key}`, spec.command,
        `${source} adds it, but ${existing.source} already defined that service name and type`,
        'give the second service another name (master.cf names must be unique per type), or configure the existing one');
    }
    this.services.set(key, { value: spec, source });
  }

  getService(key: string): MasterServiceSpec | undefined {
    return this.services.get(key)?.value;
  }

  /** Add `-o name=value` to a service that is already defined. */
  setServiceOption(key: string, name: string, value: string, source: string): void {
    const existing = this.services.get(key);
    if (!existing) {
      throw new PostfixConfigError(this.where, `service ${key}`, undefined,
        `${source} sets -o ${name} on it, but the service is not defined on this host`,
        'add the service first (host.addService(...)) or choose a defined one');
    }
    const current = existing.value.options?.[name];
    if (current !== undefined && current !== value) {
      throw new PostfixConfigError(this.where, `service ${key} -o ${name}`, value,
        `${source} sets it, but it is already ${JSON.stringify(current)}`, 'set each -o option in one place');
    }
    const options = { ...(existing.value.options ?? {}), [name]: value };
    this.services.set(key, { value: { ...existing.value, options }, source: existing.source });
  }

  removeService(key: string, source: string): void {
    this.removedServices.set(key, source);
  }

  addFile(file: DesiredFile, source: string): void {
    const existing = this.files.get(file.path);
    if (existing) {
      throw new PostfixConfigError(this.where, 'file', file.path,
        `${source} places it, but ${existing.source} already places a file there`,
        'give each table or file its own name');
    }
    this.files.set(file.path, { value: file, source });
  }

  addHook(hook: BundleHook, source: string): void {
    this.hookList.push({ value: hook, source });
  }

  requireTableType(type: string): void {
    this.tableTypeSet.add(type);
  }

  /** Ask the runner to probe this port's TLS right after each apply. */
  addTlsCheck(spec: TlsCheckSpec): void {
    this.tlsCheckMap.set(spec.port, spec);
  }

  allowPackageInstall(pkg: string): void {
    this.packageSet.add(pkg);
  }

  /** Snapshot for the renderer: plain data, sorted where order does not matter. */
  snapshot(): HostStateSnapshot {
    return {
      where: this.where,
      configDirectory: this.configDirectory,
      parameters: sortedRecord(mapValues(this.parameters)),
      parameterSources: sortedRecord(mapSources(this.parameters)),
      removedParameters: [...this.removedParameters.keys()].sort(),
      services: [...this.services.entries()].sort(([a], [b]) => compare(a, b)).map(([, o]) => o.value),
      removedServices: [...this.removedServices.keys()].sort(),
      files: [...this.files.values()].map((o) => o.value).sort((a, b) => compare(a.path, b.path)),
      hooks: this.hookList.map((o) => o.value),
      tableTypes: [...this.tableTypeSet].sort(),
      installPackages: [...this.packageSet].sort(),
      userDefinedParameters: [...this.userDefinedParameters].sort(),
      tlsChecks: [...this.tlsCheckMap.values()].sort((a, b) => a.port - b.port),
    };
  }
}

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
}

function conflictWithRemoval(where: string, name: string, setter: string, remover: string): PostfixConfigError {
  return new PostfixConfigError(where, name, undefined,
    `${setter} sets it while ${remover} removes it`, 'either set the parameter or remove it, not both');
}

function mapValues<T>(m: Map<string, Owned<T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of m) out[k] = v.value;
  return out;
}

function mapSources<T>(m: Map<string, Owned<T>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of m) out[k] = v.source;
  return out;
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
