import { Construct } from 'constructs';
import { DhParametersProps } from '../lib/host/dh';
import { PostfixHost } from './postfix-host';

export { DhRotation } from '../lib/host/vocabulary';
export type { DhParametersProps } from '../lib/host/dh';

/**
 * Optional custom DH group for DHE ciphers (smtpd_tls_dh1024_param_file, which despite its name
 * takes any size). Not needed with OpenSSL 3, which falls back to RFC 7919 groups; only the
 * legacyOldClients profile offers DHE ciphers at all. Generated on the host, never uploaded.
 */
export class DhParameters extends Construct {
  readonly path: string;
  readonly bits: number;
  readonly scriptPath: string;

  constructor(scope: Construct, id: string, props: DhParametersProps = {}) {
    super(scope, id);
    const plan = PostfixHost.of(this).builder.addDhParameters(props, this.node.path);
    this.path = plan.path;
    this.bits = plan.bits;
    this.scriptPath = plan.scriptPath;
  }
}
