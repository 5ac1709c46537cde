import { renderServiceLine, validateService, validateServices } from '../../lib/model/master';
import { MasterServiceSpec, ServiceType } from '../../lib/model/master-types';
import { caught } from '../helpers/caught';

const submission: MasterServiceSpec = {
  name: 'submission',
  type: 'inet',
  private: false,
  chroot: true,
  command: 'smtpd',
  options: {
    syslog_name: 'postfix/submission',
    smtpd_tls_security_level: 'encrypt',
    smtpd_client_restrictions: 'permit_sasl_authenticated, reject',
  },
};

describe('renderServiceLine', () => {
  it('renders columns with - for defaults, y/n flags, sorted -o options and the long form for values with spaces', () => {
    expect(renderServiceLine(submission)).toBe(
      'submission inet n - y - - smtpd -o { smtpd_client_restrictions = permit_sasl_authenticated, reject } -o smtpd_tls_security_level=encrypt -o syslog_name=postfix/submission',
    );
  });

  it('puts -o overrides before args, because daemons stop reading options at the first plain argument', () => {
    expect(renderServiceLine({ name: 'x', type: 'unix', command: 'smtpd', args: ['-v'], options: { syslog_name: 'x' } })).toBe(
      'x unix - - - - - smtpd -o syslog_name=x -v',
    );
  });

  it('renders wakeup with ? when wakeupIfUsed, maxproc, and args', () => {
    expect(
      renderServiceLine({ name: 'pickup', type: 'unix', private: false, wakeup: 60, wakeupIfUsed: false, maxproc: 1, command: 'pickup' }),
    ).toBe('pickup unix n - - 60 1 pickup');
    expect(
      renderServiceLine({
        name: 'qmgr',
        type: 'unix',
        private: false,
        chroot: false,
        wakeup: 300,
        wakeupIfUsed: true,
        maxproc: 1,
        command: 'qmgr',
      }),
    ).toBe('qmgr unix n - n 300? 1 qmgr');
    expect(
      renderServiceLine({
        name: 'maildrop',
        type: 'unix',
        unpriv: false,
        chroot: false,
        command: 'pipe',
        args: ['flags=DRXhu', 'user=vmail', 'argv=/usr/bin/maildrop', '-d', '${recipient}'],
      }),
    ).toBe('maildrop unix - n n - - pipe flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}');
    expect(renderServiceLine({ name: 'x', type: 'unix', command: 'smtpd', options: { relayhost: '' } })).toBe(
      'x unix - - - - - smtpd -o relayhost=',
    );
  });
});

