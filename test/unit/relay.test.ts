import { readFileSync } from 'fs';
import { join } from 'path';
import { PostfixConfigError } from '../../lib/model/errors';
import { expand } from '../../lib/model/expand';
import { checkMynetworks } from '../../lib/model/mynetworks';
import { checkRelaySafety, findRelayProblems, RelayCheckInput } from '../../lib/model/relay';
import { parseMasterLine, relayProblemsFromPostconf, tableEntryActions } from '../../lib/model/relay-text';
import { Submission, Submissions } from '../../constructs/master-service';

const FIXTURES = join(__dirname, '..', 'fixtures', 'debian12');
const debianN = readFileSync(join(FIXTURES, 'postconf-n.txt'), 'utf8');
const debianM = readFileSync(join(FIXTURES, 'postconf-M.txt'), 'utf8');
const SMTP = { key: 'smtp/inet', options: {} };

function problems(main: Record<string, string>, services = [SMTP], extra: Partial<RelayCheckInput> = {}): PostfixConfigError[] {
  return findRelayProblems({ where: 'mail/mx', main: { compatibility_level: '3.6', ...main }, services, ...extra });
}

function only(main: Record<string, string>, services = [SMTP], extra: Partial<RelayCheckInput> = {}): PostfixConfigError {
  const found = problems(main, services, extra);
  expect(found).toHaveLength(1);
  return found[0];
}

