import { Construct } from 'constructs';
import { TABLE_TYPE_PACKAGES, validateTableName } from '../lib/model/access';
import { PostfixConfigError } from '../lib/model/errors';
import { HeaderRule, postmapProblems, PRIVACY_RULES, RegexTableType, REGEX_TABLE_TYPES, renderRegexTable, validateHeaderRules } from '../lib/model/header-checks';
import { MasterServiceSpec, serviceKey } from '../lib/model/master-types';
import { PostfixHost } from './postfix-host';

export type { HeaderRule } from '../lib/model/header-checks';

export interface HeaderChecksProps {
  /** @default "regexp" */
  readonly type?: RegexTableType;
  /** Rules in order (first match wins): `{ pattern: "/^X-Mailer:/", action: "IGNORE" }` or `["/^X-Mailer:/", "IGNORE"]`. */
  readonly rules: readonly (HeaderRule | readonly [string, string])[];
  /** Apply the rules to MIME headers (Content-*) too, as the seed page did with mime_header_checks. @default true */
  readonly mimeHeaders?: boolean;
  /** Apply the rules to headers of attached messages (nested_header_checks). @default false */
  readonly nestedHeaders?: boolean;
  /** Let the apply install postfix-pcre when the host lacks it. @default false */
  readonly installPackage?: boolean;
}

export interface OnSubmissionOptions {
  /**
   * master.cf service keys (`name/type`) that receive submitted mail.
   * @default every smtpd service already defined on the host that Submission.starttls() or
   * Submissions.implicitTls() made (milter_macro_daemon_name=ORIGINATING) or that is named
   * submission, submissions, smtps, 587 or 465
   */
  readonly services?: readonly string[];
  /** Name of the dedicated cleanup service. @default "msa_cleanup" */
  readonly cleanupServiceName?: string;
}

/**
 * A header_checks(5) table (regexp or pcre) in the host's config directory, named after the construct.
 * `onSubmission()` applies it to submitted mail only, through a dedicated cleanup service;
 * `onAllMail()` sets main.cf header_checks for every message the host receives.
 */
export class HeaderChecks extends Construct {
  /** The seed page's four "Censor Sensitive Headers" rules (plus any extra rules), as props. */
  static privacy(extra: readonly (HeaderRule | readonly [string, string])[] = []): HeaderChecksProps {
    return { type: 'regexp', rules: [...PRIVACY_RULES, ...extra] };
  }

  readonly host: PostfixHost;
  readonly type: RegexTableType;
  readonly path: string;
  /** `regexp:/etc/postfix/clean` */
  readonly reference: string;
  readonly rules: readonly HeaderRule[];
  private readonly mimeHeaders: boolean;
  private readonly nestedHeaders: boolean;
  private cleanupService?: string;
  private readonly submissionServices = new Set<string>();

  constructor(scope: Construct, id: string, props: HeaderChecksProps) {
    const host = PostfixHost.of(scope);
    const name = validateTableName(`${host.node.path}/${id}`, id);
    super(scope, name);
    this.host = host;
    const where = this.node.path;
    const type = props.type ?? 'regexp';
    if (!(REGEX_TABLE_TYPES as readonly string[]).includes(type)) {
      throw new PostfixConfigError(where, 'type', String(type), 'header checks are regular-expression tables', 'use "regexp" (POSIX) or "pcre"');
    }
    this.type = type;
    if (!Array.isArray(props.rules)) throw new PostfixConfigError(where, 'rules', String(props.rules), 'rules must be a list (order matters: first match wins)', 'give an array of { pattern, action }');
    const given = props.rules.map((r) => (isPair(r) ? { pattern: r[0], action: r[1] } : r));
    this.rules = validateHeaderRules(where, 'rules', type, given);
    this.mimeHeaders = props.mimeHeaders ?? true;
    this.nestedHeaders = props.nestedHeaders ?? false;
    this.path = `${host.configDirectory.replace(/\/$/, '')}/${name}`;
    this.reference = `${type}:${this.path}`;
    const content = renderRegexTable(this.rules);
    const problems = postmapProblems(type, content);
    if (problems && problems.length > 0) {
      const p = problems[0];
      throw new PostfixConfigError(where, p.line ? `rules[${p.line - 1}]` : 'rules', p.line ? content.split('\n')[p.line - 1] : undefined, `Postfix rejects this ${type} rule (${p.message})`, 'correct the rule');
    }
    host.state.addFile({ path: this.path, content, mode: '0644' }, where);
    host.state.requireTableType(type);
    if (props.installPackage && TABLE_TYPE_PACKAGES[type]) host.state.allowPackageInstall(TABLE_TYPE_PACKAGES[type]);
    this.node.addValidation({ validate: () => this.validateSubmissionServices() });
  }

