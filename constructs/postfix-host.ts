import * as fs from 'fs';
import * as path from 'path';
import { Construct, IConstruct } from 'constructs';
import {
  App,
  Aspects,
  DataResource,
  Fn,
  IResolvable,
  LocalExecProvisioner,
  ITerraformDependable,
  Lazy,
  TerraformAsset,
  AssetType,
  TerraformOutput,
  TerraformResource,
  TerraformStack,
  Token,
} from './cdk';
import { HostBuilder } from '../lib/host/builder';
import { TlsCheckAfterApply } from '../lib/host/compose';
import { SmtpEndpoint } from '../lib/host/endpoints';
import { connectionSpec, PostfixConnection, validateConnection } from '../lib/host/connection';
import { HostResourceType } from '../lib/host/vocabulary';
import { connectionToEnv } from '../lib/model/connection';
import { PostfixConfigError } from '../lib/model/errors';
import { bundleJson, RenderedBundle } from '../lib/render/bundle';
import { renderTriggers } from '../lib/render/triggers';
import type { MasterServiceProps } from './master-service';
import { resolveRunnerDir, RUNNER_FILE_NAME, UNUSED_TLS_ENV } from './runner-path';
import { hostAspectsFor } from './host-aspects';
import { ensureNullProvider, loadNullProvider } from './null-provider';
import { outputName, uniqueOutput } from './outputs';
export type { JumpHostConnection, PostfixConnection } from '../lib/host/connection';
export type { TlsCheckAfterApply } from '../lib/host/compose';
export { HostResourceType, SmtpServiceKind, SmtpTlsMode, TlsProtocol } from '../lib/host/vocabulary';
export type { SmtpEndpoint } from '../lib/host/endpoints';

/** cdktf's own test for deploy-time values, injected into the core (which cannot import cdktf). */
const isUnresolved = (value: unknown): boolean => Token.isUnresolved(value);

/** What restrictSenders/Recipients/Clients need of a table (AccessTable implements it). */
export interface IRestrictable {
  restrictSenders(): void;
  restrictRecipients(): void;
  restrictClients(): void;
}

/** @deprecated use IRestrictable (the name jsii requires for an interface with methods). */
export type Restrictable = IRestrictable;

export interface PostfixHostProps {
  readonly connection: PostfixConnection;
  /** @default "/etc/postfix" */
  readonly configDirectory?: string;
  /**
   * Directories besides configDirectory where this host's files may be written (e.g. a certificate
   * directory "/etc/ssl/mail"); a file anywhere else is refused. @default - none
   */
  readonly fileRoots?: string[];
  /**
   * main.cf parameters to set, by name: text, numbers, booleans (yes/no) or lists of text; sizes may
   * carry a unit ("25MB"). Checked at synth against the parameter catalog. TypeScript: add
   * `satisfies PostfixSettings` to the object for typed common parameters.
   * @default - none
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- values are typed per parameter (PostfixSettings); an interface-typed object is assignable to an index signature of any, not of unknown
  readonly settings?: { readonly [parameter: string]: any };
  /** main.cf parameters to delete (e.g. dated ones the stock file carries), managed like settings. @default - none */
  readonly removeSettings?: string[];
  /** Your own parameter names, used as $name in other values; exempt from the unknown-name check. @default - none */
  readonly customParameters?: string[];
  /** master.cf services to define (a MasterService construct adds its own). @default - none */
  readonly services?: MasterServiceProps[];
  /**
   * terraform_data is built into Terraform (nothing to download); null_resource needs the
   * hashicorp/null provider. @default HostResourceType.TERRAFORM_DATA
   */
  readonly resourceType?: HostResourceType;
  /** Resources that must exist before this host is configured. @default - only implicit dependencies from tokens */
  readonly dependsOn?: ITerraformDependable[];
  /**
   * Probe TLS right after each apply (from the machine that runs the apply, with openssl s_client):
   * port 25 and every submission (587) / submissions (465) service; a violation fails the apply step.
   * `{}` probes the default ports.
   * @default - no probe
   */
  readonly tlsCheckAfterApply?: TlsCheckAfterApply;
  /**
   * The address SMTP clients reach the host at (smtpEndpoints, the outputs), when it is not
   * connection.host: an ~/.ssh/config alias, or a private address behind connection.jumpHost. May
   * be a token. @default connection.host
   */
  readonly smtpAddress?: string;
  /** Write the host's Terraform output `<outputPrefix>_smtp_endpoints`. @default true */
  readonly outputs?: boolean;
  /** Prefix of the host's Terraform output names. @default the host's logical id in its stack (unique within the stack) */
  readonly outputPrefix?: string;
}

