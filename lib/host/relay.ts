import { placeCheck, STAGE_CHECK } from '../model/restrictions';
import { RestrictionPlacement } from './compose';

/**
 * Fail fast, where the restrict call is made, when a placement is already certain to open the relay
 * whatever else is added: smtpd_relay_restrictions is set and does not control relaying, and the
 * check goes first or the recipient list is set (a set parameter cannot change to another value, and
 * placements only add check_*_access, never a relay check). Every other case is decided when the
 * host is composed, so the answer never depends on the order of calls.
 */
export function checkDecidedOpenRelay(p: RestrictionPlacement, parameter: (name: string) => string | undefined): void {
  if (p.stage !== 'recipient' || !p.table.permissive) return;
  const relay = parameter('smtpd_relay_restrictions');
  const current = parameter('smtpd_recipient_restrictions');
  if (relay === undefined || (current === undefined && p.placement !== 'first')) return;
  placeCheck({
    where: p.source,
    stage: 'recipient',
    current,
    relay,
    check: `${STAGE_CHECK.recipient} ${p.table.reference}`,
    permissive: true,
    placement: p.placement,
    table: p.source,
  });
}