describe('validateService', () => {
  it('accepts typical services', () => {
    expect(() => validateService('mx1', submission)).not.toThrow();
    for (const name of ['smtp', '25', '127.0.0.1:10025', '[::1]:10025', 'localhost:submission', '::1:smtp', '[2001:db8::1]:25']) {
      expect(() => validateService('mx1', { name, type: 'inet', command: 'smtpd' })).not.toThrow();
    }
    expect(() =>
      validateService('mx1', { name: 'scalemail-backend', type: 'unix', command: 'pipe', args: ['flags=R', 'argv=/x', '${nexthop}'] }),
    ).not.toThrow();
    expect(() => validateService('mx1', { name: 'postlog', type: 'unix-dgram', maxproc: 1, command: 'postlogd' })).not.toThrow();
  });

  it.each([
    ['sub mission', 'unix'],
    ['#submission', 'unix'],
    ['a=b', 'unix'],
    ['private/x', 'unix'],
    ['', 'unix'],
    ['0', 'inet'],
    ['65536', 'inet'],
    ['host:70000', 'inet'],
    ['bad host:25', 'inet'],
    ['127.0.0.1:', 'inet'],
    ['1:2:3', 'inet'],
    ['[mx.example.org]:25', 'inet'],
  ])('refuses the service name %j (%s)', (name, type) => {
    const err = caught(() => validateService('mx1', { name, type: type as ServiceType, command: 'smtpd' }));
    expect(err.where).toBe('mx1');
    expect(err.field).toBe(`service ${name}/${type} name`);
    expect(err.value).toBe(name);
    expect(err.fix).toMatch(/use /);
  });

  it('refuses an unknown type', () => {
    const err = caught(() => validateService('mx1', { name: 'x', type: 'tcp' as ServiceType, command: 'smtpd' }));
    expect(err.field).toBe('service x/tcp type');
    expect(err.value).toBe('tcp');
    expect(err.fix).toMatch(/inet, unix, unix-dgram, fifo, pass/);
  });

  it.each([
    [{ wakeup: -1 }, 'wakeup', '-1'],
    [{ wakeup: 1.5 }, 'wakeup', '1.5'],
    [{ maxproc: -3 }, 'maxproc', '-3'],
    [{ maxproc: NaN }, 'maxproc', 'NaN'],
  ])('refuses %p', (extra, column, shown) => {
    const err = caught(() => validateService('mx1', { name: 'x', type: 'unix', command: 'smtpd', ...extra }));
    expect(err.field).toBe(`service x/unix ${column}`);
    expect(err.value).toBe(shown);
    expect(err.problem).toMatch(/non-negative whole number/);
    expect(err.fix).toMatch(/leave it undefined/);
  });

  it('refuses wakeupIfUsed without wakeup', () => {
    const err = caught(() => validateService('mx1', { name: 'x', type: 'unix', command: 'qmgr', wakeupIfUsed: true }));
    expect(err.field).toBe('service x/unix wakeup');
    expect(err.fix).toMatch(/set wakeup/);
  });

  it.each(['smtpd -v', '', '/usr/lib/postfix/sbin/smtpd', '-smtpd'])('refuses the command %j', (command) => {
    const err = caught(() => validateService('mx1', { name: 'x', type: 'unix', command }));
    expect(err.field).toBe('service x/unix command');
    expect(err.value).toBe(command);
    expect(err.fix).toMatch(/put arguments in args/);
  });

  it.each([
    ['argv=/bin/a b', /whitespace/, /separate arguments/],
    ['a\nb', /whitespace/, /separate arguments/],
    ['', /empty/, /separate arguments/],
    ['-o', /-o overrides/, /options/],
    ['{a}', /grouping/, /braces/],
  ])('refuses the argument %j', (arg, problem, fix) => {
    const err = caught(() => validateService('mx1', { name: 'x', type: 'unix', command: 'pipe', args: [arg] }));
    expect(err.field).toBe('service x/unix args');
    expect(err.value).toBe(arg);
    expect(err.problem).toMatch(problem);
    expect(err.fix).toMatch(fix);
  });

  it('checks -o names against the catalog, with suggestions', () => {
    const err = caught(() => validateService('mx1', { ...submission, options: { smtpd_tls_securty_level: 'encrypt' } }));
    expect(err.field).toBe('service submission/inet -o smtpd_tls_securty_level');
    expect(err.value).toBe('encrypt');
    expect(err.fix).toMatch(/did you mean smtpd_tls_security_level/);
  });

  it('accepts user-defined -o names from the allow-list and $references to them', () => {
    const spec = {
      ...submission,
      options: { smtpd_client_restrictions: '$mua_client_restrictions', mua_client_restrictions: 'permit_sasl_authenticated, reject' },
    };
    expect(() => validateService('mx1', spec, { userDefined: ['mua_client_restrictions'] })).not.toThrow();
    expect(() => validateService('mx1', spec)).toThrow(/mua_client_restrictions/);
  });

  it.each([
    ['smtpd_tls_security_level', 'required', /not a valid/],
    ['smtpd_tls_wrappermode', 'true', /yes or no/],
    ['syslog_name', 'postfix/sub # 587', /comment/],
    ['syslog_name', 'a\nb', /newline/],
    ['smtpd_client_restrictions', 'inline:{ a=b', /unbalanced/],
    ['smtpd_client_restrictions', 'x}', /unbalanced/],
  ])('checks -o %s=%j like main.cf values', (name, value, problem) => {
    const err = caught(() => validateService('mx1', { ...submission, options: { [name]: value } }));
    expect(err.field).toBe(`service submission/inet -o ${name}`);
    expect(err.value).toBe(value);
    expect(err.problem).toMatch(problem);
    expect(err.fix.length).toBeGreaterThan(0);
  });
});

describe('validateServices', () => {
  it('refuses the same service/type twice', () => {
    const err = caught(() => validateServices('mx1', [submission, { name: 'submission', type: 'inet', command: 'smtpd' }]));
    expect(err.field).toBe('service submission/inet');
    expect(err.problem).toMatch(/defined twice/);
    expect(err.fix).toMatch(/keep one submission\/inet entry/);
  });

  it('allows one name with two types, and per-transport -o names of the listed services', () => {
    const dovecot: MasterServiceSpec = {
      name: 'dovecot',
      type: 'unix',
      unpriv: false,
      chroot: false,
      command: 'pipe',
      args: ['flags=DRhu', 'argv=/usr/lib/dovecot/deliver'],
    };
    const relay: MasterServiceSpec = {
      name: 'relay2',
      type: 'unix',
      command: 'smtp',
      options: { dovecot_destination_recipient_limit: '1' },
    };
    expect(() =>
      validateServices('mx1', [
        { name: 'smtp', type: 'inet', command: 'smtpd' },
        { name: 'smtp', type: 'unix', command: 'smtp' },
        dovecot,
        relay,
      ]),
    ).not.toThrow();
    expect(() => validateServices('mx1', [relay])).toThrow(/dovecot_destination_recipient_limit/);
  });
});