/**
 * One Postfix host: collects the desired state from its props and child constructs, validates it at
 * synth time, writes it as a bundle, and synthesizes one Terraform resource that applies it over SSH.
 */
export class PostfixHost extends Construct {
  /** The PostfixHost that `scope` belongs to. */
  static of(scope: IConstruct): PostfixHost {
    for (let node: IConstruct | undefined = scope; node; node = node.node.scope) {
      if (node instanceof PostfixHost) return node;
    }
    throw new Error(`${scope.node.path}: not inside a PostfixHost. Create it with a PostfixHost (or a child of one) as its scope.`);
  }

  /**
   * The host's core builder (lib/host): every construct adds its pieces here, in any order, and the
   * bundle is composed from it once, at synth time. Use it to add what no construct covers.
   * TypeScript/JavaScript only (the engine's types are not part of the jsii API).
   * @jsii ignore
   */
  readonly builder: HostBuilder;
  readonly configDirectory: string;
  readonly connection: PostfixConnection;
  readonly resourceType: HostResourceType;
  /** The Terraform resource that applies this host (terraform_data or null_resource). */
  readonly resource: TerraformResource;
  /** Where SMTP clients reach the host (props.smtpAddress, else connection.host); may be a token. */
  readonly smtpAddress: string;
  /** Prefix of the host's Terraform output names. */
  readonly outputPrefix: string;
  /**
   * Output `<outputPrefix>_smtp_endpoints`: the smtpEndpoints list as Terraform resolves it (tokens
   * in the address become their values). Absent when props.outputs is false.
   */
  readonly smtpEndpointsOutput?: TerraformOutput;
  /** CDKTF_POSTFIX_* variables for the connection (values may be tokens). */
  private readonly connectionEnv: Record<string, string>;
  /** The stack's directory asset that carries every host's bundle into the synthesized stack. */
  private readonly bundles: StackBundles;

  constructor(scope: Construct, id: string, props: PostfixHostProps) {
    super(scope, id);
    this.connection = props.connection;
    this.resourceType = props.resourceType ?? HostResourceType.TERRAFORM_DATA;
    validateConnection(this.node.path, props.connection, isUnresolved);
    this.connectionEnv = connectionToEnv(connectionSpec(props.connection, isUnresolved));
    this.builder = new HostBuilder({
      where: this.node.path,
      configDirectory: props.configDirectory,
      isUnresolved,
      fileRoots: props.fileRoots,
    });
    this.configDirectory = this.builder.configDirectory;
    for (const name of props.customParameters ?? []) this.builder.declareCustomParameter(name);
    this.builder.applySettings(props.settings ?? {});
    for (const name of props.removeSettings ?? []) this.builder.removeParameter(name);
    for (const service of props.services ?? []) this.addService(service);
    if (props.tlsCheckAfterApply) this.builder.checkTlsAfterApply(props.tlsCheckAfterApply);
    this.bundles = stackBundles(this);
    this.resource = this.createResource(props.dependsOn ?? []);
    this.node.addValidation({ validate: () => this.validateState() });
    this.smtpAddress = props.smtpAddress ?? props.connection.host;
    this.outputPrefix = props.outputPrefix ?? TerraformStack.of(this).getLogicalId(this.node);
    if (props.outputs ?? true) {
      const name = outputName(this.node.path, 'outputPrefix', this.outputPrefix, 'smtp_endpoints');
      const value = Lazy.anyValue({ produce: () => this.endpointsOrNone() });
      this.smtpEndpointsOutput = uniqueOutput(this, 'smtp_endpoints', name, 'outputPrefix', {
        value,
        description: `SMTP endpoints of ${this.node.path}: kind, address, hostname, port, tls, service`,
      });
    }
    // Aspects run first in every stack synthesis, before validation and before the asset copies its
    // directory into the stack output: the latest point where the host is complete and the file can
    // still travel with the public TerraformAsset mechanism.
    Aspects.of(this).add({
      visit: (node) => {
        if (node === this) this.synthesizing();
      },
    });
  }

