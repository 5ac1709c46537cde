/**
 * smtpd restriction lists (postconf(5) smtpd_*_restrictions) and the safe placement of
 * check_*_access in them: never ahead of the relay check when that would open the relay (access(5)).
 */
import { PostfixConfigError } from './errors';
import { splitTopLevel } from './values';

export type RestrictionStage = 'client' | 'helo' | 'sender' | 'recipient';

export const STAGE_PARAMETER: Readonly<Record<RestrictionStage, string>> = {
  client: 'smtpd_client_restrictions',
  helo: 'smtpd_helo_restrictions',
  sender: 'smtpd_sender_restrictions',
  recipient: 'smtpd_recipient_restrictions',
};

export const STAGE_CHECK: Readonly<Record<RestrictionStage, string>> = {
  client: 'check_client_access',
  helo: 'check_helo_access',
  sender: 'check_sender_access',
  recipient: 'check_recipient_access',
};

/** Restrictions that stop relaying (postconf(5) smtpd_relay_restrictions). */
export const RELAY_CONTROL = [
  'reject_unauth_destination',
  'defer_unauth_destination',
  'reject',
  'defer',
  'defer_if_permit',
  'check_relay_domains',
];

/** Debian 12's (and Postfix 3.7's) default smtpd_relay_restrictions. */
export const DEFAULT_RELAY_RESTRICTIONS = 'permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination';

/** Parses a restriction list into items, keeping `check_x_access type:name` together. */
export function parseRestrictions(value: string | undefined): string[] {
  const words = splitTopLevel(value ?? '');
  const items: string[] = [];
  for (const w of words) {
    const last = items[items.length - 1];
    if (
      last !== undefined &&
      /^[a-z0-9]+:/.test(w) &&
      /^(check_\w+|reject_rbl_client|reject_rhsbl_\w+|permit_dnswl_client|permit_rhswl_client|\w+_maps?)$/.test(last.split(' ')[0]) &&
      !last.includes(' ')
    ) {
      items[items.length - 1] = `${last} ${w}`;
    } else {
      items.push(w);
    }
  }
  return items;
}

export function formatRestrictions(items: readonly string[]): string {
  return items.join(', ');
}

export type Placement = 'first' | 'last' | 'afterRelayCheck';

export interface PlaceInput {
  readonly where: string;
  readonly stage: RestrictionStage;
  /** Current list (undefined: the parameter is not set by this stack; Postfix's default is empty). */
  readonly current: string | undefined;
  /** Effective smtpd_relay_restrictions. */
  readonly relay: string;
  /** `check_sender_access hash:/etc/postfix/blacklist`. */
  readonly check: string;
  readonly permissive: boolean;
  readonly placement?: Placement;
  /** For messages: the table's construct path. */
  readonly table: string;
}

export function relayControlled(relay: string): boolean {
  if (relay.includes('$')) return true; // cannot be second-guessed
  return parseRestrictions(relay).some((w) => RELAY_CONTROL.includes(w));
}

/**
 * The new restriction list with `check` placed safely. Sender, client and HELO checks go first
 * (a blocklist applies to everyone; an OK there only ends that stage). Recipient checks go right after
 * reject_unauth_destination when the list has one, else at the end; a table that can accept (OK,
 * permit...) is refused ahead of the relay check when smtpd_relay_restrictions does not control
 * relaying, because that is an open relay.
 */
export function placeCheck(input: PlaceInput): string[] {
  const items = parseRestrictions(input.current);
  if (items.includes(input.check)) return items;
  if (input.stage !== 'recipient') {
    return input.placement === 'last' ? [...items, input.check] : [input.check, ...items];
  }
  const relayIndex = items.findIndex(
    (w) => w === 'reject_unauth_destination' || w === 'defer_unauth_destination' || w === 'check_relay_domains',
  );
  const guarded = relayControlled(input.relay);
  const placement = input.placement ?? 'afterRelayCheck';
  let at: number;
  if (placement === 'first') at = 0;
  else if (placement === 'last') at = items.length;
  else at = relayIndex >= 0 ? relayIndex + 1 : items.length;
  const beforeRelayCheck = relayIndex < 0 || at <= relayIndex;
  if (input.permissive && !guarded && beforeRelayCheck) throw openRelayError(input);
  return [...items.slice(0, at), input.check, ...items.slice(at)];
}

export function openRelayError(input: Pick<PlaceInput, 'where' | 'check' | 'relay' | 'table'>): PostfixConfigError {
  return new PostfixConfigError(
    input.where,
    'smtpd_recipient_restrictions',
    input.check,
    `${input.table} can answer OK (or another permit), and it would be evaluated before reject_unauth_destination while smtpd_relay_restrictions (${JSON.stringify(input.relay)}) does not control relaying: any client could then relay mail to any domain through this host (an open relay)`,
    'keep smtpd_relay_restrictions at Debian\'s default (permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination), or put reject_unauth_destination in smtpd_recipient_restrictions and place the check after it (placement "afterRelayCheck"), or use only rejecting actions in this table',
  );
}

/**
 * Final check of a whole configuration: every permissive check_*_access in smtpd_recipient_restrictions
 * that comes before the relay check, with relaying uncontrolled by smtpd_relay_restrictions, is an open relay.
 */
export function findOpenRelay(recipientList: string | undefined, relay: string, permissiveChecks: ReadonlySet<string>): string | undefined {
  if (relayControlled(relay)) return undefined;
  for (const item of parseRestrictions(recipientList)) {
    if (item === 'reject_unauth_destination' || item === 'defer_unauth_destination' || item === 'check_relay_domains') return undefined;
    if (item === 'permit' || permissiveChecks.has(item)) return item;
  }
  return undefined;
}
