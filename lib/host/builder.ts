/**
 * The desired state of one Postfix host as plain data, with no cdktf or constructs in sight. Every
 * piece is added in any order; toBundle() composes them once (restriction lists from all tables, TLS
 * and header-check overrides on every submission service present, TLS probes on every port),
 * validates the result and renders the bundle. Constructs are thin adapters over it; plain programs
 * and tests use it directly, and all share its validation.
 */
import { BundleHook } from '../model/bundle';
import { PostfixConfigError } from '../model/errors';
import { isUnderRoot } from '../model/file-roots';
import { compare, DesiredFile, HostStateSnapshot, sortedRecord } from '../model/host-state';
import { MasterServiceSpec, serviceKey } from '../model/master-types';
import { Placement, RestrictionStage } from '../model/restrictions';
import { validateConfigDirectory, validateHostState } from '../model/validate-host';
import { renderBundle, RenderedBundle } from '../render/bundle';
import { AccessTableInfo, AccessTableProps, checkKeysFit, planAccessTable } from './access-table';
import { AliasesPlan, AliasesProps, planAliases } from './aliases';
import { compose, Composed, MapsReference, Owned, RestrictionPlacement, ServiceOption, TlsCheckAfterApply } from './compose';
import { smtpEndpoints, SmtpEndpoint } from './endpoints';
import { DhParametersPlan, DhParametersProps, planDhParameters } from './dh';
import { DkimSigningPlan, DkimSigningProps, planDkimSigning } from './dkim';
import { planPostscreen, PostscreenPlan, PostscreenProps } from './postscreen';
import { forwardingParameters, ForwardingProps } from './forwarding';
import {
  checkExplicitServices,
  cleanupServiceSpec,
  HeaderChecksInfo,
  HeaderChecksProps,
  OnSubmissionOptions,
  planHeaderChecks,
  SubmissionHeaderChecks,
} from './header-checks';
import { LookupTableInfo, LookupTableProps, planLookupTable } from './lookup-table';
import { checkDecidedOpenRelay } from './relay';
import { formatSetting, PostfixSettings } from './settings';
import { planSmartHost, SmartHostPlan, SmartHostProps } from './smarthost';
import { planTlsPolicy, TlsPolicyPlan, TlsPolicyProps } from './tls-policy';
import { IsUnresolved, neverUnresolved } from './unresolved';

export interface HostBuilderOptions {
  /** The host's name in every message (a construct path such as "mail/mx1"); also the bundle's `host`. */
  readonly where: string;
  /** @default "/etc/postfix" */
  readonly configDirectory?: string;
  /** Values known only at deploy time (cdktf: `Token.isUnresolved`) are left unchecked. @default none are */
  readonly isUnresolved?: IsUnresolved;
  /**
   * Directories besides configDirectory where files may be written (e.g. "/etc/ssl/mail"); any
   * file elsewhere is refused at synth, by the runner and on the host. @default none
   */
  readonly fileRoots?: string[];
}

export const DEFAULT_CONFIG_DIRECTORY = '/etc/postfix';

/** How a piece sets a parameter: `yields` marks its default, which another source's value replaces; `fix` advises on a conflict. */
export interface ParameterHow {
  readonly yields?: boolean;
  readonly fix?: string;
}

