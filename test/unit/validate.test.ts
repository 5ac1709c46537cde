import { validateCrossField, validateParameter } from '../../lib/model/validate';
import { caught } from '../helpers/caught';

describe('validateParameter: names', () => {
  it('accepts catalog names', () => {
    expect(() => validateParameter('mx1', 'message_size_limit', '25000000')).not.toThrow();
    expect(() => validateParameter('mx1', 'myhostname', 'mx1.example.org')).not.toThrow();
  });

  it('refuses an unknown name and suggests the closest ones', () => {
    const err = caught(() => validateParameter('mx1', 'message_size_limt', '25000000'));
    expect(err.where).toBe('mx1');
    expect(err.field).toBe('message_size_limt');
    expect(err.value).toBe('25000000');
    expect(err.problem).toMatch(/no parameter of that name/);
    expect(err.fix).toMatch(/did you mean message_size_limit/);
    expect(err.fix).toMatch(/userDefined/);
    expect(err.message).toMatch(/^mx1: message_size_limt = "25000000": .*Fix: did you mean message_size_limit/);
  });

  it('refuses an unknown name without a misleading suggestion when nothing is close', () => {
    const err = caught(() => validateParameter('mx1', 'completely_made_up_thing_here', 'x'));
    expect(err.fix).not.toMatch(/did you mean/);
    expect(err.fix).toMatch(/userDefined/);
  });

  it('accepts user-defined names and per-transport names of defined services', () => {
    expect(() =>
      validateParameter('mx1', 'mua_client_restrictions', 'permit_sasl_authenticated, reject', {
        userDefined: ['mua_client_restrictions'],
      }),
    ).not.toThrow();
    expect(() => validateParameter('mx1', 'dovecot_destination_recipient_limit', '1', { serviceNames: ['dovecot'] })).not.toThrow();
    const err = caught(() => validateParameter('mx1', 'dovecot_destination_recipient_limit', 'x', { serviceNames: ['dovecot'] }));
    expect(err.problem).toMatch(/whole number/);
  });

  it('suggests user-defined names too', () => {
    const err = caught(() => validateParameter('mx1', 'mua_client_restriction', 'x', { userDefined: ['mua_client_restrictions'] }));
    expect(err.fix).toMatch(/did you mean mua_client_restrictions/);
  });
});

describe('validateParameter: read-only parameters', () => {
  it.each(['service_name', 'process_id', 'process_name'])('refuses an assignment to %s', (name) => {
    const err = caught(() => validateParameter('mx1', name, 'x'));
    expect(err.field).toBe(name);
    expect(err.value).toBe('x');
    expect(err.problem).toMatch(/read-only/);
    expect(err.fix).toBe(`remove the ${name} setting`);
  });
});

describe('validateParameter: value syntax', () => {
  it.each(['line1\nline2', 'a\rb', 'a\0b'])('refuses %j (multi-line or NUL)', (value) => {
    const err = caught(() => validateParameter('mx1', 'smtpd_banner', value));
    expect(err.field).toBe('smtpd_banner');
    expect(err.value).toBe(value);
    expect(err.problem).toMatch(/newline, carriage return or NUL/);
    expect(err.fix).toMatch(/one line/);
  });

  it.each(['#comment', 'yes # enable it', 'foo\t#bar'])('refuses the comment in %j', (value) => {
    const err = caught(() => validateParameter('mx1', 'smtpd_banner', value));
    expect(err.field).toBe('smtpd_banner');
    expect(err.value).toBe(value);
    expect(err.problem).toMatch(/"#" comment.*part of the value/);
    expect(err.fix).toMatch(/remove the "# \.\.\." text/);
  });

  it('allows # inside a word and empty values for text', () => {
    expect(() => validateParameter('mx1', 'smtpd_banner', 'a#b')).not.toThrow();
    expect(() => validateParameter('mx1', 'relayhost', '')).not.toThrow();
    expect(() => validateParameter('mx1', 'header_checks', '')).not.toThrow();
  });
});

describe('validateParameter: self reference', () => {
  it.each(['${mydomain}', '$mydomain', 'x.$mydomain', '${mydomain?{a}}'])('refuses mydomain = %j', (value) => {
    const err = caught(() => validateParameter('mx1', 'mydomain', value));
    expect(err.field).toBe('mydomain');
    expect(err.value).toBe(value);
    expect(err.problem).toMatch(/refers to \$mydomain itself/);
    expect(err.fix).toMatch(/different parameter/);
  });

  it('allows references to other parameters with a common prefix', () => {
    expect(() => validateParameter('mx1', 'mydomain', '$mydomain_x')).not.toThrow();
    expect(() => validateParameter('mx1', 'myorigin', '$mydomain')).not.toThrow();
  });
});

