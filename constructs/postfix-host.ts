import * as fs from 'fs';
import * as path from 'path';
import { Construct, IConstruct } from 'constructs';
import { DataResource, Fn, LocalExecProvisioner, ITerraformDependable, Lazy, TerraformAsset, AssetType, TerraformResource, TerraformStack, Token } from 'cdktf';
import { Resource as NullResource } from '@cdktf/provider-null/lib/resource';
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { HostState } from '../lib/model/host-state';
import { MasterServiceSpec } from '../lib/model/master-types';
import { ConnectionSpec, connectionToEnv, validateFingerprint, validatePort, validateSshUser } from '../lib/model/connection';
import { formatParameterValue, parseSize } from '../lib/model/values';
import { lookupParameter } from '../lib/model/catalog';
import { validateConfigDirectory, validateHostState } from '../lib/model/validate-host';
import { PostfixConfigError } from '../lib/model/errors';
import { bundleJson, renderBundle, RenderedBundle } from '../lib/render/bundle';
import { renderTriggers } from '../lib/render/triggers';
import { resolveRunnerPath, runnerSha256 } from './runner-path';
// cdktf exports only the types of its custom synthesis hook; the function lives here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { addCustomSynthesis } = require('cdktf/lib/synthesize/synthesizer') as {
  addCustomSynthesis(construct: IConstruct, hook: { onSynthesize(session: { outdir: string; manifest: { outdir: string; forStack(stack: TerraformStack): { synthesizedStackPath: string } } }): void }): void;
};

/** A value Postfix understands: booleans become yes/no, lists are joined with ", ". */
export type ParameterValue = string | number | boolean | readonly string[];

/**
 * main.cf settings. The common ones are typed; any other parameter Postfix 3.7 knows may be given by
 * name and is checked against the catalog at synth time.
 */
export interface PostfixSettings {
  readonly myhostname?: string;
  readonly mydomain?: string;
  readonly myorigin?: string;
  readonly mydestination?: readonly string[] | string;
  readonly mynetworks?: readonly string[] | string;
  readonly inet_interfaces?: readonly string[] | string;
  readonly inet_protocols?: 'all' | 'ipv4' | 'ipv6' | 'ipv4, ipv6' | string;
  readonly relayhost?: string;
  readonly smtpd_banner?: string;
  /** Bytes, or a size with a unit such as "25MB". */
  readonly message_size_limit?: number | string;
  /** Bytes, or a size with a unit; 0 means no limit. */
  readonly mailbox_size_limit?: number | string;
  readonly recipient_delimiter?: string;
  readonly alias_maps?: readonly string[] | string;
  readonly [parameter: string]: ParameterValue | undefined;
}

export interface JumpHostConnection {
  readonly host: string;
  /** @default 22 */
  readonly port?: number | string;
  /** @default "root" */
  readonly user?: string;
  /** @default the ssh-agent */
  readonly privateKeyPath?: string;
  /** @default the target's knownHostsPath */
  readonly knownHostsPath?: string;
  readonly hostKeyFingerprint?: string;
}

export interface PostfixConnection {
  /** Address, DNS name or ~/.ssh/config alias. May be a token (e.g. a VM's address). */
  readonly host: string;
  /** @default 22 */
  readonly port?: number;
  /** @default "root" */
  readonly user?: string;
  /** Private key file on the machine that runs the deploy. Never the key itself. @default ssh-agent ($SSH_AUTH_SOCK) */
  readonly privateKeyPath?: string;
  /** @default "~/.ssh/known_hosts" */
  readonly knownHostsPath?: string;
  /** Pin the host key (`SHA256:...` as `ssh-keygen -lf` prints it) instead of reading known_hosts. @default - known_hosts decides */
  readonly hostKeyFingerprint?: string;
  /** Use `sudo -n` for Postfix commands. @default true when user is not "root" */
  readonly sudo?: boolean;
  /** One bastion hop. @default - direct connection */
  readonly jumpHost?: JumpHostConnection;
}

/** What restrictSenders/Recipients/Clients need of a table (AccessTable implements it). */
export interface Restrictable {
  restrictSenders(): unknown;
  restrictRecipients(): unknown;
  restrictClients(): unknown;
}

export type HostResourceType = 'terraform_data' | 'null_resource';