export class HostBuilder {
  readonly where: string;
  readonly configDirectory: string;
  readonly isUnresolved: IsUnresolved;
  private readonly parameters = new Map<string, Owned<string>>();
  /** Parameters whose value is a piece's default: another source's value replaces it (setParameter's `yields`). */
  private readonly yieldingParameters = new Set<string>();
  private readonly parameterFixes = new Map<string, string>();
  private readonly removedParameters = new Map<string, string>();
  private readonly services = new Map<string, Owned<MasterServiceSpec>>();
  private readonly removedServices = new Map<string, string>();
  private readonly serviceOptions: ServiceOption[] = [];
  private readonly files = new Map<string, Owned<DesiredFile>>();
  private readonly hooks: Owned<BundleHook>[] = [];
  private readonly tableTypes = new Set<string>();
  private readonly packages = new Set<string>();
  private readonly customParameters = new Set<string>();
  private readonly placements: RestrictionPlacement[] = [];
  private readonly tlsOnSubmission: string[] = [];
  private readonly submissionHeaderChecks: (SubmissionHeaderChecks & { source: string })[] = [];
  private tlsCheckAfterApply?: TlsCheckAfterApply;
  private readonly mapsReferences: MapsReference[] = [];
  /** Declared roots, and exact paths the library's own pieces place outside configDirectory. */
  private readonly fileRoots = new Set<string>();
  /** Memo of the last composition and render; any addition clears it. */
  private composed?: Composed;
  private rendered?: RenderedBundle;

  constructor(options: HostBuilderOptions) {
    this.where = options.where;
    this.configDirectory = options.configDirectory ?? DEFAULT_CONFIG_DIRECTORY;
    this.isUnresolved = options.isUnresolved ?? neverUnresolved;
    validateConfigDirectory(this.where, this.configDirectory);
    for (const root of options.fileRoots ?? []) this.fileRoots.add(root);
  }

  // ------------------------------------------------------------------ main.cf

  /** Typed settings (sizes with units become bytes, booleans yes/no, lists comma-joined). */
  applySettings(settings: PostfixSettings, source = this.where): this {
    for (const [name, value] of Object.entries(settings)) {
      if (value !== undefined) this.setParameter(name, formatSetting(this.where, name, value), source);
    }
    return this;
  }

  /**
   * Two sources that set one parameter to different values are an error naming both, unless one of
   * them set it with `yields` (a piece's default that any other source's value replaces, in either
   * order; two yielding values that differ are an error too). `fix` is the error's advice when this
   * source's value meets another.
   */
  setParameter(name: string, value: string, source = this.where, how: ParameterHow = {}): this {
    const existing = this.parameters.get(name);
    const yields = how.yields === true;
    if (how.fix !== undefined) this.parameterFixes.set(name, how.fix);
    if (this.removedParameters.has(name)) throw conflictWithRemoval(this.where, name, source, this.removedParameters.get(name)!);
    const existingYields = this.yieldingParameters.has(name);
    if (existing && existing.value !== value) {
      if (yields && !existingYields) return this; // a default under a value another source set: ignored
      if (yields === existingYields) {
        throw new PostfixConfigError(
          this.where,
          name,
          value,
          `${source} sets it, but ${existing.source} already set it to ${JSON.stringify(existing.value)}`,
          this.parameterFixes.get(name) ?? 'set each parameter in one place, or pass the combined value from one construct',
        );
      }
    } else if (existing && yields && !existingYields) {
      return this;
    }
    if (yields) this.yieldingParameters.add(name);
    else this.yieldingParameters.delete(name);
    this.parameters.set(name, { value, source });
    return this.changed();
  }

  /** Set a parameter's value on purpose, over whatever was set before (restriction placements still apply on top). */
  replaceParameter(name: string, value: string, source = this.where): this {
    this.parameters.set(name, { value, source });
    this.yieldingParameters.delete(name);
    return this.changed();
  }

  removeParameter(name: string, source = this.where): this {
    if (this.parameters.has(name)) throw conflictWithRemoval(this.where, name, this.parameters.get(name)!.source, source);
    this.removedParameters.set(name, source);
    return this.changed();
  }

  /** Your own parameter names, used as $name in other values; exempt from the unknown-name check. */
  declareCustomParameter(name: string): this {
    this.customParameters.add(name);
    return this.changed();
  }

  // ------------------------------------------------------------------ master.cf

  addService(spec: MasterServiceSpec, source = this.where): this {
    const key = serviceKey(spec);
    const existing = this.services.get(key);
    if (existing) {
      throw new PostfixConfigError(
        this.where,
        `service ${key}`,
        spec.command,
        `${source} adds it, but ${existing.source} already defined that service name and type`,
        'give the second service another name (master.cf names must be unique per type), or configure the existing one',
      );
    }
    this.services.set(key, { value: spec, source });
    return this.changed();
  }

