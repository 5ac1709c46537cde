import { Construct } from 'constructs';
import { LookupTableEntry, LookupTableInfo, LookupTableProps } from '../lib/host/lookup-table';
import { validateTableName } from '../lib/model/access';
import { PostfixHost } from './postfix-host';

export type { LookupTableEntry, LookupTableProps } from '../lib/host/lookup-table';

/** Props of the per-parameter shortcuts (LookupTable.virtualAlias(...) and friends): everything but the parameter. */
export interface LookupTableOptions {
  /** hash, lmdb, cdb, btree, texthash, inline, regexp, pcre or cidr. @default "hash" */
  readonly type?: string;
  readonly entries?: LookupTableEntry[];
  /** A local file in postmap's input format (`key value` a line), streamed. */
  readonly fromFile?: string;
  /** @default false */
  readonly installPackage?: boolean;
}

/**
 * A lookup table for any `*_maps` parameter, named after the construct
 * (`new LookupTable(host, "virtual", { parameter: "virtual_alias_maps", entries: [...] })` ->
 * /etc/postfix/virtual, and `hash:/etc/postfix/virtual` appended to virtual_alias_maps). Keys and
 * values are checked as the parameter's manual describes them (virtual(5), transport(5),
 * canonical(5), relocated(5)...). Indexed types are built with postmap beside the live table and
 * renamed into place in the apply transaction; inline tables go into main.cf itself.
 */
export class LookupTable extends Construct {
  /** virtual(5) aliases: `info@example.org` -> `alice, bob@example.net` (virtual_alias_maps). */
  static virtualAlias(scope: Construct, id: string, options: LookupTableOptions): LookupTable {
    return new LookupTable(scope, id, { ...options, parameter: 'virtual_alias_maps' });
  }

  /** Mailboxes of virtual(8) delivery: `info@example.org` -> `example.org/info/` (virtual_mailbox_maps). */
  static virtualMailbox(scope: Construct, id: string, options: LookupTableOptions): LookupTable {
    return new LookupTable(scope, id, { ...options, parameter: 'virtual_mailbox_maps' });
  }

  /** transport(5): `example.org` -> `smtp:[mail.example.org]:587`, `error:5.1.1 gone` (transport_maps). */
  static transport(scope: Construct, id: string, options: LookupTableOptions): LookupTable {
    return new LookupTable(scope, id, { ...options, parameter: 'transport_maps' });
  }

  /** canonical(5) rewriting of sender addresses (sender_canonical_maps). */
  static senderCanonical(scope: Construct, id: string, options: LookupTableOptions): LookupTable {
    return new LookupTable(scope, id, { ...options, parameter: 'sender_canonical_maps' });
  }

  /** canonical(5) rewriting of recipient addresses (recipient_canonical_maps). */
  static recipientCanonical(scope: Construct, id: string, options: LookupTableOptions): LookupTable {
    return new LookupTable(scope, id, { ...options, parameter: 'recipient_canonical_maps' });
  }

  /** relocated(5): `alice@example.org` -> `alice@new.example` (relocated_maps). */
  static relocated(scope: Construct, id: string, options: LookupTableOptions): LookupTable {
    return new LookupTable(scope, id, { ...options, parameter: 'relocated_maps' });
  }

  /** Relay host per sender: `@example.org` -> `[smtp.example.org]:587` (sender_dependent_relayhost_maps). */
  static senderDependentRelayhost(scope: Construct, id: string, options: LookupTableOptions): LookupTable {
    return new LookupTable(scope, id, { ...options, parameter: 'sender_dependent_relayhost_maps' });
  }

  /** A blind copy per recipient: `ceo@example.org` -> `archive@example.org` (recipient_bcc_maps). */
  static recipientBcc(scope: Construct, id: string, options: LookupTableOptions): LookupTable {
    return new LookupTable(scope, id, { ...options, parameter: 'recipient_bcc_maps' });
  }

  readonly host: PostfixHost;
  readonly parameter: string;
  readonly type: string;
  /** Absolute path of the table source on the host (undefined for inline tables). */
  readonly path?: string;
  /** What the parameter lists: `type:path` or `inline:{ ... }`. */
  readonly reference: string;
  /** Number of entries. */
  readonly size: number;

  constructor(scope: Construct, id: string, props: LookupTableProps) {
    const host = PostfixHost.of(scope);
    const name = validateTableName(`${host.node.path}/${id}`, id);
    super(scope, name);
    this.host = host;
    const info: LookupTableInfo = host.builder.addLookupTable(name, props, this.node.path);
    ({ parameter: this.parameter, type: this.type, path: this.path, reference: this.reference, size: this.size } = info);
  }
}
