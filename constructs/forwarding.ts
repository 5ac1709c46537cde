import { Construct } from 'constructs';
import { PostfixConfigError } from '../lib/model/errors';
import { PostfixHost } from './postfix-host';

/** Where local(8) found the destination: aliases, a ~/.forward file, or a :include: file. */
export type DeliverySource = 'alias' | 'forward' | 'include';

export const DELIVERY_SOURCES: readonly DeliverySource[] = ['alias', 'forward', 'include'];

export interface ForwardingProps {
  /**
   * allow_mail_to_commands: where `|command` destinations may come from. An empty list forbids
   * delivery to commands. @default - unchanged (Postfix: alias, forward)
   */
  readonly commands?: readonly DeliverySource[];
  /**
   * allow_mail_to_files: where `/file/name` destinations may come from. An empty list forbids
   * delivery to files. @default - unchanged (Postfix: alias, forward)
   */
  readonly files?: readonly DeliverySource[];
}

/**
 * Per-user forwarding for local(8): which alias, ~/.forward and :include: destinations may run
 * commands or write files. The seed page's "allow_mail_to_commands = alias,forward,include".
 */
export class Forwarding extends Construct {
  readonly host: PostfixHost;

  constructor(scope: Construct, id: string, props: ForwardingProps) {
    super(scope, id);
    this.host = PostfixHost.of(this);
    const where = this.node.path;
    if (props.commands === undefined && props.files === undefined) {
      throw new PostfixConfigError(where, 'commands', undefined, 'neither commands nor files is given', 'give commands and/or files, e.g. commands: ["alias", "forward", "include"]');
    }
    if (props.commands !== undefined) {
      this.host.state.setParameter('allow_mail_to_commands', deliverySources(where, 'commands', props.commands), where);
    }
    if (props.files !== undefined) {
      this.host.state.setParameter('allow_mail_to_files', deliverySources(where, 'files', props.files), where);
    }
  }
}

/** `["alias", "forward"]` -> "alias, forward"; refuses unknown and repeated names. */
export function deliverySources(where: string, field: string, sources: readonly string[]): string {
  if (!Array.isArray(sources)) throw new PostfixConfigError(where, field, String(sources), 'expected a list', `give a list of ${DELIVERY_SOURCES.join(', ')}`);
  const seen = new Set<string>();
  for (const s of sources) {
    if (!(DELIVERY_SOURCES as readonly string[]).includes(s)) {
      throw new PostfixConfigError(where, field, String(s), 'not a delivery source local(8) knows', `use ${DELIVERY_SOURCES.join(', ')}`);
    }
    if (seen.has(s)) throw new PostfixConfigError(where, field, s, 'listed twice', 'list each source once');
    seen.add(s);
  }
  return [...seen].join(', ');
}
