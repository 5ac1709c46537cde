import { Construct } from 'constructs';
import { TlsPolicyProps } from '../lib/host/tls-policy';
import { TlsProfile } from '../lib/host/vocabulary';
import { PostfixHost } from './postfix-host';

export { TlsProfile } from '../lib/host/vocabulary';
export type { TlsCertificate, TlsPolicyProps } from '../lib/host/tls-policy';

/**
 * Server and client TLS for one host. Port 25 and outbound delivery stay opportunistic (`may`);
 * submission requires TLS, on every submission service the host has, whenever it was added.
 */
export class TlsPolicy extends Construct {
  readonly profile: TlsProfile;
  /** The main.cf parameters this policy sets. */
  readonly parameters: { readonly [name: string]: string };

  constructor(scope: Construct, id: string, props: TlsPolicyProps = {}) {
    super(scope, id);
    const plan = PostfixHost.of(this).builder.addTlsPolicy(props, this.node.path);
    this.profile = plan.profile as TlsProfile;
    this.parameters = plan.parameters;
  }
}
