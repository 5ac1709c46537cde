import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Construct } from 'constructs';
import {
  AccessEntry,
  AccessTableType,
  DEFAULT_RELAY_RESTRICTIONS,
  findOpenRelay,
  indexedType,
  isPermissiveAction,
  openRelayError,
  Placement,
  placeCheck,
  renderAccessTable,
  RestrictionStage,
  rewriteCacheName,
  rewriteKeyOnlyLines,
  scanAccessFile,
  STAGE_CHECK,
  STAGE_PARAMETER,
  TABLE_TYPE_PACKAGES,
  validateAccessEntries,
  validateTableName,
  validateTableType,
  formatRestrictions,
  AccessKeyKind,
} from '../lib/model/access';
import { PostfixConfigError } from '../lib/model/errors';
import { postmapProblems } from '../lib/model/header-checks';
import { sha256File } from '../lib/render/hash';
import { PostfixHost } from './postfix-host';

export { Access } from '../lib/model/access';
export type { AccessTableType, Placement } from '../lib/model/access';

export interface AccessTableProps {
  /** @default "hash" (Debian's default_database_type) */
  readonly type?: AccessTableType;
  /**
   * Entries from code: key -> access(5) action. Keys: `user@domain`, `domain`, `.domain` (subdomains),
   * `user@`, IP addresses and prefixes; `/regex/` for regexp and pcre; `net/len` for cidr. Order is kept
   * (first match wins in cidr, regexp and pcre tables). Use an array of pairs to keep order explicit.
   */
  readonly entries?: Readonly<Record<string, string>> | readonly (readonly [string, string])[];
  /**
   * A local file with one entry a line (`key action`, or `key` alone with defaultAction), `#` comments
   * and blank lines allowed, as the seed page's blacklist. Streamed: any size, bounded memory; only its
   * hash goes into Terraform triggers and state.
   */
  readonly fromFile?: string;
  /** Action for lines of fromFile that hold only a key. @default - every line needs an action */
  readonly defaultAction?: string;
  /** Let the apply install the Debian package for a missing table type (postfix-lmdb, postfix-cdb, postfix-pcre). @default false: the apply fails naming the package */
  readonly installPackage?: boolean;
}

export interface RestrictOptions {
  /**
   * Where in the restriction list. Sender/client/HELO checks default to "first" (a blocklist applies to
   * every client, including mynetworks). Recipient checks default to "afterRelayCheck" (right after
   * reject_unauth_destination when the list has one, else last).
   */
  readonly placement?: Placement;
}

/**
 * An access(5) table in the host's config directory, named after the construct
 * (`new AccessTable(host, "blacklist", ...)` -> /etc/postfix/blacklist, `hash:/etc/postfix/blacklist`).
 * Indexed types are built by the apply beside the live table and renamed into place.
 */
export class AccessTable extends Construct {
  readonly host: PostfixHost;
  readonly type: AccessTableType;
  /** Absolute path of the table source on the host. */
  readonly path: string;
  /** `type:path`, as restriction lists name it. */
  readonly reference: string;
  /** Number of entries. */
  readonly size: number;
  /** True when some entry can accept (OK, all-numerical, permit...). */
  readonly permissive: boolean;
  /** Kinds of keys present. */
  readonly keyKinds: ReadonlySet<AccessKeyKind>;
  /** Entries given in code (empty for fromFile tables). */
  readonly entries: readonly AccessEntry[];
  private readonly placed = new Set<RestrictionStage>();

  constructor(scope: Construct, id: string, props: AccessTableProps) {
    const host = PostfixHost.of(scope);
    const name = validateTableName(`${host.node.path}/${id}`, id);
    super(scope, name);
    this.host = host;
    const where = this.node.path;
    this.type = validateTableType(where, 'type', props.type ?? 'hash');
    this.path = `${host.configDirectory.replace(/\/$/, '')}/${name}`;
    this.reference = `${this.type}:${this.path}`;
    const state = host.state;
    const hasEntries = props.entries !== undefined;
    if (hasEntries === (props.fromFile !== undefined)) {
      throw new PostfixConfigError(where, 'entries', undefined, hasEntries ? 'both entries and fromFile are given' : 'neither entries nor fromFile is given', 'give the entries in code (entries) or a local file (fromFile), not both');
    }
    if (props.defaultAction !== undefined && !props.fromFile) {
      throw new PostfixConfigError(where, 'defaultAction', props.defaultAction, 'defaultAction applies only to fromFile lines that hold a key alone', 'write the action into each entry');
    }
    const postmap = indexedType(this.type);
    if (hasEntries) {
      this.entries = validateAccessEntries(where, 'entries', this.type, props.entries!);
      if (this.entries.length === 0) throw new PostfixConfigError(where, 'entries', undefined, 'the table has no entries', 'give at least one entry, or leave the table out');
      this.size = this.entries.length;
      this.permissive = this.entries.some((e) => isPermissiveAction(e.action));
      this.keyKinds = new Set(this.entries.map((e) => e.kind));
      const content = renderAccessTable(this.entries);
      this.checkWithPostmap(content);
      state.addFile({ path: this.path, content, mode: '0644', ...(postmap ? { postmap } : {}) }, where);
    } else {
      const file = path.resolve(props.fromFile!);
      const scan = scanAccessFile(where, 'fromFile', file, this.type, props.defaultAction);
      this.entries = [];
      this.size = scan.entries;
      this.permissive = scan.permissive;
      this.keyKinds = scan.kinds;
      let sourcePath = file;
      if (scan.keyOnlyLines > 0) sourcePath = rewritten(file, props.defaultAction!);
      if (this.type === 'regexp' || this.type === 'pcre' || this.type === 'cidr') {
        if (fs.statSync(sourcePath).size <= 1 << 20) this.checkWithPostmap(fs.readFileSync(sourcePath, 'utf8'));
      }
      state.addFile({ path: this.path, sourcePath, mode: '0644', ...(postmap ? { postmap } : {}) }, where);
    }
    state.requireTableType(this.type);
    if (props.installPackage) {
      const pkg = TABLE_TYPE_PACKAGES[this.type];
      if (pkg) state.allowPackageInstall(pkg);
    }
    this.node.addValidation({ validate: () => this.validateRelay() });
  }