  /** `-o name=value` on a service (`name/type`), which may be added before or after this call. */
  setServiceOption(key: string, name: string, value: string, source = this.where): this {
    this.serviceOptions.push({ key, name, value, source });
    return this.changed();
  }

  removeService(key: string, source = this.where): this {
    this.removedServices.set(key, source);
    return this.changed();
  }

  // ------------------------------------------------------------------ files, hooks, table types

  addFile(file: DesiredFile, source = this.where): this {
    const existing = this.files.get(file.path);
    if (existing) {
      throw new PostfixConfigError(
        this.where,
        'file',
        file.path,
        `${source} places it, but ${existing.source} already places a file there`,
        'give each table or file its own name',
      );
    }
    this.files.set(file.path, { value: file, source });
    return this.changed();
  }

  addHook(hook: BundleHook, source = this.where): this {
    this.hooks.push({ value: hook, source });
    return this.changed();
  }

  requireTableType(type: string): this {
    this.tableTypes.add(type);
    return this.changed();
  }

  allowPackageInstall(pkg: string): this {
    this.packages.add(pkg);
    return this.changed();
  }

  // ------------------------------------------------------------------ features

  /** An access(5) table `<configDirectory>/<name>`; place it with restrict(). */
  addAccessTable(name: string, props: AccessTableProps, source = this.where): AccessTableInfo {
    const plan = planAccessTable(source, name, this.configDirectory, props);
    this.addFile(plan.file, source).requireTableType(plan.info.type);
    if (plan.installPackage) this.allowPackageInstall(plan.installPackage);
    return plan.info;
  }

  /** A lookup table `<configDirectory>/<name>` (or inline), appended to its `*_maps` parameter when the host is composed. */
  addLookupTable(name: string, props: LookupTableProps, source = this.where): LookupTableInfo {
    const plan = planLookupTable(source, name, this.configDirectory, props);
    if (plan.file) this.addFile(plan.file, source);
    this.requireTableType(plan.info.type);
    if (plan.installPackage) this.allowPackageInstall(plan.installPackage);
    this.appendToMaps(plan.info.parameter, plan.info.reference, source);
    return plan.info;
  }

  /** The host's aliases(5) file, built with postalias and listed in alias_maps and alias_database. */
  addAliases(props: AliasesProps, source = this.where): AliasesPlan {
    const plan = planAliases(source, props);
    this.addFile(plan.file, source).requireTableType(plan.type);
    this.allowOwnPaths([plan.file.path]); // /etc/aliases by default: the library's own file, allowed by exact path
    this.appendToMaps('alias_maps', plan.reference, source);
    this.appendToMaps('alias_database', plan.reference, source);
    return plan;
  }

  /** `reference` after whatever `parameter` holds when the host is composed (e.g. `hash:/etc/postfix/virtual` to virtual_alias_maps). */
  appendToMaps(parameter: string, reference: string, source = this.where): this {
    this.mapsReferences.push({ parameter, reference, source });
    return this.changed();
  }

  /** check_<stage>_access for the table in smtpd_<stage>_restrictions, placed when the host is composed. */
  restrict(table: AccessTableInfo, stage: RestrictionStage, placement?: Placement, source = table.where): this {
    checkKeysFit(table, stage);
    const p: RestrictionPlacement = { table, stage, placement, source };
    checkDecidedOpenRelay(p, (name) => this.parameters.get(name)?.value);
    this.placements.push(p);
    return this.changed();
  }

  /** A header_checks(5) table `<configDirectory>/<name>`; apply it with headerChecksOnSubmission() or headerChecksOnAllMail(). */
  addHeaderChecks(name: string, props: HeaderChecksProps, source = this.where): HeaderChecksInfo {
    const plan = planHeaderChecks(source, name, this.configDirectory, props);
    this.addFile(plan.file, source).requireTableType(plan.info.type);
    if (plan.installPackage) this.allowPackageInstall(plan.installPackage);
    return plan.info;
  }

