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
  private readonly host: PostfixHost;
  private readonly names: readonly string[];

  constructor(scope: Construct, id: string, props: TlsPolicyProps = {}) {
    super(scope, id);
    this.host = PostfixHost.of(this);
    const plan = this.host.builder.addTlsPolicy(props, this.node.path);
    this.profile = plan.profile as TlsProfile;
    this.names = Object.keys(plan.parameters);
  }

  /**
   * The main.cf parameters this policy sets, with the values the host ends up with: the profile's
   * smtp_tls_security_level `may` reads as the relay's level when a SmartHostRelay requiring TLS
   * is on the same host, added before or after this policy.
   */
  get parameters(): { readonly [name: string]: string } {
    return Object.fromEntries(this.names.map((name) => [name, this.host.builder.getParameter(name) ?? '']));
  }
}
