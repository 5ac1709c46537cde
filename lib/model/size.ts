/**
 * Message and mailbox size limits as one consistent set of main.cf settings.
 *
 * local(8) refuses to deliver when a non-zero mailbox_size_limit is below message_size_limit, and
 * virtual(8) likewise for virtual_mailbox_limit. Postfix's defaults are 10240000 (message) and
 * 51200000 (both mailbox limits); Debian's stock main.cf sets mailbox_size_limit = 0 (no limit).
 */
import { PostfixConfigError } from './errors';
import { parseSize } from './values';

export type Size = number | string;

export interface SizeLimitOptions {
  /** message_size_limit: bytes or a size with a unit ("25MB" = 25000000, "25MiB" = 26214400). */
  readonly message: Size;
  /** mailbox_size_limit (0 = no limit). @default - left as the host has it (checked against Postfix's default 51200000) */
  readonly mailbox?: Size;
  /** virtual_mailbox_limit (0 = no limit). @default - as mailbox when given, else left alone */
  readonly virtualMailbox?: Size;
}

export const POSTFIX_DEFAULT_MAILBOX_LIMIT = 51_200_000;

function bytes(where: string, field: string, size: Size): number {
  try {
    return parseSize(size);
  } catch (e) {
    if (e instanceof PostfixConfigError) throw new PostfixConfigError(where, field, e.value, e.problem, e.fix, { cause: e });
    throw e;
  }
}

/**
 * main.cf settings for the given limits, as byte counts. Throws PostfixConfigError (naming the field)
 * when a mailbox limit would be below the message limit, or when the message limit exceeds Postfix's
 * default mailbox limit and no mailbox limit was chosen.
 */
export function sizeLimitSettings(opts: SizeLimitOptions, where = ''): Record<string, string> {
  const message = bytes(where, 'message_size_limit', opts.message);
  if (message === 0) {
    throw new PostfixConfigError(
      where,
      'message_size_limit',
      String(opts.message),
      '0 would mean no size limit at all; the SMTP server would advertise no SIZE',
      'give a limit such as "25MB"',
    );
  }
  const out: Record<string, string> = { message_size_limit: String(message) };
  const mailboxGiven = opts.mailbox !== undefined;
  const mailbox = mailboxGiven ? bytes(where, 'mailbox_size_limit', opts.mailbox) : undefined;
  const virtualGiven = opts.virtualMailbox !== undefined;
  const virtual = virtualGiven ? bytes(where, 'virtual_mailbox_limit', opts.virtualMailbox) : mailbox;
  for (const [name, limit, given] of [
    ['mailbox_size_limit', mailbox, mailboxGiven],
    ['virtual_mailbox_limit', virtual, virtualGiven || mailboxGiven],
  ] as const) {
    if (limit === undefined) {
      if (message > POSTFIX_DEFAULT_MAILBOX_LIMIT) {
        throw new PostfixConfigError(
          where,
          name,
          undefined,
          `message_size_limit (${message}) is above Postfix's default ${name} (${POSTFIX_DEFAULT_MAILBOX_LIMIT}); ${name === 'mailbox_size_limit' ? 'local(8)' : 'virtual(8)'} would refuse to deliver`,
          `set ${name === 'mailbox_size_limit' ? 'mailbox' : 'virtualMailbox'} to at least ${message}, or to 0 for no limit`,
        );
      }
      continue;
    }
    if (limit !== 0 && limit < message) {
      throw new PostfixConfigError(
        where,
        name,
        String(given ? (name === 'mailbox_size_limit' ? opts.mailbox : (opts.virtualMailbox ?? opts.mailbox)) : limit),
        `${name} (${limit}) is smaller than message_size_limit (${message}); ${name === 'mailbox_size_limit' ? 'local(8)' : 'virtual(8)'} refuses to deliver with that setting`,
        `set it to at least ${message}, or to 0 for no limit, or lower message_size_limit`,
      );
    }
    out[name] = String(limit);
  }
  return out;
}