export interface PostfixHostProps {
  readonly connection: PostfixConnection;
  /** @default "/etc/postfix" */
  readonly configDirectory?: string;
  /** main.cf parameters to set. @default - none */
  readonly settings?: PostfixSettings;
  /** main.cf parameters to delete (e.g. dated ones the stock file carries), managed like settings. @default - none */
  readonly removeSettings?: readonly string[];
  /** Your own parameter names, used as $name in other values; exempt from the unknown-name check. @default - none */
  readonly customParameters?: readonly string[];
  /** master.cf services to define. @default - none */
  readonly services?: readonly (MasterServiceSpec | { readonly spec: MasterServiceSpec })[];
  /**
   * terraform_data is built into Terraform (nothing to download); null_resource needs the
   * hashicorp/null provider. @default "terraform_data"
   */
  readonly resourceType?: HostResourceType;
  /** Resources that must exist before this host is configured. @default - only implicit dependencies from tokens */
  readonly dependsOn?: readonly ITerraformDependable[];
  /**
   * Probe TLS right after each apply (from the machine that runs the apply, with openssl s_client):
   * port 25 and every submission (587) / submissions (465) service; a violation fails the apply step.
   * @default false
   */
  readonly tlsCheckAfterApply?: boolean | TlsCheckAfterApply;
}

export interface TlsCheckAfterApply {
  /** @default 25 plus the ports of submission and submissions services */
  readonly ports?: readonly number[];
  /** @default "TLSv1.2" */
  readonly minProtocol?: 'TLSv1.2' | 'TLSv1.3';
}

