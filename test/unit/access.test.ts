import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  Access,
  classifyAccessKey,
  findOpenRelay,
  isPermissiveAction,
  parseRestrictions,
  placeCheck,
  renderAccessTable,
  scanAccessFile,
  validateAccessAction,
  validateAccessEntries,
  validateTableName,
} from '../../lib/model/access';
import { sizeLimitSettings } from '../../lib/model/size';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'access-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('actions', () => {
  it.each([
    'OK',
    'REJECT',
    'REJECT spam not welcome',
    'DISCARD',
    'HOLD',
    'DEFER',
    'DEFER try later',
    'DUNNO',
    'WARN x',
    '550 5.7.1 go away',
    '450 busy',
    '421 bye',
    'DEFER_IF_PERMIT x',
    'REDIRECT a@b.example',
    'BCC a@b.example',
    'PREPEND X-Seen: yes',
    'FILTER smtp:[127.0.0.1]:10025',
    'permit_mynetworks',
    'reject_unauth_destination',
    '1234',
    'INFO x',
  ])('accepts %j', (a) => {
    expect(validateAccessAction('h', 'a', a)).toBe(a);
  });
  it.each([
    ['reject', /upper case: did you mean REJECT/],
    ['DROP', /unknown access action "DROP"/],
    ['550', /all-numerical .* treats as OK/],
    ['600 text', /not a 4xx or 5xx/],
    ['OK fine', /takes no text/],
    ['REJECT a\nb', /newline/],
    ['', /empty/],
    ['REDIRECT nobody', /one address/],
  ])('refuses %j', (a, msg) => expect(() => validateAccessAction('mx/blacklist', 'entries["x"] action', a)).toThrow(msg));
  it('builders', () => {
    expect(Access.reject('no')).toBe('REJECT no');
    expect(Access.ok()).toBe('OK');
    expect(Access.code(554, 'no')).toBe('554 no');
    expect(isPermissiveAction('OK')).toBe(true);
    expect(isPermissiveAction('permit_mynetworks')).toBe(true);
    expect(isPermissiveAction('1234')).toBe(true);
    expect(isPermissiveAction('REJECT')).toBe(false);
    expect(isPermissiveAction('550 no')).toBe(false);
  });
});

