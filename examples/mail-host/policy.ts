/**
 * The seed page's mail policy: size limit, blacklist, header censoring and per-home forwarding.
 * Call after the submission services are added (the header censoring attaches to them):
 *
 *   this.host.addService(Submission.starttls());
 *   this.host.addService(Submissions.implicitTls());
 *   addSeedPolicy(this.host, { blacklist: { fromFile: env.MAIL_BLACKLIST } });
 */
import { AccessTable, AccessTableProps } from '../../constructs/access-table';
import { DeliverySource, Forwarding } from '../../constructs/forwarding';
import { HeaderChecks } from '../../constructs/header-checks';
import { PostfixHost } from '../../constructs/postfix-host';
import { Size, sizeLimitSettings } from '../../lib/model/size';

export interface SeedPolicyOptions {
  /**
   * message_size_limit. Seed page: 25000000. Give it here only if the host's settings do not set
   * message_size_limit already (each parameter is set in one place).
   * @default - leave message_size_limit to the host's settings
   */
  readonly messageSize?: Size;
  /** mailbox_size_limit to go with messageSize. @default - unchanged (Debian ships 0, no limit) */
  readonly mailboxSize?: Size;
  /** The blacklist: entries in code or a file with one entry a line. @default - no blacklist */
  readonly blacklist?: AccessTableProps;
  /** @default true */
  readonly censorHeaders?: boolean;
  /** @default true */
  readonly forwarding?: boolean;
}

export function addSeedPolicy(host: PostfixHost, opts: SeedPolicyOptions = {}): void {
  if (opts.messageSize !== undefined) {
    // Seed: "message_size_limit = 25000000". Units are accepted here ("25MB"), and the limit is checked
    // against mailbox_size_limit/virtual_mailbox_limit: local(8) refuses to deliver when a mailbox
    // limit is below the message limit, which the seed page does not mention.
    host.applySettings(sizeLimitSettings({ message: opts.messageSize, mailbox: opts.mailboxSize }, host.node.path));
  }

  if (opts.blacklist) {
    // Seed: /etc/postfix/blacklist, `postmap hash:...`, and check_sender_access in
    // smtpd_recipient_restrictions after permit_mynetworks. Departures:
    // - the check goes into smtpd_sender_restrictions (where MAIL FROM checks belong; with
    //   smtpd_delay_reject=yes the reply still comes at RCPT TO), first, so that listed senders are
    //   refused from every client, local networks included;
    // - the table is built beside the live one and renamed in, instead of postmap on the live file,
    //   so no message meets a missing or half-written table;
    // - smtpd_relay_restrictions stays Debian's default: the check can never open the relay.
    new AccessTable(host, 'blacklist', opts.blacklist).restrictSenders();
  }

  if (opts.censorHeaders ?? true) {
    // Seed: header_checks and mime_header_checks = regexp:/etc/postfix/clean_headers in main.cf, and
    // `postmap` on the file. Departures:
    // - only mail submitted on 587/465 is censored, through a dedicated cleanup service
    //   (msa_cleanup, -o cleanup_service_name on the submission services). Global header_checks
    //   would also strip these headers from mail the host receives from other servers on port 25;
    // - a regexp table is read directly by Postfix: running postmap on it (as the seed page says) is
    //   not needed, a reload is;
    // - nested_header_checks is left empty: attached messages keep their headers.
    new HeaderChecks(host, 'clean_headers', HeaderChecks.privacy()).onSubmission();
  }

  if (opts.forwarding ?? true) {
    // Seed: "allow_mail_to_commands = alias,forward,include" so that ~/.forward files may pipe to
    // commands. allow_mail_to_files keeps Postfix's default (alias, forward).
    new Forwarding(host, 'forwarding', { commands: [DeliverySource.ALIAS, DeliverySource.FORWARD, DeliverySource.INCLUDE] });
  }
}
