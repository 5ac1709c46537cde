import { Construct } from 'constructs';
import { SaslType, ServiceType } from '../lib/host/vocabulary';
import { PostfixHost } from './postfix-host';

export { SaslType, ServiceType } from '../lib/host/vocabulary';

/**
 * One master.cf entry, column by column: `service type private unpriv chroot wakeup maxproc command
 * args` (master(5)). Columns left out render as `-` (Postfix's default for that column). The engine's
 * MasterServiceSpec takes the same fields (TypeScript checks that this stays assignable to it).
 */
export interface MasterServiceProps {
  /** Service name, or for inet services `[host:]port`/a name from /etc/services, e.g. `submission`, `127.0.0.1:10025`. */
  readonly name: string;
  readonly type: ServiceType;
  /** @default - "-" (Postfix: y) */
  readonly private?: boolean;
  /** @default - "-" (Postfix: y) */
  readonly unpriv?: boolean;
  /** @default - "-" (Postfix 3.x: n) */
  readonly chroot?: boolean;
  /** Wakeup time in seconds; a trailing `?` in Postfix syntax is expressed by wakeupIfUsed. @default - "-" (never) */
  readonly wakeup?: number;
  /** @default false */
  readonly wakeupIfUsed?: boolean;
  /** Process limit; 0 means no limit. @default - "-" (default_process_limit) */
  readonly maxproc?: number;
  /** Command name, e.g. smtpd, cleanup, pipe. */
  readonly command: string;
  /** Command arguments other than `-o` overrides (e.g. pipe's flags= argv=...). @default - none */
  readonly args?: string[];
  /** `-o name=value` overrides, rendered in key order. @default - none */
  readonly options?: { readonly [name: string]: string };
}

/** A master.cf entry on the enclosing PostfixHost. */
export class MasterService extends Construct {
  readonly spec: MasterServiceProps;

  constructor(scope: Construct, id: string, props: MasterServiceProps) {
    super(scope, id);
    this.spec = { ...props };
    PostfixHost.of(this).addService(this.spec, this.node.path);
  }
}

/** SASL for submission services; nothing here needs a SASL server at synth or apply time. */
export interface SaslOptions {
  /** @default SaslType.DOVECOT */
  readonly type?: SaslType;
  /** Dovecot: the auth socket relative to the queue directory. @default "private/auth" */
  readonly path?: string;
}

export interface SubmissionOptions {
  /** Extra or replacing `-o` overrides. @default - none */
  readonly options?: { readonly [name: string]: string };
  /** Enable SASL AUTH (after TLS). @default - SASL off; only mynetworks may relay */
  readonly sasl?: SaslOptions;
  /** Port or service name. @default "submission" (587) / "submissions" (465) */
  readonly name?: string;
  /** @default - "-" */
  readonly chroot?: boolean;
}

function submissionOptions(syslogName: string, tls: Record<string, string>, opts: SubmissionOptions): Record<string, string> {
  const sasl: Record<string, string> = opts.sasl
    ? {
        smtpd_sasl_auth_enable: 'yes',
        smtpd_sasl_type: opts.sasl.type ?? SaslType.DOVECOT,
        smtpd_sasl_path: opts.sasl.path ?? 'private/auth',
        smtpd_tls_auth_only: 'yes',
      }
    : {};
  return {
    syslog_name: syslogName,
    ...tls,
    ...sasl,
    // Submission relays only for local clients or authenticated users: never an open relay.
    smtpd_relay_restrictions: 'permit_mynetworks,permit_sasl_authenticated,reject',
    milter_macro_daemon_name: 'ORIGINATING',
    ...(opts.options ?? {}),
  };
}

/** Port 587: STARTTLS, and TLS required before MAIL FROM. */
export class Submission {
  /** Port 587 with STARTTLS required before MAIL FROM (smtpd_tls_security_level=encrypt). */
  static starttls(opts: SubmissionOptions = {}): MasterServiceProps {
    return {
      name: opts.name ?? 'submission',
      type: ServiceType.INET,
      private: false,
      chroot: opts.chroot,
      command: 'smtpd',
      options: submissionOptions('postfix/submission', { smtpd_tls_security_level: 'encrypt' }, opts),
    };
  }
}

/** Port 465: TLS from the first byte (RFC 8314). */
export class Submissions {
  /** Port 465 with TLS from the first byte (smtpd_tls_wrappermode=yes). */
  static implicitTls(opts: SubmissionOptions = {}): MasterServiceProps {
    return {
      name: opts.name ?? 'submissions',
      type: ServiceType.INET,
      private: false,
      chroot: opts.chroot,
      command: 'smtpd',
      options: submissionOptions('postfix/submissions', { smtpd_tls_wrappermode: 'yes', smtpd_tls_security_level: 'encrypt' }, opts),
    };
  }
}
