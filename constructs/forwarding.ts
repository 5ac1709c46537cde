import { Construct } from 'constructs';
import { ForwardingProps } from '../lib/host/forwarding';
import { PostfixHost } from './postfix-host';

export { DELIVERY_SOURCES, deliverySources } from '../lib/host/forwarding';
export { DeliverySource } from '../lib/host/vocabulary';
export type { ForwardingProps } from '../lib/host/forwarding';

/**
 * Per-user forwarding for local(8): which alias, ~/.forward and :include: destinations may run
 * commands or write files. The seed page's "allow_mail_to_commands = alias,forward,include".
 */
export class Forwarding extends Construct {
  readonly host: PostfixHost;

  constructor(scope: Construct, id: string, props: ForwardingProps) {
    super(scope, id);
    this.host = PostfixHost.of(this);
    this.host.builder.setForwarding(props, this.node.path);
  }
}