  /** Censor submitted mail only, through a dedicated cleanup service, on every submission service the host has when composed. */
  headerChecksOnSubmission(table: HeaderChecksInfo, opts: OnSubmissionOptions = {}, source = table.where): this {
    checkExplicitServices(source, opts.services);
    const cleanup = opts.cleanupServiceName ?? 'msa_cleanup';
    this.addService(cleanupServiceSpec(cleanup), source);
    this.submissionHeaderChecks.push({ table, cleanup, services: opts.services, source });
    return this.changed();
  }

  /** The rules on all mail the host receives (main.cf header_checks). */
  headerChecksOnAllMail(table: HeaderChecksInfo, source = table.where): this {
    return this.setParameter('header_checks', table.reference, source);
  }

  /** Server and client TLS; submission services (whenever added) require TLS unless the props say otherwise. */
  addTlsPolicy(props: TlsPolicyProps, source = this.where): TlsPolicyPlan {
    const plan = planTlsPolicy(source, this.configDirectory, props, this.isUnresolved);
    for (const [name, value] of Object.entries(plan.parameters))
      this.setParameter(name, value, source, { yields: plan.defaults.includes(name) });
    for (const file of plan.uploads) this.addFile(file, source);
    if (plan.requireTlsOnSubmission) this.requireTlsOnSubmission(source);
    return plan;
  }

  /** `-o smtpd_tls_security_level=encrypt` on every submission (587) service present when composed. */
  requireTlsOnSubmission(source = this.where): this {
    this.tlsOnSubmission.push(source);
    return this.changed();
  }

  /** Exact paths the library's own pieces place outside configDirectory become allowed file roots. */
  private allowOwnPaths(paths: readonly string[]): void {
    for (const path of paths) if (!isUnderRoot(path, this.configDirectory)) this.fileRoots.add(path);
    this.changed();
  }

  /** A host-generated DH group (smtpd_tls_dh1024_param_file), its generation hook and rotation files. */
  addDhParameters(props: DhParametersProps, source = this.where): DhParametersPlan {
    const plan = planDhParameters(source, this.configDirectory, props);
    this.setParameter('smtpd_tls_dh1024_param_file', plan.path, source).addHook(plan.hook, source);
    this.allowOwnPaths([plan.path, ...plan.files.map((f) => f.path)]);
    for (const file of plan.files) this.addFile(file, source);
    return plan;
  }

  /** Relay all outbound mail through a smarthost with SASL; the password map reaches the host through the environment only. */
  addSmartHost(props: SmartHostProps, source = this.where): SmartHostPlan {
    const plan = planSmartHost(source, this.configDirectory, props, this.isUnresolved);
    for (const [name, value] of Object.entries(plan.parameters))
      this.setParameter(name, value, source, { yields: plan.defaults.includes(name), fix: plan.fixes[name] });
    this.addFile(plan.file, source).requireTableType('hash');
    return plan;
  }

  /** DKIM signing through OpenDKIM: its files, key (host-generated or a fromEnv secret), restart hook and milter wiring. */
  addDkimSigning(props: DkimSigningProps, source = this.where): DkimSigningPlan {
    const plan = planDkimSigning(source, props, this.isUnresolved);
    for (const [name, value] of Object.entries(plan.parameters)) this.setParameter(name, value, source);
    this.allowOwnPaths([...plan.files.map((f) => f.path), ...plan.hooks.map((h) => h.path)]);
    for (const file of plan.files) this.addFile(file, source);
    for (const hook of plan.hooks) this.addHook(hook, source);
    return plan;
  }

  /** postscreen(8) on port 25: it replaces the smtp/inet service; smtpd moves behind it as smtpd/pass. */
  addPostscreen(props: PostscreenProps, source = this.where): PostscreenPlan {
    const plan = planPostscreen(source, props);
    for (const spec of plan.services) this.addService(spec, source);
    for (const [name, value] of Object.entries(plan.parameters)) this.setParameter(name, value, source);
    return plan;
  }