  /**
   * @deprecated use `builder` (the same object): kept so programs written against HostState keep working.
   * @jsii ignore
   */
  get state(): HostBuilder {
    return this.builder;
  }

  /** Set main.cf parameters, as the settings prop takes them (typed values are formatted the way Postfix writes them). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- same shape as the settings prop (see there)
  applySettings(settings: { readonly [parameter: string]: any }, source: string = this.node.path): void {
    this.builder.applySettings(settings, source);
  }

  /** Refuse listed senders (check_sender_access in smtpd_sender_restrictions); see AccessTable. */
  restrictSenders(table: IRestrictable): void {
    table.restrictSenders();
  }

  /** Check recipients (check_recipient_access after reject_unauth_destination); see AccessTable. */
  restrictRecipients(table: IRestrictable): void {
    table.restrictRecipients();
  }

  /** Check clients (check_client_access in smtpd_client_restrictions); see AccessTable. */
  restrictClients(table: IRestrictable): void {
    table.restrictClients();
  }

  /** Add a master.cf service (Submission.starttls(), a MasterService construct's `spec`, or your own). */
  addService(service: MasterServiceProps, source: string = this.node.path): void {
    this.builder.addService(service, source);
  }

  /**
   * The rendered bundle, composed from everything added so far (the builder memoizes it until the next addition).
   * @jsii ignore
   */
  get bundle(): RenderedBundle {
    return this.builder.toBundle();
  }

  /** myhostname when the stack sets it to a literal value (the name in the banner, the certificate and the MX record). */
  get hostname(): string | undefined {
    const value = this.builder.getParameter('myhostname');
    return value === undefined || isUnresolved(value) || value.includes('$') ? undefined : value;
  }

  /**
   * Every SMTP endpoint of the host as composed so far (port 25 unless the stack removes it, plus
   * each smtpd or postscreen inet service): kind, address, hostname, port, TLS mode, master.cf entry.
   */
  get smtpEndpoints(): SmtpEndpoint[] {
    return this.builder.smtpEndpoints(this.smtpAddress);
  }

  /** Path of this host's bundle inside the synthesized stack directory. */
  get bundlePath(): string {
    return `${this.bundles.asset.path}/${this.bundleDirName}/bundle.json`;
  }

  private get bundleDirName(): string {
    return TerraformStack.of(this)
      .getLogicalId(this.node)
      .replace(/[^A-Za-z0-9_-]/g, '_');
  }

  /** The output's value; a host that does not compose has none (its validation reports why). */
  private endpointsOrNone(): SmtpEndpoint[] {
    try {
      return this.smtpEndpoints;
    } catch (e) {
      if (e instanceof PostfixConfigError) return [];
      throw e;
    }
  }

  private validateState(): string[] {
    try {
      this.builder.validate();
      return [];
    } catch (e) {
      if (e instanceof PostfixConfigError) return [e.message];
      throw e;
    }
  }

  private createResource(dependsOn: readonly ITerraformDependable[]): TerraformResource {
    const runner = { path: `${runnerAsset(this).path}/${RUNNER_FILE_NAME}` };
    const env = this.connectionEnv;
    const triggers = Lazy.anyValue({ produce: () => this.triggers() }) as unknown as Record<string, string>;
    const applyEnv = this.applyEnvironment(env);
    // create_before_destroy: a replacement applies the new bundle first, so a changed setting is one
    // transaction on the host, never "restore stock, then apply". Terraform then runs no destroy
    // provisioner for the replaced object (checked with 1.11), which is why cleaning a host this
    // construct leaves is the placement resource's job (below), not the apply resource's.
    const common = {
      ...(dependsOn.length > 0 ? { dependsOn: [...dependsOn] } : {}),
      lifecycle: { createBeforeDestroy: true },
    };
    if (this.resourceType === HostResourceType.NULL_RESOURCE) {
      const nullProvider = loadNullProvider(this.node.path);
      // At synth time, not now: a null provider the user declares after this host is seen too.
      Aspects.of(this).add({
        visit: (node) => {
          if (node === this) ensureNullProvider(this, nullProvider.NullProvider);
        },
      });
      return new nullProvider.Resource(this, 'apply', {
        ...common,
        triggers,
        provisioners: [this.applyProvisioner(runner.path, applyEnv), this.destroyProvisioner(runner.path, 'self.triggers')],
      });
    }
    const recorded = Lazy.anyValue({ produce: () => this.recordedPlacement() });
    const apply = new DataResource(this, 'apply', {
      ...common,
      triggersReplace: triggers,
      input: recorded,
      provisioners: [this.applyProvisioner(runner.path, applyEnv)],
    });
    this.createPlacement(apply, recorded, runner.path);
    return apply;
  }

