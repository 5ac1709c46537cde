import { lookupParameter } from '../model/catalog';
import { PostfixConfigError } from '../model/errors';
import { formatParameterValue, parseSize } from '../model/values';

/** A value Postfix understands: booleans become yes/no, lists are joined with ", ". */
export type ParameterValue = string | number | boolean | readonly string[];

/**
 * main.cf settings. The common ones are typed; any other parameter Postfix 3.7 knows may be given by
 * name and is checked against the catalog at synth time.
 */
export interface PostfixSettings {
  readonly myhostname?: string;
  readonly mydomain?: string;
  readonly myorigin?: string;
  readonly mydestination?: readonly string[] | string;
  readonly mynetworks?: readonly string[] | string;
  readonly inet_interfaces?: readonly string[] | string;
  /** all, ipv4, ipv6 or "ipv4, ipv6" (postconf(5) inet_protocols). */
  readonly inet_protocols?: string;
  readonly relayhost?: string;
  readonly smtpd_banner?: string;
  /** Bytes, or a size with a unit such as "25MB". */
  readonly message_size_limit?: number | string;
  /** Bytes, or a size with a unit; 0 means no limit. */
  readonly mailbox_size_limit?: number | string;
  readonly recipient_delimiter?: string;
  readonly alias_maps?: readonly string[] | string;
  readonly [parameter: string]: ParameterValue | undefined;
}

/** Typed value -> main.cf text; sizes with units ("25MB") become bytes, since main.cf takes bytes only (postconf(5)). */
export function formatSetting(where: string, name: string, value: ParameterValue): string {
  try {
    if (lookupParameter(name)?.kind === 'size' && typeof value === 'string' && /^\s*\d+(\.\d+)?\s*[A-Za-z]+\s*$/.test(value)) {
      return String(parseSize(value));
    }
    return formatParameterValue(value);
  } catch (e) {
    if (e instanceof PostfixConfigError) throw new PostfixConfigError(where, `settings.${name}`, e.value, e.problem, e.fix, { cause: e });
    throw e;
  }
}