  /**
   * Censor submitted mail only: adds `msa_cleanup unix n - n - 0 cleanup -o header_checks=...` and
   * `-o cleanup_service_name=msa_cleanup` on the submission services. Resolved eagerly: add the
   * submission services before calling this (a submission service added later is reported at synth).
   */
  onSubmission(opts: OnSubmissionOptions = {}): this {
    const where = this.node.path;
    const state = this.host.state;
    const cleanup = opts.cleanupServiceName ?? 'msa_cleanup';
    const services = opts.services ?? this.defaultSubmissionServices();
    if (services.length === 0) {
      throw new PostfixConfigError(where, 'onSubmission services', undefined, 'the host defines no submission service yet, so no submitted mail would pass these header checks',
        'add the services first (host.addService(Submission.starttls()), Submissions.implicitTls()), then call onSubmission(), or name them in services');
    }
    for (const key of services) {
      const spec = state.getService(key);
      if (!spec) {
        throw new PostfixConfigError(where, 'onSubmission services', key, 'no such master.cf service on this host', 'name an existing service as name/type, e.g. submission/inet');
      }
      if (spec.command !== 'smtpd') throw new PostfixConfigError(where, 'onSubmission services', key, `the service runs ${spec.command}, not smtpd`, 'name smtpd services that receive submitted mail');
    }
    // Global header_checks (if this stack sets them) keep applying to submitted mail too.
    const global = state.getParameter('header_checks');
    const tables = global && global.trim() !== '' ? `${this.reference}, ${global}` : this.reference;
    const options: Record<string, string> = { header_checks: tables };
    if (this.mimeHeaders) options.mime_header_checks = tables;
    options.nested_header_checks = this.nestedHeaders ? tables : '';
    const spec: MasterServiceSpec = { name: cleanup, type: 'unix', private: false, chroot: false, maxproc: 0, command: 'cleanup', options };
    state.addService(spec, where);
    for (const key of services) {
      state.setServiceOption(key, 'cleanup_service_name', cleanup, where);
      this.submissionServices.add(key);
    }
    this.cleanupService = cleanup;
    return this;
  }

  /** Apply the rules to all mail the host receives (main.cf header_checks; mime_header_checks follows by default). */
  onAllMail(): this {
    this.host.state.setParameter('header_checks', this.reference, this.node.path);
    return this;
  }

  private defaultSubmissionServices(): string[] {
    return this.host.state
      .snapshot()
      .services.filter((s) => looksLikeSubmission(s))
      .map((s) => serviceKey(s));
  }

  private validateSubmissionServices(): string[] {
    if (!this.cleanupService) return [];
    const missed = this.host.state
      .snapshot()
      .services.filter((s) => looksLikeSubmission(s) && !this.submissionServices.has(serviceKey(s)) && s.options?.cleanup_service_name === undefined)
      .map((s) => serviceKey(s));
    if (missed.length === 0) return [];
    return [new PostfixConfigError(this.node.path, 'onSubmission services', missed.join(', '),
      'these submission services were added after onSubmission() and do not use the censoring cleanup service, so their mail keeps the headers',
      'add all submission services before calling onSubmission(), or list them in onSubmission({ services })').message];
  }
}

function looksLikeSubmission(s: MasterServiceSpec): boolean {
  if (s.type !== 'inet' || s.command !== 'smtpd') return false;
  if (s.options?.milter_macro_daemon_name === 'ORIGINATING') return true;
  const port = s.name.slice(s.name.lastIndexOf(':') + 1);
  return ['submission', 'submissions', 'smtps', '587', '465'].includes(port);
}

function isPair(r: HeaderRule | readonly [string, string]): r is readonly [string, string] {
  return Array.isArray(r);
}
