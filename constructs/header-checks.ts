import { Construct } from 'constructs';
import { HeaderChecksInfo, HeaderChecksProps, OnSubmissionOptions } from '../lib/host/header-checks';
import { validateTableName } from '../lib/model/access';
import { RegexTableType } from '../lib/host/vocabulary';
import { HeaderRule, PRIVACY_RULES } from '../lib/model/header-checks';
import { PostfixHost } from './postfix-host';

export { RegexTableType } from '../lib/host/vocabulary';
export type { HeaderRule } from '../lib/model/header-checks';
export type { HeaderChecksProps, OnSubmissionOptions } from '../lib/host/header-checks';

/**
 * A header_checks(5) table (regexp or pcre) in the host's config directory, named after the construct.
 * `onSubmission()` applies it to submitted mail only, through a dedicated cleanup service;
 * `onAllMail()` sets main.cf header_checks for every message the host receives.
 */
export class HeaderChecks extends Construct {
  /** The seed page's four "Censor Sensitive Headers" rules (plus any extra rules), as props. */
  static privacy(extra: HeaderRule[] = []): HeaderChecksProps {
    return { type: RegexTableType.REGEXP, rules: [...PRIVACY_RULES, ...extra] };
  }

  readonly host: PostfixHost;
  readonly type: RegexTableType;
  readonly path: string;
  /** `regexp:/etc/postfix/clean` */
  readonly reference: string;
  readonly rules: HeaderRule[];
  private readonly info: HeaderChecksInfo;

  constructor(scope: Construct, id: string, props: HeaderChecksProps) {
    const host = PostfixHost.of(scope);
    const name = validateTableName(`${host.node.path}/${id}`, id);
    super(scope, name);
    this.host = host;
    this.info = host.builder.addHeaderChecks(name, props, this.node.path);
    this.type = this.info.type as RegexTableType;
    this.rules = [...this.info.rules];
    ({ path: this.path, reference: this.reference } = this.info);
  }

  /**
   * Censor submitted mail only: adds `msa_cleanup unix n - n - 0 cleanup -o header_checks=...` and
   * `-o cleanup_service_name=msa_cleanup` on the submission services. Services are resolved when the
   * host is composed, so submission services added before or after this call are all covered.
   */
  onSubmission(opts: OnSubmissionOptions = {}): this {
    this.host.builder.headerChecksOnSubmission(this.info, opts, this.node.path);
    return this;
  }

  /** Apply the rules to all mail the host receives (main.cf header_checks; mime_header_checks follows by default). */
  onAllMail(): this {
    this.host.builder.headerChecksOnAllMail(this.info, this.node.path);
    return this;
  }
}