const DEFAULT_CONFIG_DIRECTORY = '/etc/postfix';

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

  readonly state: HostState;
  readonly configDirectory: string;
  readonly connection: PostfixConnection;
  readonly resourceType: HostResourceType;
  /** The Terraform resource that applies this host (terraform_data or null_resource). */
  readonly resource: TerraformResource;
  private rendered?: RenderedBundle;
  private readonly tlsCheckAfterApply?: TlsCheckAfterApply;
  /** CDKTF_POSTFIX_* variables for the connection (values may be tokens). */
  private readonly connectionEnv: Record<string, string>;

  constructor(scope: Construct, id: string, props: PostfixHostProps) {
    super(scope, id);
    this.connection = props.connection;
    this.configDirectory = props.configDirectory ?? DEFAULT_CONFIG_DIRECTORY;
    this.resourceType = props.resourceType ?? 'terraform_data';
    this.tlsCheckAfterApply = props.tlsCheckAfterApply === true ? {} : props.tlsCheckAfterApply || undefined;
    this.state = new HostState(this.node.path, this.configDirectory);
    validateConnection(this.node.path, props.connection);
    this.connectionEnv = connectionToEnv(connectionSpec(props.connection));
    validateConfigDirectory(this.node.path, this.configDirectory);
    for (const name of props.customParameters ?? []) this.state.userDefinedParameters.add(name);
    this.applySettings(props.settings ?? {}, this.node.path);
    for (const name of props.removeSettings ?? []) this.state.removeParameter(name, this.node.path);
    for (const service of props.services ?? []) this.addService(service);
    this.resource = this.createResource(props.dependsOn ?? []);
    this.node.addValidation({ validate: () => this.validateState() });
    addCustomSynthesis(this, { onSynthesize: (session) => this.writeBundle(session) });
  }

  /** Set main.cf parameters (typed values are formatted the way Postfix writes them). */
  applySettings(settings: PostfixSettings, source: string = this.node.path): void {
    for (const [name, value] of Object.entries(settings)) {
      if (value === undefined) continue;
      this.state.setParameter(name, this.formatSetting(name, value), source);
    }
  }

  /** Refuse listed senders (check_sender_access in smtpd_sender_restrictions); see AccessTable. */
  restrictSenders(table: Restrictable): void {
    table.restrictSenders();
  }

  /** Check recipients (check_recipient_access after reject_unauth_destination); see AccessTable. */
  restrictRecipients(table: Restrictable): void {
    table.restrictRecipients();
  }

  /** Check clients (check_client_access in smtpd_client_restrictions); see AccessTable. */
  restrictClients(table: Restrictable): void {
    table.restrictClients();
  }

  /** Typed value -> main.cf text; sizes with units ("25MB") become bytes, since main.cf takes bytes only. */
  private formatSetting(name: string, value: ParameterValue): string {
    try {
      if (lookupParameter(name)?.kind === 'size' && typeof value === 'string' && /^\s*\d+(\.\d+)?\s*[A-Za-z]+\s*$/.test(value)) {
        return String(parseSize(value));
      }
      return formatParameterValue(value);
    } catch (e) {
      if (e instanceof PostfixConfigError) throw new PostfixConfigError(this.node.path, `settings.${name}`, e.value, e.problem, e.fix);
      throw e;
    }
  }

  /** Add a master.cf service (a spec or a MasterService construct's spec). */
  addService(service: MasterServiceSpec | { readonly spec: MasterServiceSpec }, source: string = this.node.path): void {
    const spec = 'spec' in service ? service.spec : service;
    this.state.addService(spec, source);
  }

  /** The rendered bundle (memoized: rendering happens once, after all constructs have contributed). */
  get bundle(): RenderedBundle {
    if (!this.rendered) {
      this.addTlsChecks();
      this.rendered = renderBundle(this.state.snapshot());
    }
    return this.rendered;
  }

  /** Resolved at render time, so services added after the host was created are probed too. */
  private addTlsChecks(): void {
    const opts = this.tlsCheckAfterApply;
    if (!opts) return;
    const minProtocol = opts.minProtocol ?? 'TLSv1.2';
    const services = this.state.snapshot().services;
    const portOf = (name: string): number | undefined => {
      const named: Record<string, number> = { submission: 587, submissions: 465, smtps: 465 };
      const numeric = /(?:^|:)(\d+)$/.exec(name);
      return named[name] ?? (numeric ? Number(numeric[1]) : undefined);
    };
    const ports = opts.ports ?? [25, ...services.filter((s) => s.type === 'inet' && s.command === 'smtpd').map((s) => portOf(s.name)).filter((p): p is number => p !== undefined && p !== 25)];
    for (const port of new Set(ports)) {
      validatePort(this.node.path, 'tlsCheckAfterApply.ports', port);
      const wrapper = services.some((s) => portOf(s.name) === port && s.options?.smtpd_tls_wrappermode === 'yes');
      this.state.addTlsCheck({ port, mode: wrapper || port === 465 ? 'implicit' : 'starttls', minProtocol });
    }
  }

  /** Path of this host's bundle inside the synthesized stack directory. */
  get bundlePath(): string {
    return `assets/cdktf-postfix/${this.bundleDirName}/bundle.json`;
  }

  private get bundleDirName(): string {
    return TerraformStack.of(this).getLogicalId(this.node).replace(/[^A-Za-z0-9_-]/g, '_');
  }

  private validateState(): string[] {
    try {
      validateHostState(this.state.snapshot());
      return [];
    } catch (e) {
      if (e instanceof PostfixConfigError) return [e.message];
      throw e;
    }
  }

  private createResource(dependsOn: readonly ITerraformDependable[]): TerraformResource {
    const runner = runnerAsset(this);
    const env = this.connectionEnv;
    const triggers = Lazy.anyValue({ produce: () => this.triggers(runnerSha256()) }) as unknown as Record<string, string>;
    const applyEnv = this.applyEnvironment(env);
    // create_before_destroy: a replacement applies the new bundle first; the old resource's destroy
    // step then sees that the host has moved on and leaves it alone (see the runner's destroy action).
    const common = {
      ...(dependsOn.length > 0 ? { dependsOn: [...dependsOn] } : {}),
      lifecycle: { createBeforeDestroy: true },
    };
    if (this.resourceType === 'null_resource') {
      ensureNullProvider(this);
      return new NullResource(this, 'apply', { ...common, triggers, provisioners: this.provisioners(runner.path, applyEnv, 'self.triggers') });
    }
    const input = Lazy.anyValue({ produce: () => ({ ...env, CDKTF_POSTFIX_APPLIED_SHA256: this.bundle.sha256, CDKTF_POSTFIX_CONFIG_DIRECTORY: this.configDirectory }) });
    return new DataResource(this, 'apply', { ...common, triggersReplace: triggers, input, provisioners: this.provisioners(runner.path, applyEnv, 'self.input') });
  }

  /** Connection plus the variables carrying file content known only at apply time (secrets, tokens). */
  private applyEnvironment(connectionEnv: Record<string, string>): Record<string, string> {
    return Lazy.anyValue({
      produce: () => {
        const env: Record<string, string> = { ...connectionEnv };
        for (const file of this.state.snapshot().files) if (file.fromEnv) env[file.fromEnv.name] = file.fromEnv.value;
        return env;
      },
    }) as unknown as Record<string, string>;
  }

  /**
   * Apply on create/replace; on destroy remove what the stack manages. The destroy step may only use
   * self.*, so everything it needs was stored in the resource's input (or triggers for null_resource).
   */
  private provisioners(runnerPath: string, applyEnv: Record<string, string>, selfRef: 'self.input' | 'self.triggers'): LocalExecProvisioner[] {
    const destroyEnv: Record<string, string> = {};
    for (const name of [...Object.keys(this.connectionEnv), 'CDKTF_POSTFIX_APPLIED_SHA256', 'CDKTF_POSTFIX_CONFIG_DIRECTORY']) {
      destroyEnv[name] = `\${${selfRef}.${name}}`;
    }
    return [
      { type: 'local-exec', interpreter: ['node', runnerPath, 'apply'], command: this.bundlePath, environment: applyEnv },
      { type: 'local-exec', when: 'destroy', interpreter: ['node', runnerPath, 'destroy'], command: this.bundlePath, environment: destroyEnv },
    ];
  }

  private triggers(runnerSha: string): Record<string, string> {
    const { bundle, sha256 } = this.bundle;
    const files = this.state.snapshot().files;
    const secretPaths = new Set(files.filter((f) => f.secret || f.fromEnv).map((f) => f.path));
    const triggers = escapeTemplates(renderTriggers(bundle, sha256, runnerSha, secretPaths));
    triggers.host = this.connection.host;
    for (const file of files) {
      if (file.fromEnv) triggers[`file:${file.path}`] = `sha256:${Fn.sha256(file.fromEnv.value)}`;
    }
    if (this.resourceType === 'null_resource') {
      Object.assign(triggers, this.connectionEnv);
      triggers.CDKTF_POSTFIX_APPLIED_SHA256 = sha256;
      triggers.CDKTF_POSTFIX_CONFIG_DIRECTORY = this.configDirectory;
    }
    return triggers;
  }

  private writeBundle(session: { outdir: string; manifest: { outdir: string; forStack(stack: TerraformStack): { synthesizedStackPath: string } } }): void {
    const stack = TerraformStack.of(this);
    const stackDir = path.join(session.manifest.outdir, session.manifest.forStack(stack).synthesizedStackPath, '..');
    const dir = path.join(stackDir, path.dirname(this.bundlePath));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const { bundle, assets } = this.bundle;
    fs.writeFileSync(path.join(dir, 'bundle.json'), bundleJson(bundle));
    for (const asset of assets) fs.copyFileSync(asset.sourcePath, path.join(dir, asset.name));
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

function connectionSpec(c: PostfixConnection): ConnectionSpec {
  const user = c.user ?? 'root';
  const sudo = c.sudo ?? (Token.isUnresolved(user) ? undefined : user !== 'root');
  return {
    host: c.host,
    port: c.port,
    user,
    privateKeyPath: c.privateKeyPath,
    knownHostsPath: c.knownHostsPath,
    hostKeyFingerprint: c.hostKeyFingerprint,
    sudo,
    jumpHost: c.jumpHost,
  };
}

/** Checks the literal parts of a connection; tokens are left for apply time. */
function validateConnection(where: string, c: PostfixConnection): void {
  const literal = (v: unknown): v is string | number => v !== undefined && !Token.isUnresolved(v);
  if (literal(c.host) && (String(c.host).trim() === '' || /[\s\x00-\x1f]/.test(String(c.host)))) {
    throw new PostfixConfigError(where, 'connection.host', String(c.host), 'not a host name or address', 'use a DNS name, an IP address or an ~/.ssh/config alias');
  }
  if (literal(c.port)) validatePort(where, 'connection.port', c.port);
  if (literal(c.user)) validateSshUser(where, String(c.user));
  if (literal(c.hostKeyFingerprint)) validateFingerprint(where, String(c.hostKeyFingerprint));
  if (c.jumpHost) {
    if (literal(c.jumpHost.port)) validatePort(where, 'connection.jumpHost.port', c.jumpHost.port);
    if (literal(c.jumpHost.hostKeyFingerprint)) validateFingerprint(where, String(c.jumpHost.hostKeyFingerprint));
  }
}

/** One runner asset per stack, shared by all hosts in it. */
function runnerAsset(scope: Construct): TerraformAsset {
  const stack = TerraformStack.of(scope);
  const id = 'CdktfPostfixRunner';
  const existing = stack.node.tryFindChild(id);
  if (existing) return existing as TerraformAsset;
  return new TerraformAsset(stack, id, { path: resolveRunnerPath(), type: AssetType.FILE });
}

function ensureNullProvider(scope: Construct): void {
  const stack = TerraformStack.of(scope);
  if (!stack.node.tryFindChild('CdktfPostfixNullProvider')) new NullProvider(stack, 'CdktfPostfixNullProvider');
}

