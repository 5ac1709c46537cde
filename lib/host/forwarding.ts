/** local(8) delivery to commands and files (postconf(5) allow_mail_to_commands, allow_mail_to_files). */
import { PostfixConfigError } from '../model/errors';

import { DeliverySource } from './vocabulary';

export { DeliverySource } from './vocabulary';

export const DELIVERY_SOURCES: readonly DeliverySource[] = [DeliverySource.ALIAS, DeliverySource.FORWARD, DeliverySource.INCLUDE];

export interface ForwardingProps {
  /**
   * allow_mail_to_commands: where `|command` destinations may come from. An empty list forbids
   * delivery to commands. @default - unchanged (Postfix: alias, forward)
   */
  readonly commands?: DeliverySource[];
  /**
   * allow_mail_to_files: where `/file/name` destinations may come from. An empty list forbids
   * delivery to files. @default - unchanged (Postfix: alias, forward)
   */
  readonly files?: DeliverySource[];
}

/** The main.cf parameters a Forwarding sets. */
export function forwardingParameters(where: string, props: ForwardingProps): Record<string, string> {
  if (props.commands === undefined && props.files === undefined) {
    throw new PostfixConfigError(
      where,
      'commands',
      undefined,
      'neither commands nor files is given',
      'give commands and/or files, e.g. commands: ["alias", "forward", "include"]',
    );
  }
  const out: Record<string, string> = {};
  if (props.commands !== undefined) out.allow_mail_to_commands = deliverySources(where, 'commands', props.commands);
  if (props.files !== undefined) out.allow_mail_to_files = deliverySources(where, 'files', props.files);
  return out;
}

/** `["alias", "forward"]` -> "alias, forward"; refuses unknown and repeated names. */
export function deliverySources(where: string, field: string, sources: readonly string[]): string {
  const given: unknown = sources; // JavaScript callers may pass anything
  if (!Array.isArray(given))
    throw new PostfixConfigError(where, field, String(given), 'expected a list', `give a list of ${DELIVERY_SOURCES.join(', ')}`);
  const seen = new Set<string>();
  for (const s of sources) {
    if (!(DELIVERY_SOURCES as readonly string[]).includes(s)) {
      throw new PostfixConfigError(where, field, String(s), 'not a delivery source local(8) knows', `use ${DELIVERY_SOURCES.join(', ')}`);
    }
    if (seen.has(s)) throw new PostfixConfigError(where, field, s, 'listed twice', 'list each source once');
    seen.add(s);
  }
  return [...seen].join(', ');
}