  setForwarding(props: ForwardingProps, source = this.where): this {
    for (const [name, value] of Object.entries(forwardingParameters(source, props))) this.setParameter(name, value, source);
    return this;
  }

  /** Probe TLS right after each apply: port 25 and every smtpd inet service's port, unless ports are given. */
  checkTlsAfterApply(opts: TlsCheckAfterApply = {}): this {
    this.tlsCheckAfterApply = opts;
    return this.changed();
  }

  // ------------------------------------------------------------------ results

  /** The composed desired state (not yet validated), sorted where order does not matter. */
  snapshot(): HostStateSnapshot {
    const c = this.compose();
    return {
      where: this.where,
      configDirectory: this.configDirectory,
      parameters: sortedRecord(Object.fromEntries([...c.parameters].map(([k, o]) => [k, o.value]))),
      parameterSources: sortedRecord(Object.fromEntries([...c.parameters].map(([k, o]) => [k, o.source]))),
      removedParameters: [...this.removedParameters.keys()].sort(compare),
      services: [...c.services.entries()].sort(([a], [b]) => compare(a, b)).map(([, o]) => o.value),
      removedServices: [...this.removedServices.keys()].sort(compare),
      files: [...this.files.values()].map((o) => o.value).sort((a, b) => compare(a.path, b.path)),
      hooks: this.hooks.map((o) => o.value).sort((a, b) => compare(JSON.stringify(a), JSON.stringify(b))),
      tableTypes: [...this.tableTypes].sort(compare),
      installPackages: [...this.packages].sort(compare),
      userDefinedParameters: [...this.customParameters].sort(compare),
      tlsChecks: c.tlsChecks,
      ...(this.fileRoots.size > 0 ? { fileRoots: [...this.fileRoots].sort(compare) } : {}),
    };
  }

  /** A parameter's composed value (restriction lists include every placement). */
  getParameter(name: string): string | undefined {
    return this.compose().parameters.get(name)?.value;
  }

  /** A service as composed, with every `-o` override applied. */
  getService(key: string): MasterServiceSpec | undefined {
    return this.compose().services.get(key)?.value;
  }

  /** The SMTP endpoints of the composed host (port 25 unless removed, every smtpd/postscreen inet service), reached at `address`. */
  smtpEndpoints(address: string): SmtpEndpoint[] {
    const s = this.snapshot();
    return smtpEndpoints({
      address,
      parameters: s.parameters,
      services: s.services,
      removedServices: s.removedServices,
      isUnresolved: this.isUnresolved,
    });
  }

  /** Throws the first PostfixConfigError in the composed state. */
  validate(): void {
    validateHostState(this.snapshot());
  }

  /** Composes, validates and renders once; the same additions always give the same bytes. */
  toBundle(): RenderedBundle {
    if (!this.rendered) {
      const state = this.snapshot();
      validateHostState(state);
      this.rendered = renderBundle(state);
    }
    return this.rendered;
  }

  private compose(): Composed {
    this.composed ??= compose({
      where: this.where,
      parameters: this.parameters,
      services: this.services,
      serviceOptions: this.serviceOptions,
      placements: this.placements,
      tlsOnSubmission: this.tlsOnSubmission,
      submissionHeaderChecks: this.submissionHeaderChecks,
      tlsCheckAfterApply: this.tlsCheckAfterApply,
      mapsReferences: this.mapsReferences,
    });
    return this.composed;
  }

  private changed(): this {
    this.composed = undefined;
    this.rendered = undefined;
    return this;
  }
}

function conflictWithRemoval(where: string, name: string, setter: string, remover: string): PostfixConfigError {
  return new PostfixConfigError(
    where,
    name,
    undefined,
    `${setter} sets it while ${remover} removes it`,
    'either set the parameter or remove it, not both',
  );
}