describe('open relays are refused, naming host, service, parameter, effective value and fix', () => {
  it('permit ahead of reject_unauth_destination in smtpd_relay_restrictions', () => {
    const e = only({ smtpd_relay_restrictions: 'permit, reject_unauth_destination' });
    expect(e.where).toBe('mail/mx');
    expect(e.field).toBe('service smtp/inet smtpd_relay_restrictions');
    expect(e.value).toBe('permit, reject_unauth_destination');
    expect(e.message).toMatch(/open relay.*"permit" permit permits every client/);
    expect(e.message).toMatch(/from main\.cf/);
    expect(e.fix).toMatch(/reject_unauth_destination/);
  });

  it('...unless smtpd_recipient_restrictions still refuses (Postfix runs both lists)', () => {
    expect(problems({ smtpd_relay_restrictions: 'permit', smtpd_recipient_restrictions: 'reject_unauth_destination' })).toEqual([]);
  });

  it('an -o override that opens submission', () => {
    const svc = {
      key: 'submission/inet',
      options: { ...Submission.starttls().options, smtpd_relay_restrictions: 'permit_mynetworks,permit' },
    };
    const e = only({}, [SMTP, svc]);
    expect(e.field).toBe('service submission/inet smtpd_relay_restrictions');
    expect(e.message).toMatch(/from its -o smtpd_relay_restrictions/);
  });

  it("-o name=$other is resolved against main.cf and the service's own -o", () => {
    const main = { mua_relay: 'permit_sasl_authenticated, permit' };
    expect(only(main, [{ key: 'submission/inet', options: { smtpd_relay_restrictions: '$mua_relay' } }]).value).toBe(
      'permit_sasl_authenticated, permit',
    );
    expect(
      problems({ mua_relay: 'permit' }, [
        { key: 'submission/inet', options: { mua_relay: 'reject', smtpd_relay_restrictions: '${mua_relay}' } },
      ]),
    ).toEqual([]);
  });

  it('an unresolvable $reference is not proof of safety', () => {
    expect(only({}, [{ key: 'submission/inet', options: { smtpd_relay_restrictions: '$nowhere' } }]).message).toMatch(
      /\$nowhere has no value/,
    );
  });

  it('a table that may answer OK ahead of the relay check, with empty relay restrictions', () => {
    const main = {
      smtpd_relay_restrictions: '',
      smtpd_recipient_restrictions: 'check_recipient_access hash:/etc/postfix/rcpt, reject_unauth_destination',
    };
    expect(only(main).message).toMatch(/hash:\/etc\/postfix\/rcpt can answer OK/);
    const rejecting = { tableActions: () => ['REJECT no', '550 5.1.1 no such user', 'DUNNO'] };
    expect(problems(main, [SMTP], rejecting)).toEqual([]);
    expect(only(main, [SMTP], { tableActions: () => ['REJECT', 'OK'] }).message).toMatch(/answers OK/);
    expect(only(main, [SMTP], { tableActions: () => ['permit_auth_destination, permit'] }).message).toMatch(
      /entry "permit_auth_destination, permit"/,
    );
  });

  it('inline and static tables are read from the value', () => {
    expect(only({ smtpd_relay_restrictions: 'check_client_access inline:{ 192.0.2.1=OK }, reject_unauth_destination' }).message).toMatch(
      /answers OK/,
    );
    expect(
      problems({ smtpd_relay_restrictions: 'check_client_access inline:{ { 192.0.2.1 = REJECT go away } }, reject_unauth_destination' }),
    ).toEqual([]);
    expect(only({ smtpd_relay_restrictions: 'check_client_access static:OK, reject_unauth_destination' }).message).toMatch(/answers OK/);
  });

  it('permits that outsiders can trigger, policy servers and unknown words', () => {
    expect(only({ smtpd_relay_restrictions: 'permit_mx_backup, reject_unauth_destination' }).message).toMatch(/MX record/);
    expect(only({ smtpd_relay_restrictions: 'check_policy_service inet:127.0.0.1:10040, reject_unauth_destination' }).message).toMatch(
      /policy server/,
    );
    expect(only({ smtpd_relay_restrictions: 'permit_dnswl_client list.dnswl.org, reject_unauth_destination' }).message).toMatch(
      /allowlist/,
    );
    expect(only({ smtpd_relay_restrictions: 'permit_mynetwork, reject_unauth_destination' }).message).toMatch(
      /"permit_mynetwork" is not a restriction/,
    );
  });

  it('warn_if_reject turns the relay check into a log line', () => {
    expect(problems({ smtpd_relay_restrictions: 'warn_if_reject reject_unauth_destination, reject_unauth_destination' })).toEqual([]);
    expect(only({ smtpd_relay_restrictions: 'permit_mynetworks, warn_if_reject reject_unauth_destination' }).message).toMatch(
      /no restriction refuses it/,
    );
  });

  it('restriction classes are followed', () => {
    const main = { smtpd_restriction_classes: 'open, closed', open: 'permit', closed: 'reject_unauth_destination' };
    expect(problems({ ...main, smtpd_relay_restrictions: 'permit_mynetworks, closed' })).toEqual([]);
    expect(only({ ...main, smtpd_relay_restrictions: 'open, closed' }).message).toMatch(/permits every client/);
  });

  it('a refusal in smtpd_client_restrictions or smtpd_sender_restrictions protects the service', () => {
    expect(problems({ smtpd_client_restrictions: 'permit_mynetworks, reject', smtpd_relay_restrictions: 'permit' })).toEqual([]);
    expect(only({ smtpd_client_restrictions: 'permit, reject', smtpd_relay_restrictions: 'permit' })).toBeDefined();
    // HELO may be skipped unless required.
    expect(only({ smtpd_helo_restrictions: 'reject', smtpd_relay_restrictions: 'permit' })).toBeDefined();
    expect(problems({ smtpd_helo_required: 'yes', smtpd_helo_restrictions: 'reject', smtpd_relay_restrictions: 'permit' })).toEqual([]);
  });

  it('the default smtpd_relay_restrictions depends on compatibility_level; both are tried when the stack does not set it', () => {
    const main = { smtpd_recipient_restrictions: 'check_recipient_access hash:/etc/postfix/rcpt, reject_unauth_destination' };
    const input = (levels?: string[]) => ({ where: 'h', main, services: [SMTP], ...(levels ? { assumeCompatibilityLevels: levels } : {}) });
    expect(findRelayProblems(input(['3.6']))).toEqual([]);
    expect(findRelayProblems(input(['0', '3.6']))[0].message).toMatch(/assuming compatibility_level = 0/);
  });

  it('no relay control at all (compatibility_level 0 with nothing set) proves nothing and is refused', () => {
    expect(findRelayProblems({ where: 'h', main: {}, services: [SMTP] })[0].message).toMatch(/no restriction refuses it/);
  });
});

