/**
 * DKIM (RFC 6376 §3.6): the key record `v=DKIM1; k=rsa; p=<key>` at `<selector>._domainkey.<domain>`
 * that receivers fetch to verify a DKIM-Signature with `s=<selector>; d=<domain>`.
 */
import { dnsError, isDeferred, ownerName, validateDomain, validateLabel, validateTtl } from './names';
import { TxtRecord, txtRecord } from './record';
import { DkimKeyType, dkimPublicKeyData } from './dkim-keys';
import { Built } from './built';

export interface DkimInput {
  /** The signing domain (`d=`). */
  readonly domain: string;
  /** The selector (`s=`): one DNS label, e.g. `mail` or `2026a`. */
  readonly selector: string;
  /** Exactly one source of the key: a public key PEM, a private key PEM (its public half is used), */
  readonly publicKeyPem?: string;
  readonly privateKeyPem?: string;
  /** or the `p=` value itself, usually a deferred token from another resource; then give keyType. */
  readonly publicKeyData?: string;
  /** Needed with publicKeyData; read from the PEM otherwise. */
  readonly keyType?: DkimKeyType;
  /** `t=y`: the domain is testing DKIM; receivers must not treat failures differently (§3.6.1). */
  readonly testing?: boolean;
  readonly ttl?: number;
}

export const SELECTOR_FIX =
  'use one label of letters, digits and hyphens, e.g. "mail" or "2026-01" (not "my.selector": write "my-selector")';

export function validateSelector(selector: string, field = 'dkim.selector'): string {
  return validateLabel(selector, field, SELECTOR_FIX);
}

export function dkimRecordName(selector: string, domain: string): string {
  return ownerName(`${validateSelector(selector)}._domainkey`, validateDomain(domain, 'dkim.domain'), 'dkim.selector');
}

/** Build the DKIM key record; refuses RSA keys under 1024 bits (RFC 8301 §3.2 forbids them). */
export function dkimRecord(input: DkimInput): Built<TxtRecord> {
  const name = dkimRecordName(input.selector, input.domain);
  const warnings: string[] = [];
  const { type, p } = keyData(input, warnings);
  const tags = ['v=DKIM1', `k=${type}`, ...(input.testing ? ['t=y'] : []), `p=${p}`];
  return { record: txtRecord('dkim', name, validateTtl(input.ttl, 'dkim.ttl'), tags.join('; ')), warnings };
}

function keyData(input: DkimInput, warnings: string[]): { type: DkimKeyType; p: string } {
  const sources = [input.publicKeyPem, input.privateKeyPem, input.publicKeyData].filter((s) => s !== undefined);
  if (sources.length !== 1) {
    throw dnsError(
      'dkim.publicKeyPem',
      undefined,
      `needs exactly one key source, got ${sources.length}`,
      'give one of publicKeyPem, privateKeyPem or publicKeyData',
    );
  }
  if (input.publicKeyData !== undefined) return givenKeyData(input.publicKeyData, input.keyType);
  const field = input.publicKeyPem !== undefined ? 'dkim.publicKeyPem' : 'dkim.privateKeyPem';
  const data = dkimPublicKeyData(String(input.publicKeyPem ?? input.privateKeyPem), field);
  if (data.type === 'rsa' && data.bits < 1024) {
    throw dnsError(
      field,
      `${data.bits}-bit RSA key`,
      'is too short: verifiers must not accept RSA keys under 1024 bits (RFC 8301 §3.2)',
      'generate a 2048-bit key (opendkim-genkey -b 2048)',
    );
  }
  if (data.type === 'rsa' && data.bits < 2048)
    warnings.push(`dkim: a ${data.bits}-bit RSA key is weak; RFC 8301 §3.2 says signers SHOULD use 2048 bits.`);
  if (data.type === 'rsa' && data.bits > 4096)
    warnings.push(`dkim: verifiers need only handle RSA keys up to 4096 bits (RFC 8301 §3.2); a ${data.bits}-bit key may not verify.`);
  if (data.type === 'ed25519')
    warnings.push('dkim: many receivers do not verify ed25519 yet; RFC 8463 §6 suggests signing with an RSA key as well.');
  if (input.keyType !== undefined && input.keyType !== data.type) {
    throw dnsError(
      'dkim.keyType',
      input.keyType,
      `does not match the ${data.type} key given`,
      `leave keyType out or set it to ${data.type}`,
    );
  }
  return data;
}

/** A `p=` value given directly: base64 text, or a deferred token passed through. */
function givenKeyData(p: string, type: DkimKeyType | undefined): { type: DkimKeyType; p: string } {
  if (type !== 'rsa' && type !== 'ed25519') {
    throw dnsError(
      'dkim.keyType',
      type === undefined ? undefined : String(type),
      'must say which key publicKeyData holds',
      'set keyType to rsa or ed25519',
    );
  }
  if (!isDeferred(p) && !/^[A-Za-z0-9+/]+={0,2}$/.test(p)) {
    throw dnsError(
      'dkim.publicKeyData',
      p.slice(0, 40),
      'is not base64 key data (no PEM header, no spaces)',
      'give the base64 between the PEM lines, joined, or use publicKeyPem',
    );
  }
  if (!isDeferred(p) && type === 'ed25519' && Buffer.from(p, 'base64').length !== 32) {
    throw dnsError(
      'dkim.publicKeyData',
      p,
      'is not a raw 32-byte ed25519 key (RFC 8463 §4.2)',
      'use dkimPublicKeyData(pem) or publicKeyPem to derive it',
    );
  }
  return { type, p };
}
