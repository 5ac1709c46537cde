import { Construct } from 'constructs';
import { PostscreenProps } from '../lib/host/postscreen';
import { PostfixHost } from './postfix-host';

export type { PostscreenDnsblSite, PostscreenProps } from '../lib/host/postscreen';

/**
 * postscreen(8) on port 25: clients that talk before the greeting (most spambots) are refused
 * before an smtpd process is spent on them; optional weighted DNSBL sites. Replaces the host's
 * smtp/inet service (keep port-25 `-o` overrides on smtpd/pass instead).
 */
export class Postscreen extends Construct {
  /** The main.cf parameters this sets. */
  readonly parameters: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: PostscreenProps = {}) {
    super(scope, id);
    this.parameters = PostfixHost.of(this).builder.addPostscreen(props, this.node.path).parameters;
  }
}