describe('keys', () => {
  it.each([
    ['spam@bad.example', 'hash', 'address'],
    ['bad.example', 'hash', 'domain'],
    ['.bad.example', 'hash', 'parent-domain'],
    ['postmaster@', 'hash', 'user@'],
    ['192.0.2.1', 'hash', 'ip'],
    ['192.0.2', 'hash', 'network'],
    ['2001:db8::1', 'hash', 'ip'],
    ['192.0.2.0/24', 'cidr', 'network'],
    ['2001:db8::/32', 'cidr', 'network'],
    ['/^spam@/', 'regexp', 'pattern'],
    ['/^spam@/', 'pcre', 'pattern'],
  ] as const)('%s in %s is %s', (key, type, kind) => expect(classifyAccessKey('h', 'k', key, type)).toBe(kind));
  it.each([
    ['spam @bad.example', 'hash', /whitespace/],
    ['a@b.example\nOK', 'hash', /whitespace or a control/],
    ['#x', 'hash', /comment/],
    ['@bad.example', 'hash', /write the domain alone/],
    ['a@b@c.example', 'hash', /more than one/],
    ['', 'hash', /empty/],
    ['192.0.2.1/24', 'cidr', /non-null host address bits|bits set beyond/],
    ['192.0.2.0/33', 'cidr', /outside 0-32/],
    ['bad.example', 'cidr', /IP address/],
    ['spam@', 'regexp', /delimiter/],
    ['/(a/', 'regexp', /unmatched \(/],
    ['a@b_/c', 'hash', /not a domain|not an address/],
  ] as const)('refuses %j in %s', (key, type, msg) => expect(() => classifyAccessKey('mx/t', 'entries', key, type)).toThrow(msg));

  it('duplicate keys are case-insensitive for indexed tables', () => {
    expect(() =>
      validateAccessEntries('mx/t', 'entries', 'hash', [
        ['a@b.example', 'REJECT'],
        ['A@B.example', 'OK'],
      ]),
    ).toThrow(/entries\["A@B.example"\] = "A@B.example": duplicate key .*case-insensitive/);
    expect(() =>
      validateAccessEntries('mx/t', 'entries', 'regexp', [
        ['/a/', 'REJECT'],
        ['/A/', 'OK'],
      ]),
    ).not.toThrow();
  });

  it('cidr errors agree with postmap', () => {
    for (const [key, ok] of [
      ['192.0.2.0/24', true],
      ['192.0.2.1/24', false],
      ['2001:db8::/32', true],
      ['2001:db8::1/32', false],
    ] as const) {
      const f = path.join(dir, 'c');
      fs.writeFileSync(f, `${key}\tREJECT\n`);
      const r = spawnSync('postmap', ['-q', '192.0.2.5', `cidr:${f}`], { encoding: 'utf8' });
      expect({ key, postfixOk: !/warning/.test(r.stderr) }).toEqual({ key, postfixOk: ok });
      let ours = true;
      try {
        classifyAccessKey('', '', key, 'cidr');
      } catch {
        ours = false;
      }
      expect({ key, ours }).toEqual({ key, ours: ok });
    }
  });
});

describe('table names', () => {
  it.each(['blacklist', 'sender_access', 'a.b-c'])('accepts %s', (n) => expect(validateTableName('h', n)).toBe(n));
  it.each(['../x', 'a/b', 'a b', '.hidden', 'main.cf', 'x.db', ''])('refuses %j', (n) =>
    expect(() => validateTableName('h', n)).toThrow(/table name/),
  );
});

describe('files', () => {
  it('scans with duplicates found, actions validated, key-only lines counted', () => {
    const f = path.join(dir, 'bl');
    fs.writeFileSync(f, '# blacklist\n\nspam@bad.example REJECT go away\nevil.example\n');
    expect(() => scanAccessFile('h', 'fromFile', f, 'hash')).toThrow(/fromFile line 4 = "evil.example": the line has a key but no action/);
    const s = scanAccessFile('h', 'fromFile', f, 'hash', 'REJECT');
    expect(s.entries).toBe(2);
    expect(s.keyOnlyLines).toBe(1);
    expect(s.permissive).toBe(false);
    fs.writeFileSync(f, 'a@b.example REJECT\nc@d.example OK\nA@B.EXAMPLE REJECT\n');
    expect(() => scanAccessFile('h', 'fromFile', f, 'hash')).toThrow(/fromFile line 3 = "A@B.EXAMPLE": duplicate key \(first on line 1/);
    fs.writeFileSync(f, 'a@b.example DROP\n');
    expect(() => scanAccessFile('h', 'fromFile', f, 'hash')).toThrow(/line 1 action = "DROP"/);
    fs.writeFileSync(f, 'a@b.example REJECT\n  OK\n');
    expect(() => scanAccessFile('h', 'fromFile', f, 'hash')).toThrow(/continuation/);
  });
});

describe('placement', () => {
  const base = { where: 'mx', table: 'mx/t', check: 'check_recipient_access hash:/etc/postfix/t' };
  it('sender checks go first', () => {
    expect(
      placeCheck({
        ...base,
        stage: 'sender',
        check: 'check_sender_access hash:/x',
        current: 'permit_mynetworks, reject_unknown_sender_domain',
        relay: '',
        permissive: true,
      }),
    ).toEqual(['check_sender_access hash:/x', 'permit_mynetworks', 'reject_unknown_sender_domain']);
  });
  it('recipient checks go after reject_unauth_destination', () => {
    expect(
      placeCheck({
        ...base,
        stage: 'recipient',
        current: 'permit_mynetworks, reject_unauth_destination, reject_unlisted_recipient',
        relay: '',
        permissive: true,
      }),
    ).toEqual(['permit_mynetworks', 'reject_unauth_destination', base.check, 'reject_unlisted_recipient']);
  });
  it('refuses an OK table before the relay check when relay restrictions are empty (open relay)', () => {
    expect(() =>
      placeCheck({ ...base, stage: 'recipient', current: 'reject_unauth_destination', relay: '', permissive: true, placement: 'first' }),
    ).toThrow(/open relay/);
    expect(() => placeCheck({ ...base, stage: 'recipient', current: undefined, relay: '', permissive: true })).toThrow(/open relay/);
    // rejecting-only tables may go first; a controlled relay stage makes OK harmless
    expect(
      placeCheck({
        ...base,
        stage: 'recipient',
        current: 'reject_unauth_destination',
        relay: '',
        permissive: false,
        placement: 'first',
      })[0],
    ).toBe(base.check);
    expect(
      placeCheck({
        ...base,
        stage: 'recipient',
        current: undefined,
        relay: 'permit_mynetworks, defer_unauth_destination',
        permissive: true,
      }),
    ).toEqual([base.check]);
  });
  it('findOpenRelay and parseRestrictions', () => {
    expect(parseRestrictions('permit_mynetworks, check_sender_access hash:/a,reject')).toEqual([
      'permit_mynetworks',
      'check_sender_access hash:/a',
      'reject',
    ]);
    expect(findOpenRelay(`${base.check}, reject_unauth_destination`, '', new Set([base.check]))).toBe(base.check);
    expect(findOpenRelay(`reject_unauth_destination, ${base.check}`, '', new Set([base.check]))).toBeUndefined();
    expect(findOpenRelay(`${base.check}`, 'permit_mynetworks defer_unauth_destination', new Set([base.check]))).toBeUndefined();
  });
  it('renders one entry a line', () => {
    expect(renderAccessTable([{ key: 'a@b.example', action: 'REJECT no' }])).toBe('a@b.example\tREJECT no\n');
  });
});

describe('sizes', () => {
  it('parses units and keeps limits consistent', () => {
    expect(sizeLimitSettings({ message: '25MB' })).toEqual({ message_size_limit: '25000000' });
    expect(sizeLimitSettings({ message: '25MB', mailbox: 0 })).toEqual({
      message_size_limit: '25000000',
      mailbox_size_limit: '0',
      virtual_mailbox_limit: '0',
    });
    expect(() => sizeLimitSettings({ message: '60MB' })).toThrow(/mailbox_size_limit: message_size_limit \(60000000\) is above/);
    expect(() => sizeLimitSettings({ message: '25MB', mailbox: '10MB' })).toThrow(
      /mailbox_size_limit = "10MB": .*smaller than message_size_limit/,
    );
    expect(() => sizeLimitSettings({ message: '25 parsecs' })).toThrow(/message_size_limit = "25 parsecs"/);
  });
});
