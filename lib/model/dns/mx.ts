/** MX (RFC 1035 §3.3.9, RFC 5321 §5.1): which host accepts mail for a domain, and in what order. */
import { isDeferred, validateDomain, validateIntRange, validateTtl } from './names';
import { MxRecord } from './record';
import { Built } from './built';

export interface MxInput {
  /** The mail domain (`example.org`). */
  readonly domain: string;
  /** The host that receives its mail (`mx1.example.org`); must have A/AAAA records, never a CNAME (RFC 2181 §10.3). */
  readonly host: string;
  /** Lower is tried first; default 10. */
  readonly preference?: number;
  readonly ttl?: number;
}

export function mxRecord(input: MxInput): Built<MxRecord> {
  const name = validateDomain(input.domain, 'mx.domain');
  const exchange = validateDomain(input.host, 'mx.host');
  const preference = validateIntRange(input.preference ?? 10, 'mx.preference', 0, 65535, 'use 10 for the primary MX, 20 for a backup');
  const record: MxRecord = {
    type: 'MX',
    purpose: 'mx',
    name,
    ttl: validateTtl(input.ttl, 'mx.ttl'),
    preference,
    exchange,
    value: `${preference} ${exchange}.`,
    deferred: isDeferred(name) || isDeferred(exchange),
  };
  return { record, warnings: [] };
}
