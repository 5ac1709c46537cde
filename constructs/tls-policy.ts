import { Construct } from 'constructs';
import { TlsPolicyProps } from '../lib/host/tls-policy';
import { TlsProfileName } from '../lib/model/tls';
import { PostfixHost } from './postfix-host';

export type { TlsPolicyProps } from '../lib/host/tls-policy';

/**
 * Server and client TLS for one host. Port 25 and outbound delivery stay opportunistic (`may`);
 * submission requires TLS, on every submission service the host has, whenever it was added.
 */
export class TlsPolicy extends Construct {
  readonly profile: TlsProfileName;
  /** The main.cf parameters this policy sets. */
  readonly parameters: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: TlsPolicyProps = {}) {
    super(scope, id);
    const plan = PostfixHost.of(this).builder.addTlsPolicy(props, this.node.path);
    this.profile = plan.profile;
    this.parameters = plan.parameters;
  }
}
