import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CATALOG_POSTFIX_VERSION,
  catalogMapTypes,
  editDistance,
  isKnownParameter,
  lookupParameter,
  parameterNames,
  suggestParameters,
} from '../../lib/model/catalog';

const CATALOG_FILE = path.join(__dirname, '..', '..', 'lib', 'model', 'catalog.json');

describe('catalog data', () => {
  it('stays small and sorted', () => {
    expect(fs.statSync(CATALOG_FILE).size).toBeLessThan(200 * 1024);
    const names = Object.keys(JSON.parse(fs.readFileSync(CATALOG_FILE, 'utf8')).parameters);
    expect(names).toEqual([...names].sort());
    expect(parameterNames().length).toBe(names.length);
  });

  it('comes from Postfix 3.7 and knows its map types', () => {
    expect(CATALOG_POSTFIX_VERSION).toMatch(/^3\.7\./);
    expect(catalogMapTypes()).toEqual(expect.arrayContaining(['hash', 'lmdb', 'cdb', 'pcre', 'regexp', 'cidr', 'texthash']));
  });

  it.each([
    ['message_size_limit', 'size', '10240000'],
    ['mailbox_size_limit', 'size', '51200000'],
    ['queue_minfree', 'size', '0'],
    ['biff', 'boolean', 'yes'],
    ['smtputf8_enable', 'boolean', undefined],
    ['maximal_queue_lifetime', 'time', '5d'],
    ['lmtp_destination_rate_delay', 'time', '$default_destination_rate_delay'],
    ['postscreen_greet_wait', 'time', undefined],
    ['smtpd_client_connection_rate_limit', 'integer', '0'],
    ['smtpd_hard_error_limit', 'integer', undefined],
    ['virtual_alias_maps', 'lookup', '$virtual_maps'],
    ['header_checks', 'lookup', ''],
    ['mydestination', 'list', undefined],
    ['smtpd_relay_restrictions', 'list', undefined],
    ['compatibility_level', 'text', '0'],
    ['lmtp_tcp_port', 'text', '24'],
    ['smtpd_banner', 'text', undefined],
  ])('%s is a %s parameter', (name, kind, def) => {
    const info = lookupParameter(name);
    expect(info?.kind).toBe(kind);
    if (def !== undefined) expect(info?.default).toBe(def);
  });

  it('stores host-dependent defaults as null so the catalog does not depend on the generating machine', () => {
    expect(lookupParameter('myhostname')?.default).toBeNull();
    expect(lookupParameter('mynetworks')?.default).toBeNull();
    expect(isKnownParameter('myhostname')).toBe(true);
  });

  it('marks the parameters Postfix sets itself as read-only', () => {
    expect(lookupParameter('service_name')?.readOnly).toBe(true);
    expect(lookupParameter('process_id')?.readOnly).toBe(true);
    expect(lookupParameter('syslog_name')?.readOnly).toBe(false);
  });

  it('includes per-transport parameters of the stock Debian master.cf services', () => {
    expect(isKnownParameter('smtp_destination_concurrency_limit')).toBe(true);
    expect(isKnownParameter('relay_destination_recipient_limit')).toBe(true);
    expect(isKnownParameter('maildrop_destination_recipient_limit')).toBe(true);
  });
});

describe('isKnownParameter', () => {
  it('refuses unknown names by default', () => {
    expect(isKnownParameter('message_size_limt')).toBe(false);
    expect(isKnownParameter('mua_client_restrictions')).toBe(false);
    expect(isKnownParameter('toString')).toBe(false);
    expect(isKnownParameter('__proto__')).toBe(false);
  });

  it('accepts user-defined names only when listed', () => {
    expect(isKnownParameter('mua_client_restrictions', { userDefined: ['mua_client_restrictions'] })).toBe(true);
    expect(lookupParameter('mua_client_restrictions', { userDefined: ['mua_client_restrictions'] })?.origin).toBe('user');
  });

  it('accepts per-transport names only for the given services', () => {
    expect(isKnownParameter('dovecot_destination_recipient_limit')).toBe(false);
    const opts = { serviceNames: ['dovecot', 'my-filter'] };
    expect(isKnownParameter('dovecot_destination_recipient_limit', opts)).toBe(true);
    expect(isKnownParameter('my-filter_time_limit', opts)).toBe(true);
    expect(lookupParameter('my-filter_time_limit', opts)).toEqual({
      name: 'my-filter_time_limit',
      default: '$command_time_limit',
      kind: 'time',
      readOnly: false,
      origin: 'transport',
    });
    expect(lookupParameter('dovecot_initial_destination_concurrency', opts)?.kind).toBe('integer');
    expect(isKnownParameter('dovecot_destination_recipient_limits', opts)).toBe(false);
    expect(isKnownParameter('other_destination_recipient_limit', opts)).toBe(false);
  });
});

describe('suggestParameters', () => {
  it('finds the intended name for common typos', () => {
    expect(suggestParameters('message_size_limt')[0]).toBe('message_size_limit');
    expect(suggestParameters('mesage_size_limit')[0]).toBe('message_size_limit');
    expect(suggestParameters('smtpd_tls_secrity_level')[0]).toBe('smtpd_tls_security_level');
    expect(suggestParameters('myhostnmae')[0]).toBe('myhostname');
  });

  it('returns at most max names, closest first, ties sorted by name', () => {
    const got = suggestParameters('smtp_tls_loglevel_x', 3);
    expect(got.length).toBeLessThanOrEqual(3);
    const distances = got.map((n) => editDistance('smtp_tls_loglevel_x', n));
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
    expect(suggestParameters('biffx', 5)).toEqual(['biff']);
    expect(suggestParameters('relay_hots', 10)[0]).toBe('relayhost');
    // Equal distances come back alphabetically, whatever order they were given in.
    expect(suggestParameters('qqq_zz', 3, ['qqq_zb', 'qqq_za', 'qqq_zzzz'])).toEqual(['qqq_za', 'qqq_zb', 'qqq_zzzz']);
  });

  it('offers nothing for names that resemble nothing, and can include extra names', () => {
    expect(suggestParameters('zzzzzzzzzzzzzzzzzzzzzzzzzzzzz')).toEqual([]);
    expect(suggestParameters('mua_client_restriction', 1, ['mua_client_restrictions'])).toEqual(['mua_client_restrictions']);
    expect(suggestParameters('biff', 0)).toEqual([]);
  });
});

describe('editDistance (Damerau-Levenshtein, optimal string alignment)', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['abc', 'abc', 0],
    ['abc', 'abd', 1],
    ['abc', 'acb', 1],
    ['ca', 'abc', 3],
    ['kitten', 'sitting', 3],
  ])('%j -> %j = %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});