  /** Reject (or otherwise act on) MAIL FROM addresses: check_sender_access in smtpd_sender_restrictions. */
  restrictSenders(opts: RestrictOptions = {}): this {
    return this.place('sender', opts);
  }

  /** Act on RCPT TO addresses: check_recipient_access in smtpd_recipient_restrictions, never ahead of the relay check when that would open the relay. */
  restrictRecipients(opts: RestrictOptions = {}): this {
    return this.place('recipient', opts);
  }

  /** Act on the client's IP address or host name: check_client_access in smtpd_client_restrictions. */
  restrictClients(opts: RestrictOptions = {}): this {
    return this.place('client', opts);
  }

  /** Act on the HELO/EHLO name: check_helo_access in smtpd_helo_restrictions. */
  restrictHelo(opts: RestrictOptions = {}): this {
    return this.place('helo', opts);
  }

  private place(stage: RestrictionStage, opts: RestrictOptions): this {
    const where = this.node.path;
    this.checkKeysFit(stage);
    const parameter = STAGE_PARAMETER[stage];
    const state = this.host.state;
    const check = `${STAGE_CHECK[stage]} ${this.reference}`;
    const items = placeCheck({
      where,
      stage,
      current: state.getParameter(parameter),
      relay: state.getParameter('smtpd_relay_restrictions') ?? DEFAULT_RELAY_RESTRICTIONS,
      check,
      permissive: this.permissive,
      placement: opts.placement,
      table: where,
    });
    state.replaceParameter(parameter, formatRestrictions(items), where);
    this.placed.add(stage);
    return this;
  }

  /** Keys that can never match at this stage are a mistake, not a no-op. */
  private checkKeysFit(stage: RestrictionStage): void {
    const where = this.node.path;
    if (this.type === 'regexp' || this.type === 'pcre') return;
    const addressKinds: AccessKeyKind[] = ['address', 'user@'];
    const networkKinds: AccessKeyKind[] = ['ip', 'network'];
    const wrong = (stage === 'client' || stage === 'helo' ? addressKinds : networkKinds).filter((k) => this.keyKinds.has(k));
    if (stage === 'sender' || stage === 'recipient') {
      if (this.type === 'cidr') throw new PostfixConfigError(where, 'type', 'cidr', `a cidr table matches IP addresses, but check_${stage}_access looks up mail addresses`, 'use restrictClients() for a cidr table, or a hash table of addresses and domains');
    }
    if (wrong.length > 0) {
      throw new PostfixConfigError(where, 'entries', wrong.join(', '), `${stage} checks look up ${stage === 'client' ? 'client IP addresses and host names' : stage === 'helo' ? 'HELO names' : 'mail addresses and domains'}, so ${wrong.join(' and ')} keys would never match`, 'split the table by what it matches, or call the matching restrict...() method');
    }
  }

  private checkWithPostmap(content: string): void {
    if (this.type !== 'regexp' && this.type !== 'pcre' && this.type !== 'cidr') return;
    const problems = postmapProblems(this.type, content);
    if (!problems || problems.length === 0) return;
    const p = problems[0];
    const line = content.split('\n')[p.line - 1];
    throw new PostfixConfigError(this.node.path, p.line ? `entries line ${p.line}` : 'entries', line, `Postfix rejects this ${this.type} entry (${p.message})`, 'correct the entry');
  }

  /** Synth-time recheck, after every construct has contributed (settings may change later than restrict...()). */
  private validateRelay(): string[] {
    if (!this.permissive || !this.placed.has('recipient')) return [];
    const state = this.host.state;
    const relay = state.getParameter('smtpd_relay_restrictions') ?? DEFAULT_RELAY_RESTRICTIONS;
    const check = `${STAGE_CHECK.recipient} ${this.reference}`;
    const open = findOpenRelay(state.getParameter('smtpd_recipient_restrictions'), relay, new Set([check]));
    return open ? [openRelayError({ where: this.node.path, check, relay, table: this.node.path }).message] : [];
  }
}

/** Same checks, as functions (for PostfixHost.restrictSenders(table) and friends). */
export function restrictSenders(table: AccessTable, opts?: RestrictOptions): AccessTable {
  return table.restrictSenders(opts);
}
export function restrictRecipients(table: AccessTable, opts?: RestrictOptions): AccessTable {
  return table.restrictRecipients(opts);
}
export function restrictClients(table: AccessTable, opts?: RestrictOptions): AccessTable {
  return table.restrictClients(opts);
}

/** Key-only lines completed with defaultAction, written once per (content, action) to a cache file. */
function rewritten(file: string, defaultAction: string): string {
  const dir = path.join(os.tmpdir(), 'cdktf-postfix-tables');
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, rewriteCacheName(sha256File(file).sha256, defaultAction));
  if (!fs.existsSync(out)) {
    const tmp = `${out}.${process.pid}.tmp`;
    rewriteKeyOnlyLines(file, tmp, defaultAction);
    fs.renameSync(tmp, out);
  }
  return out;
}