describe('safe shapes pass', () => {
  it('stock Debian 12 (postconf -n, postconf -M)', () => {
    expect(relayProblemsFromPostconf({ where: 'debian', postconfN: debianN, postconfM: debianM })).toEqual([]);
  });

  it("Debian's commented submission block, uncommented (with undefined $mua_* references)", () => {
    const master = `${debianM}submission inet n - y - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes -o smtpd_client_restrictions=$mua_client_restrictions -o smtpd_relay_restrictions= -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n`;
    expect(relayProblemsFromPostconf({ where: 'debian', postconfN: debianN, postconfM: master })).toEqual([]);
  });

  it('Submission.starttls() and Submissions.implicitTls(), with and without SASL, under either compatibility level', () => {
    const services = [Submission.starttls(), Submissions.implicitTls(), Submission.starttls({ name: '2587', sasl: {} })].map((s) => ({
      key: `${s.name}/${s.type}`,
      options: s.options ?? {},
    }));
    expect(findRelayProblems({ where: 'h', main: {}, services, assumeCompatibilityLevels: ['0', '3.6'] })).toEqual([]);
    expect(findRelayProblems({ where: 'h', main: {}, services: [SMTP, ...services], assumeCompatibilityLevels: ['3.6'] })).toEqual([]);
  });

  it("Postfix's FILTER_README re-injection service", () => {
    const line =
      'localhost:10025 inet n - n - 10 smtpd -o content_filter= -o smtpd_delay_reject=no -o smtpd_client_restrictions=permit_mynetworks,reject -o smtpd_relay_restrictions= -o smtpd_recipient_restrictions=permit_mynetworks,reject -o mynetworks=127.0.0.0/8';
    expect(relayProblemsFromPostconf({ where: 'h', postconfN: debianN, postconfM: `${debianM}${line}\n` })).toEqual([]);
  });
});

describe('on the host: postconf text, -P overrides and hand edits', () => {
  it('a hand-edited -o in master.cf opens submission', () => {
    const master = `${debianM}submission inet n - y - - smtpd -o { smtpd_relay_restrictions = permit_mynetworks, permit }\n`;
    const [e] = relayProblemsFromPostconf({ where: '127.0.0.20', postconfN: debianN, postconfM: master });
    expect(e.field).toBe('service submission/inet smtpd_relay_restrictions');
    expect(e.value).toBe('permit_mynetworks, permit');
  });

  it('postconf -P supplies the overrides when given', () => {
    const master = `${debianM}submission inet n - y - - smtpd -o smtpd_relay_restrictions=reject\n`;
    const p = 'submission/inet/smtpd_relay_restrictions = permit\n';
    expect(relayProblemsFromPostconf({ where: 'h', postconfN: debianN, postconfM: master, postconfP: p })).toHaveLength(1);
  });

  it('a bundle table is read from its text; a host-only table may answer OK', () => {
    const n = `${debianN}smtpd_relay_restrictions = check_client_access hash:/etc/postfix/clients, reject_unauth_destination\n`;
    expect(relayProblemsFromPostconf({ where: 'h', postconfN: n, postconfM: debianM })).toHaveLength(1);
    const tableSources = new Map([['/etc/postfix/clients', '# blocked\n192.0.2.1 REJECT\n']]);
    expect(relayProblemsFromPostconf({ where: 'h', postconfN: n, postconfM: debianM, tableSource: (p) => tableSources.get(p) })).toEqual(
      [],
    );
  });

  it('parses master.cf lines, long -o form included', () => {
    expect(
      parseMasterLine('submission inet n - y - - smtpd -o syslog_name=x -o { smtpd_relay_restrictions = permit_mynetworks, reject }'),
    ).toEqual({
      key: 'submission/inet',
      command: 'smtpd',
      options: { syslog_name: 'x', smtpd_relay_restrictions: 'permit_mynetworks, reject' },
    });
  });

  it('table files: results after the key or the pattern; continuation lines join', () => {
    expect(tableEntryActions('hash', 'a@b REJECT x\n# c\nc.example\n  OK\n')).toEqual(['REJECT x', 'OK']);
    expect(tableEntryActions('regexp', 'if /x/\n/^a\\/b/i REJECT\n!/c/ DUNNO\nendif\n')).toEqual(['REJECT', 'DUNNO']);
    expect(tableEntryActions('ldap', 'server_host = x')).toBeUndefined();
  });
});