  /**
   * The placement: one terraform_data per (address, port, config directory) this host is applied
   * to, replaced only when that changes, without create_before_destroy, so Terraform runs its destroy
   * provisioner whenever the host leaves a place: moved to a new address (the old host is cleaned,
   * its managed files and record removed, stock configuration back) or destroyed. Its input is
   * updated in place after each successful apply and records the connection, the config directory
   * and the bundle hash the host was given; the runner's destroy leaves the old host alone when
   * another apply has put a different bundle there since (e.g. two hosts swapped addresses).
   * Ordering: it depends on the apply resource, so it is created after the first apply succeeded
   * and destroyed before the apply resource; on a move Terraform runs the old placement's destroy
   * before (or while) the new address is applied, as it does for any destroy-then-create replacement.
   */
  private createPlacement(apply: TerraformResource, recorded: IResolvable, runnerPath: string): void {
    const place = Lazy.anyValue({
      produce: () => ({
        host: this.connectionEnv.CDKTF_POSTFIX_HOST,
        port: this.connectionEnv.CDKTF_POSTFIX_PORT ?? '22',
        config_directory: this.configDirectory,
      }),
    });
    new DataResource(this, 'placement', {
      dependsOn: [apply],
      triggersReplace: place,
      input: recorded,
      provisioners: [this.destroyProvisioner(runnerPath, 'self.input')],
    });
  }

  /** What the destroy step needs, recorded in the resource (a destroy provisioner may only read self.*). */
  private recordedPlacement(): Record<string, string> {
    return {
      ...this.connectionEnv,
      CDKTF_POSTFIX_APPLIED_SHA256: this.bundle.sha256,
      CDKTF_POSTFIX_CONFIG_DIRECTORY: this.configDirectory,
    };
  }

  /**
   * Connection plus the variables carrying file content known only at apply time (secrets, tokens);
   * NODE_EXTRA_CA_CERTS emptied unless a TLS check runs after the apply (UNUSED_TLS_ENV).
   */
  private applyEnvironment(connectionEnv: Record<string, string>): Record<string, string> {
    return Lazy.anyValue({
      produce: () => {
        const env: Record<string, string> = { ...connectionEnv };
        for (const file of this.builder.snapshot().files) if (file.fromEnv) env[file.fromEnv.name] = file.fromEnv.value;
        return this.bundle.bundle.tlsChecks?.length ? env : { ...env, ...UNUSED_TLS_ENV };
      },
    }) as unknown as Record<string, string>;
  }

  /** Apply on create/replace, with the connection and the apply-time file contents (secrets). */
  private applyProvisioner(runnerPath: string, applyEnv: Record<string, string>): LocalExecProvisioner {
    return { type: 'local-exec', interpreter: ['node', runnerPath, 'apply'], command: this.bundlePath, environment: applyEnv };
  }

  /**
   * On destroy remove what the stack manages, using only self.* (Terraform's rule): the recorded
   * connection, config directory and applied bundle hash. No file contents and no secrets: the
   * runner's destroy sends the host an empty desired state and never reads fromEnv variables.
   */
  private destroyProvisioner(runnerPath: string, selfRef: 'self.input' | 'self.triggers'): LocalExecProvisioner {
    const destroyEnv: Record<string, string> = { ...UNUSED_TLS_ENV };
    for (const name of [...Object.keys(this.connectionEnv), 'CDKTF_POSTFIX_APPLIED_SHA256', 'CDKTF_POSTFIX_CONFIG_DIRECTORY']) {
      destroyEnv[name] = `\${${selfRef}.${name}}`;
    }
    return {
      type: 'local-exec',
      when: 'destroy',
      interpreter: ['node', runnerPath, 'destroy'],
      command: this.bundlePath,
      environment: destroyEnv,
    };
  }

