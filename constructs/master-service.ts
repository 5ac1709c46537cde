import { Construct } from 'constructs';
import { MasterServiceSpec } from '../lib/model/master-types';
import { PostfixHost } from './postfix-host';

/** The master.cf entry, column by column (see MasterServiceSpec for each column's default). */
export type MasterServiceProps = MasterServiceSpec;

/** A master.cf entry on the enclosing PostfixHost. */
export class MasterService extends Construct {
  readonly spec: MasterServiceSpec;

  constructor(scope: Construct, id: string, props: MasterServiceProps) {
    super(scope, id);
    this.spec = { ...props };
    PostfixHost.of(this).addService(this.spec, this.node.path);
  }
}

/** SASL for submission services; nothing here needs a SASL server at synth or apply time. */
export interface SaslOptions {
  /** @default "dovecot" */
  readonly type?: 'dovecot' | 'cyrus';
  /** Dovecot: the auth socket relative to the queue directory. @default "private/auth" */
  readonly path?: string;
}

export interface SubmissionOptions {
  /** Extra or replacing `-o` overrides. @default - none */
  readonly options?: Readonly<Record<string, string>>;
  /** Enable SASL AUTH (after TLS). @default - SASL off; only mynetworks may relay */
  readonly sasl?: SaslOptions;
  /** Port or service name. @default "submission" (587) / "submissions" (465) */
  readonly name?: string;
  /** @default "-" */
  readonly chroot?: boolean;
}

function submissionOptions(syslogName: string, tls: Record<string, string>, opts: SubmissionOptions): Record<string, string> {
  const sasl: Record<string, string> = opts.sasl
    ? { smtpd_sasl_auth_enable: 'yes', smtpd_sasl_type: opts.sasl.type ?? 'dovecot', smtpd_sasl_path: opts.sasl.path ?? 'private/auth', smtpd_tls_auth_only: 'yes' }
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
  static starttls(opts: SubmissionOptions = {}): MasterServiceSpec {
    return {
      name: opts.name ?? 'submission', type: 'inet', private: false, chroot: opts.chroot, command: 'smtpd',
      options: submissionOptions('postfix/submission', { smtpd_tls_security_level: 'encrypt' }, opts),
    };
  }
}

/** Port 465: TLS from the first byte (RFC 8314). */
export class Submissions {
  static implicitTls(opts: SubmissionOptions = {}): MasterServiceSpec {
    return {
      name: opts.name ?? 'submissions', type: 'inet', private: false, chroot: opts.chroot, command: 'smtpd',
      options: submissionOptions('postfix/submissions', { smtpd_tls_wrappermode: 'yes', smtpd_tls_security_level: 'encrypt' }, opts),
    };
  }
}