describe('mynetworks', () => {
  const bad = (value: string) => {
    try {
      checkMynetworks('mail/mx', 'mynetworks', value);
    } catch (e) {
      if (e instanceof PostfixConfigError) return e;
      throw e;
    }
    throw new Error(`accepted ${value}`);
  };

  it.each([
    ['0.0.0.0/0', /covers all of all IPv4/],
    ['[::]/0', /covers all of all IPv6/],
    ['[::ffff:0.0.0.0]/96', /IPv4-mapped or NAT64/],
    ['0.0.0.0/1', /covers 1\/2 of all IPv4/],
    ['10.0.0.0/7', /must be \/8 or narrower/],
    ['[2000::]/3', /IPv6 mynetworks entries must be \/16/],
    ['10.0.0.0/33', /prefix length \/33/],
    ['300.1.2.3/8', /not a valid IPv4 address/],
    ['[::1]/129', /prefix length \/129/],
    ['2001:db8::/32', /without brackets.*\[2001:db8::\]\/32/],
    ['[10.0.0.0]/8', /brackets/],
  ])('refuses %s', (value, pattern) => {
    expect(bad(`127.0.0.0/8 ${value}`).message).toMatch(pattern);
  });

  it('host bits set: says what was meant', () => {
    expect(bad('10.0.0.1/8').fix).toBe('did you mean 10.0.0.0/8?');
    expect(bad('[2001:db8::1]/32').fix).toBe('did you mean [2001:db8::]/32?');
  });

  it.each([
    '127.0.0.0/8',
    '[::1]/128',
    '[::ffff:127.0.0.0]/104',
    '127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128',
    '192.0.2.7',
    'localhost',
    'mail.example.org',
    'cidr:/etc/postfix/networks',
    'hash:/etc/postfix/network_table',
    '/etc/postfix/networks',
    '$other',
    '!0.0.0.0/0',
    '10.0.0.0/8, 172.16.0.0/12, [fd00:1234::]/32',
  ])('accepts %s', (value) => {
    expect(() => checkMynetworks('h', 'mynetworks', value)).not.toThrow();
  });

  it('refuses a bad -o mynetworks on a service, and a bad main.cf one', () => {
    const found = problems({ mynetworks: '0.0.0.0/0' }, [
      { key: 'relay/inet', options: { mynetworks: '10.0.0.0/33', smtpd_relay_restrictions: 'reject' } },
    ]);
    expect(found.map((e) => e.field)).toEqual(['mynetworks', 'service relay/inet -o mynetworks']);
    expect(() => checkRelaySafety({ where: 'h', main: { mynetworks: '10.0.0.1/8' }, services: [] })).toThrow(/did you mean 10\.0\.0\.0\/8/);
  });
});

describe('$name expansion (postconf(5))', () => {
  const lookup = (m: Record<string, string>) => (n: string) => m[n];
  it("expands the forms Postfix's defaults use", () => {
    const relayDefault = '${{$compatibility_level} <level {1} ? {} : {permit_mynetworks, defer_unauth_destination}}';
    expect(expand(relayDefault, lookup({ compatibility_level: '0' }))).toBe('');
    expect(expand(relayDefault, lookup({ compatibility_level: '3.6' }))).toBe('permit_mynetworks, defer_unauth_destination');
    expect(expand('${a?{x}:{y}} ${b:z} $(a)', lookup({ a: '1', b: '' }))).toBe('x z 1');
    expect(() => expand('$a', lookup({ a: '$a' }))).toThrow(/nest too deeply/);
  });
});
