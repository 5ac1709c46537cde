import { Construct } from 'constructs';
import { AccessTableInfo, AccessTableProps } from '../lib/host/access-table';
import { AccessTableType, Placement } from '../lib/host/vocabulary';
import { AccessEntry, AccessKeyKind, RestrictionStage, validateTableName } from '../lib/model/access';
import { PostfixHost } from './postfix-host';

export { Access } from '../lib/model/access';
export { AccessTableType, Placement } from '../lib/host/vocabulary';
export type { AccessTableProps } from '../lib/host/access-table';

export interface RestrictOptions {
  /**
   * Where in the restriction list. Sender/client/HELO checks default to "first" (a blocklist applies to
   * every client, including mynetworks). Recipient checks default to "afterRelayCheck" (right after
   * reject_unauth_destination when the list has one, else last).
   * @default - Placement.FIRST, or Placement.AFTER_RELAY_CHECK for recipient checks
   */
  readonly placement?: Placement;
}

/**
 * An access(5) table in the host's config directory, named after the construct
 * (`new AccessTable(host, "blacklist", ...)` -> /etc/postfix/blacklist, `hash:/etc/postfix/blacklist`).
 * Indexed types are built by the apply beside the live table and renamed into place. Where the check
 * lands in a restriction list is decided once the whole host is known, so settings, services and
 * tables may come in any order.
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
  /** Kinds of keys present. @jsii ignore */
  readonly keyKinds: ReadonlySet<AccessKeyKind>;
  /** Entries given in code (empty for fromFile tables). @jsii ignore */
  readonly entries: readonly AccessEntry[];
  private readonly info: AccessTableInfo;

  constructor(scope: Construct, id: string, props: AccessTableProps) {
    const host = PostfixHost.of(scope);
    const name = validateTableName(`${host.node.path}/${id}`, id);
    super(scope, name);
    this.host = host;
    this.info = host.builder.addAccessTable(name, props, this.node.path);
    this.type = this.info.type as AccessTableType;
    ({
      path: this.path,
      reference: this.reference,
      size: this.size,
      permissive: this.permissive,
      keyKinds: this.keyKinds,
      entries: this.entries,
    } = this.info);
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
    this.host.builder.restrict(this.info, stage, opts.placement, this.node.path);
    return this;
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
