import { Construct } from 'constructs';
import { AliasesProps } from '../lib/host/aliases';
import { PostfixHost } from './postfix-host';

export type { AliasEntry, AliasesProps } from '../lib/host/aliases';

/**
 * The host's aliases(5) file (default /etc/aliases), e.g.
 * `new Aliases(host, "aliases", { operator: "ops@example.org" })` -> `root: ops@example.org` and
 * `postmaster: root`. The apply builds it with postalias beside the live one and renames it into
 * place in the same transaction as main.cf; the file is listed in alias_maps and alias_database.
 */
export class Aliases extends Construct {
  readonly host: PostfixHost;
  /** The aliases file on the host. */
  readonly path: string;
  /** `type:path`, as alias_maps lists it. */
  readonly reference: string;
  /** Alias names in the file, in order. */
  readonly names: string[];

  constructor(scope: Construct, id: string, props: AliasesProps) {
    const host = PostfixHost.of(scope);
    super(scope, id);
    this.host = host;
    const plan = host.builder.addAliases(props, this.node.path);
    this.path = plan.file.path;
    this.reference = plan.reference;
    this.names = [...plan.names];
  }
}
