/**
 * header_checks(5) tables as the builder takes them, and their composition: on submitted mail only
 * (a dedicated cleanup(8) service that submission services name with cleanup_service_name, master(5))
 * or on all mail (main.cf header_checks).
 */
import { TABLE_TYPE_PACKAGES, validateTableName } from '../model/access';
import { PostfixConfigError } from '../model/errors';
import {
  HeaderRule,
  postmapProblems,
  RegexTableType,
  REGEX_TABLE_TYPES,
  renderRegexTable,
  validateHeaderRules,
} from '../model/header-checks';
import { DesiredFile } from '../model/host-state';
import { MasterServiceSpec, serviceKey } from '../model/master-types';
import { RegexTableType as RegexTableTypeOption } from './vocabulary';

export interface HeaderChecksProps {
  /** @default RegexTableType.REGEXP */
  readonly type?: RegexTableTypeOption;
  /** Rules in order (first match wins): `{ pattern: "/^X-Mailer:/", action: "IGNORE" }`. */
  readonly rules: HeaderRule[];
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
   * @default every smtpd service on the host (whenever it was added) that Submission.starttls() or
   * Submissions.implicitTls() made (milter_macro_daemon_name=ORIGINATING) or that is named
   * submission, submissions, smtps, 587 or 465
   */
  readonly services?: string[];
  /** Name of the dedicated cleanup service. @default "msa_cleanup" */
  readonly cleanupServiceName?: string;
}

export interface HeaderChecksInfo {
  readonly where: string;
  readonly type: RegexTableType;
  readonly path: string;
  /** `regexp:/etc/postfix/clean` */
  readonly reference: string;
  readonly rules: readonly HeaderRule[];
  readonly mimeHeaders: boolean;
  readonly nestedHeaders: boolean;
}

export interface HeaderChecksPlan {
  readonly info: HeaderChecksInfo;
  readonly file: DesiredFile;
  readonly installPackage?: string;
}

/** A header checks table on submitted mail, resolved against the services present when the host is composed. */
export interface SubmissionHeaderChecks {
  readonly table: HeaderChecksInfo;
  readonly cleanup: string;
  /** Explicit service keys, or undefined for every submission service. */
  readonly services?: readonly string[];
}

export function planHeaderChecks(where: string, name: string, configDirectory: string, props: HeaderChecksProps): HeaderChecksPlan {
  validateTableName(where, name);
  const type: RegexTableType = props.type ?? RegexTableTypeOption.REGEXP;
  if (!(REGEX_TABLE_TYPES as readonly string[]).includes(type)) {
    throw new PostfixConfigError(
      where,
      'type',
      String(type),
      'header checks are regular-expression tables',
      'use "regexp" (POSIX) or "pcre"',
    );
  }
  if (!Array.isArray(props.rules))
    throw new PostfixConfigError(
      where,
      'rules',
      String(props.rules),
      'rules must be a list (order matters: first match wins)',
      'give an array of { pattern, action }',
    );
  const rules = validateHeaderRules(where, 'rules', type, props.rules);
  const tablePath = `${configDirectory.replace(/\/$/, '')}/${name}`;
  const content = renderRegexTable(rules);
  const problems = postmapProblems(type, content);
  if (problems && problems.length > 0) {
    const p = problems[0];
    throw new PostfixConfigError(
      where,
      p.line ? `rules[${p.line - 1}]` : 'rules',
      p.line ? content.split('\n')[p.line - 1] : undefined,
      `Postfix rejects this ${type} rule (${p.message})`,
      'correct the rule',
    );
  }
  const info = {
    where,
    type,
    path: tablePath,
    reference: `${type}:${tablePath}`,
    rules,
    mimeHeaders: props.mimeHeaders ?? true,
    nestedHeaders: props.nestedHeaders ?? false,
  };
  return {
    info,
    file: { path: tablePath, content, mode: '0644' },
    installPackage: props.installPackage ? TABLE_TYPE_PACKAGES[type] : undefined,
  };
}

/** The cleanup service, declared at once so a name clash is reported where it is made; its options are composed later. */
export function cleanupServiceSpec(name: string): MasterServiceSpec {
  return { name, type: 'unix', private: false, chroot: false, maxproc: 0, command: 'cleanup' };
}

/** An explicit, empty service list can never change: refuse it where it is given. */
export function checkExplicitServices(where: string, services: readonly string[] | undefined): void {
  if (services !== undefined && services.length === 0) throw noSubmissionService(where);
}

/**
 * The `-o` overrides a submission header check adds: on the cleanup service (the tables, with any
 * global header_checks kept, since the dedicated cleanup replaces the global one for that mail) and
 * cleanup_service_name on each submission service present.
 */
export function submissionHeaderOverrides(
  decl: SubmissionHeaderChecks,
  services: readonly MasterServiceSpec[],
  globalHeaderChecks: string | undefined,
): { key: string; name: string; value: string }[] {
  const { table, cleanup } = decl;
  const keys = decl.services ?? services.filter(looksLikeSubmission).map(serviceKey);
  if (keys.length === 0) throw noSubmissionService(table.where);
  for (const key of keys) {
    const spec = services.find((s) => serviceKey(s) === key);
    if (!spec)
      throw new PostfixConfigError(
        table.where,
        'onSubmission services',
        key,
        'no such master.cf service on this host',
        'name an existing service as name/type, e.g. submission/inet',
      );
    if (spec.command !== 'smtpd')
      throw new PostfixConfigError(
        table.where,
        'onSubmission services',
        key,
        `the service runs ${spec.command}, not smtpd`,
        'name smtpd services that receive submitted mail',
      );
  }
  const tables = globalHeaderChecks && globalHeaderChecks.trim() !== '' ? `${table.reference}, ${globalHeaderChecks}` : table.reference;
  const cleanupKey = serviceKey({ name: cleanup, type: 'unix' });
  const out = [{ key: cleanupKey, name: 'header_checks', value: tables }];
  if (table.mimeHeaders) out.push({ key: cleanupKey, name: 'mime_header_checks', value: tables });
  out.push({ key: cleanupKey, name: 'nested_header_checks', value: table.nestedHeaders ? tables : '' });
  for (const key of keys) out.push({ key, name: 'cleanup_service_name', value: cleanup });
  return out;
}

function noSubmissionService(where: string): PostfixConfigError {
  return new PostfixConfigError(
    where,
    'onSubmission services',
    undefined,
    'the host defines no submission service, so no submitted mail would pass these header checks',
    'add the services (host.addService(Submission.starttls()), Submissions.implicitTls()), or name them in services',
  );
}

export function looksLikeSubmission(s: MasterServiceSpec): boolean {
  if (s.type !== 'inet' || s.command !== 'smtpd') return false;
  if (s.options?.milter_macro_daemon_name === 'ORIGINATING') return true;
  const port = s.name.slice(s.name.lastIndexOf(':') + 1);
  return ['submission', 'submissions', 'smtps', '587', '465'].includes(port);
}
