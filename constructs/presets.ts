import { Construct } from 'constructs';
import { PostfixSettings } from '../lib/host/settings';
import { HeaderChecks } from './header-checks';
import { SaslOptions, Submission, Submissions } from './master-service';
import { PostfixHost, PostfixHostProps } from './postfix-host';
import { SmartHostRelay, SmartHostRelayProps } from './smarthost-relay';

/** Loopback only: the addresses a loopback-only host listens on (postconf(5) inet_interfaces = loopback-only). */
export const LOOPBACK_NETWORKS = '127.0.0.1/32 [::1]/128';

export interface SatellitePresetProps extends PostfixHostProps {
  /** The smarthost every message goes to, with its SASL account. */
  readonly smarthost: SmartHostRelayProps;
}

export interface InboundMxPresetProps extends PostfixHostProps {
  /** Domains this host receives mail for (added to mydestination). @default - $myhostname and localhost only */
  readonly domains?: string[];
}

export interface SubmissionPresetProps extends PostfixHostProps {
  /** How smtpd checks passwords (SASL_README). @default Dovecot at private/auth */
  readonly sasl?: SaslOptions;
  /** Strip client headers (Received with ESMTPSA, X-Originating-IP, User-Agent...) from submitted mail. @default true */
  readonly headerPrivacy?: boolean;
}

/**
 * The common shapes of a mail host as one line each. Each returns an ordinary PostfixHost: every
 * preset setting can be overridden through `settings` (yours win), and more constructs added.
 * Overrides get the same checks as everything else: one that opens the relay is refused at synth.
 */
export class Presets {
  /**
   * Null client (STANDARD_CONFIGURATION_README "Postfix on a null client"): sends only, all mail to
   * the smarthost, listens on loopback only, delivers nothing locally.
   */
  static satellite(scope: Construct, id: string, props: SatellitePresetProps): PostfixHost {
    const host = new PostfixHost(
      scope,
      id,
      withPreset(props, {
        inet_interfaces: 'loopback-only',
        mynetworks: LOOPBACK_NETWORKS,
        mydestination: '',
        local_transport: 'error:local delivery is disabled on this satellite',
        smtpd_relay_restrictions: 'permit_mynetworks, reject',
      }),
    );
    new SmartHostRelay(host, 'smarthost', props.smarthost);
    return host;
  }

  /** Receives mail for its domains on port 25; no submission services, relays for nobody but loopback. */
  static inboundMx(scope: Construct, id: string, props: InboundMxPresetProps): PostfixHost {
    const domains = props.domains ?? [];
    const host = new PostfixHost(
      scope,
      id,
      withPreset(props, {
        mynetworks: LOOPBACK_NETWORKS,
        mydestination: ['$myhostname', 'localhost', ...domains].join(', '),
        smtpd_relay_restrictions: 'permit_mynetworks, reject_unauth_destination',
      }),
    );
    // Debian's master.cf may carry submission/submissions uncommented by hand: an MX offers neither.
    host.builder.removeService('submission/inet', host.node.path).removeService('submissions/inet', host.node.path);
    return host;
  }

  /** Submission on 587 (STARTTLS) and 465 (implicit TLS), SASL AUTH required to relay, client headers stripped. */
  static submission(scope: Construct, id: string, props: SubmissionPresetProps): PostfixHost {
    const host = new PostfixHost(scope, id, withPreset(props, { mynetworks: LOOPBACK_NETWORKS }));
    const sasl = props.sasl ?? {};
    host.addService(Submission.starttls({ sasl }));
    host.addService(Submissions.implicitTls({ sasl }));
    if (props.headerPrivacy ?? true) new HeaderChecks(host, 'submission_privacy', HeaderChecks.privacy()).onSubmission();
    return host;
  }
}

/** The preset's settings under the user's: a setting given in props wins. */
function withPreset(props: PostfixHostProps, preset: PostfixSettings): PostfixHostProps {
  const removed = new Set(props.removeSettings ?? []);
  const base = Object.fromEntries(Object.entries(preset).filter(([k]) => !removed.has(k)));
  return { ...props, settings: { ...base, ...(props.settings ?? {}) } };
}