  private triggers(): Record<string, string> {
    const { bundle, sha256 } = this.bundle;
    const files = this.builder.snapshot().files;
    const secretPaths = new Set(files.filter((f) => f.secret || f.fromEnv).map((f) => f.path));
    const triggers = escapeTemplates(renderTriggers(bundle, sha256, secretPaths));
    triggers.host = this.connection.host;
    for (const file of files) {
      if (file.fromEnv) triggers[`file:${file.path}`] = `sha256:${Fn.sha256(file.fromEnv.value)}`;
    }
    if (this.resourceType === HostResourceType.NULL_RESOURCE) {
      Object.assign(triggers, this.connectionEnv);
      triggers.CDKTF_POSTFIX_APPLIED_SHA256 = sha256;
      triggers.CDKTF_POSTFIX_CONFIG_DIRECTORY = this.configDirectory;
    }
    return triggers;
  }

  private synthesizing(): void {
    for (const aspect of hostAspectsFor(this)) aspect.visit(this);
    this.writeBundle();
  }

  /** Write this host's bundle (and its large table assets) into the stack's bundle directory. */
  private writeBundle(): void {
    let rendered: RenderedBundle;
    try {
      rendered = this.bundle;
    } catch (e) {
      if (e instanceof PostfixConfigError) return; // the validation reports it, with the fix
      throw e;
    }
    const dir = path.join(this.bundles.sourceDir, this.bundleDirName);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'bundle.json'), bundleJson(rendered.bundle));
    for (const asset of rendered.assets) fs.copyFileSync(asset.sourcePath, path.join(dir, asset.name));
  }
}

/**
 * Postfix values such as `btree:${data_directory}/smtp_scache` must reach Terraform as text, not as
 * template expressions: `${` and `%{` are doubled in the literal strings we write.
 */
function escapeTemplates(values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) out[k] = v.replace(/([$%])\{/g, (_, sigil: string) => `${sigil}${sigil}{`);
  return out;
}

/** One runner asset per stack (the client and the apply code beside it), shared by all hosts in it. */
function runnerAsset(scope: Construct): TerraformAsset {
  const stack = TerraformStack.of(scope);
  const id = 'CdktfPostfixRunner';
  const existing = stack.node.tryFindChild(id);
  if (existing) return existing as TerraformAsset;
  return new TerraformAsset(stack, id, { path: resolveRunnerDir(), type: AssetType.DIRECTORY });
}

interface StackBundles {
  readonly asset: TerraformAsset;
  /** Where the hosts write their bundles before the asset copies the directory into the stack output. */
  readonly sourceDir: string;
}

const bundlesByStack = new WeakMap<TerraformStack, StackBundles>();

/**
 * One directory asset per stack for all its hosts' bundles. Its source lives under the app's outdir
 * (cdktf owns and rewrites that tree), not in the user's project; the fixed assetHash keeps the path
 * known at construction time, while the bundle content is only complete at synth time (its sha256
 * is in the resource's triggers, so a changed bundle still replaces the resource).
 */
function stackBundles(scope: Construct): StackBundles {
  const stack = TerraformStack.of(scope);
  const known = bundlesByStack.get(stack);
  if (known) return known;
  const sourceDir = path.resolve(App.of(stack).outdir, '.cdktf-postfix', stack.node.path.replace(/[^A-Za-z0-9_-]/g, '_'));
  fs.rmSync(sourceDir, { recursive: true, force: true });
  fs.mkdirSync(sourceDir, { recursive: true });
  const created = {
    asset: new TerraformAsset(stack, 'CdktfPostfixBundles', { path: sourceDir, type: AssetType.DIRECTORY, assetHash: 'hosts' }),
    sourceDir,
  };
  bundlesByStack.set(stack, created);
  return created;
}