describe('validateParameter: kinds', () => {
  it.each([
    ['biff', 'true', /yes or no/, /use yes or no/],
    ['biff', '', /yes or no/, /use yes or no/],
    ['default_process_limit', '1e3', /whole number/, /whole number such as 20/],
    ['message_size_limit', '25MB', /plain number of bytes/, /parseSize/],
    ['maximal_queue_lifetime', '5 days', /time/, /s \(seconds\), m, h, d or w/],
    ['virtual_alias_maps', '/etc/postfix/virtual', /type:name/, /hash:\/etc\/postfix\/virtual/],
    ['header_checks', 'regxp:/etc/postfix/header_checks', /unknown table type "regxp"/, /type:name/],
  ])('%s = %j is refused', (name, value, problem, fix) => {
    const err = caught(() => validateParameter('mx1', name, value));
    expect(err.field).toBe(name);
    expect(err.value).toBe(value);
    expect(err.problem).toMatch(problem);
    expect(err.fix).toMatch(fix);
  });

  it('skips kind checks for $references but still applies the syntax rules', () => {
    expect(() => validateParameter('mx1', 'biff', '$my_flag')).not.toThrow();
    expect(() => validateParameter('mx1', 'message_size_limit', '${size_for_env}')).not.toThrow();
    expect(() => validateParameter('mx1', 'message_size_limit', '$x # note')).toThrow(/comment/);
  });
});

describe('validateParameter: fixed vocabularies', () => {
  it.each([
    ['inet_protocols', 'ipv4, ipv6'],
    ['inet_protocols', 'all'],
    ['inet_protocols', 'IPv4'],
    ['smtpd_tls_security_level', 'encrypt'],
    ['smtpd_tls_security_level', ''],
    ['smtp_tls_security_level', 'dane'],
    ['smtp_address_preference', 'ipv6'],
    ['compatibility_level', '3.6'],
    ['compatibility_level', '2'],
    ['compatibility_level', '3.6.1'],
  ])('%s = %j is accepted', (name, value) => {
    expect(() => validateParameter('mx1', name, value)).not.toThrow();
  });

  it.each([
    ['inet_protocols', 'ipv4, ip6', /"ip6" is not a valid inet_protocols value/, /one or more of: all, ipv4, ipv6/],
    ['smtpd_tls_security_level', 'dane', /"dane" is not a valid/, /one of: none, may, encrypt/],
    ['smtpd_tls_security_level', 'may encrypt', /single word/, /one of/],
    ['smtp_tls_security_level', 'verfiy', /"verfiy" is not a valid/, /verify/],
    ['smtp_address_preference', 'both', /"both"/, /any, ipv4, ipv6/],
    ['mynetworks_style', '', /an empty mynetworks_style is not valid/, /host, subnet, class/],
    ['inet_protocols', ' ', /an empty inet_protocols is not valid/, /ipv4/],
    ['compatibility_level', '', /malformed compatibility level/, /3\.6/],
    ['compatibility_level', 'latest', /malformed compatibility level/, /3\.6/],
    ['mynetworks_style', 'subnets', /"subnets" is not a valid/, /host, subnet, class/],
  ])('%s = %j is refused', (name, value, problem, fix) => {
    const err = caught(() => validateParameter('mx1', name, value));
    expect(err.field).toBe(name);
    expect(err.value).toBe(value);
    expect(err.problem).toMatch(problem);
    expect(err.fix).toMatch(fix);
  });
});

describe('validateCrossField', () => {
  it('accepts the defaults and consistent settings', () => {
    expect(() => validateCrossField('mx1', {})).not.toThrow();
    expect(() =>
      validateCrossField('mx1', { message_size_limit: '25000000', mailbox_size_limit: '0', virtual_mailbox_limit: '25000000' }),
    ).not.toThrow();
    expect(() => validateCrossField('mx1', { message_size_limit: '$big', mailbox_size_limit: '1000' })).not.toThrow();
    expect(() => validateCrossField('mx1', { queue_minfree: '0', message_size_limit: '1' })).not.toThrow();
    expect(() => validateCrossField('mx1', { queue_minfree: '15000000', message_size_limit: '10000000' })).not.toThrow();
  });

  it('refuses a non-zero mailbox_size_limit below message_size_limit (local(8) stops)', () => {
    const err = caught(() => validateCrossField('mx1', { message_size_limit: '100000000' }));
    expect(err.where).toBe('mx1');
    expect(err.field).toBe('mailbox_size_limit');
    expect(err.value).toBe('51200000');
    expect(err.problem).toMatch(/smaller than message_size_limit \(100000000\).*local\(8\)/);
    expect(err.fix).toMatch(/at least 100000000, or to 0/);
  });

  it('refuses a non-zero virtual_mailbox_limit below message_size_limit (virtual(8) stops)', () => {
    const err = caught(() =>
      validateCrossField('mx1', { message_size_limit: '60000000', mailbox_size_limit: '0', virtual_mailbox_limit: '50000000' }),
    );
    expect(err.field).toBe('virtual_mailbox_limit');
    expect(err.value).toBe('50000000');
    expect(err.problem).toMatch(/virtual\(8\)/);
    expect(err.fix).toMatch(/at least 60000000/);
  });

  it('refuses a queue_minfree that Postfix would ignore', () => {
    const err = caught(() => validateCrossField('mx1', { queue_minfree: '1000000', message_size_limit: '10000000' }));
    expect(err.field).toBe('queue_minfree');
    expect(err.value).toBe('1000000');
    expect(err.problem).toMatch(/1\.5 x message_size_limit \(15000000\)/);
    expect(err.fix).toMatch(/0 .* at least 15000000/);
  });

  it('refuses restriction lists without relay control (smtpd would refuse all mail)', () => {
    const err = caught(() =>
      validateCrossField('mx1', { smtpd_relay_restrictions: 'permit_mynetworks', smtpd_recipient_restrictions: '' }),
    );
    expect(err.field).toBe('smtpd_relay_restrictions');
    expect(err.value).toBe('permit_mynetworks');
    expect(err.problem).toMatch(/reject_unauth_destination/);
    expect(err.fix).toMatch(/reject_unauth_destination/);
  });

  it('accepts relay control in either list, in a $reference, or hidden in a restriction class', () => {
    expect(() =>
      validateCrossField('mx1', {
        smtpd_relay_restrictions: '',
        smtpd_recipient_restrictions: 'permit_mynetworks, reject_unauth_destination',
      }),
    ).not.toThrow();
    expect(() => validateCrossField('mx1', { smtpd_relay_restrictions: 'permit_mynetworks, defer_unauth_destination' })).not.toThrow();
    expect(() => validateCrossField('mx1', { smtpd_relay_restrictions: '$my_relay' })).not.toThrow();
    expect(() =>
      validateCrossField('mx1', {
        smtpd_restriction_classes: 'relaycheck',
        relaycheck: 'reject_unauth_destination',
        smtpd_relay_restrictions: 'relaycheck',
      }),
    ).not.toThrow();
  });
});

describe('inet_interfaces against inet_protocols', () => {
  test('an IPv6 interface with ipv4 only is refused, naming both and the fix', () => {
    expect(() =>
      validateCrossField('mail/mx', {
        inet_protocols: 'ipv4',
        inet_interfaces: '127.0.0.1, [::1]',
        smtpd_relay_restrictions: 'reject_unauth_destination',
      }),
    ).toThrow(
      /inet_interfaces = "127\.0\.0\.1, \[::1\]": \[::1\] is an IPv6 address but inet_protocols = ipv4 leaves ipv6 out.*Fix: remove \[::1\] from inet_interfaces, or add ipv6 to inet_protocols/,
    );
  });
  test('an IPv4 interface with ipv6 only is refused', () => {
    expect(() =>
      validateCrossField('mail/mx', {
        inet_protocols: 'ipv6',
        inet_interfaces: '127.0.0.1',
        smtpd_relay_restrictions: 'reject_unauth_destination',
      }),
    ).toThrow(/IPv4 address but inet_protocols = ipv6/);
  });
  test('matching families, all, names and references pass', () => {
    for (const [protocols, interfaces] of [
      ['ipv4', '127.0.0.1'],
      ['ipv6', '[::1]'],
      ['all', '127.0.0.1, [::1]'],
      ['ipv4, ipv6', '::1'],
      ['ipv4', 'loopback-only'],
      ['ipv4', '$myhostname'],
    ]) {
      expect(() =>
        validateCrossField('mail/mx', {
          inet_protocols: protocols,
          inet_interfaces: interfaces,
          smtpd_relay_restrictions: 'reject_unauth_destination',
        }),
      ).not.toThrow();
    }
  });
});
