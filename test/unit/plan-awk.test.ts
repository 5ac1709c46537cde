/**
 * The host-side reconciliation program (lib/apply/remote/plan.awk) on its own: fake `postconf -n`
 * and `postconf -M` output written here, the plan read back. No host, no Postfix.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ENTRY_END, ENTRY_SCRIPT, remoteScriptEntries, remoteScripts } from '../../lib/apply/remote-script';

const PLAN_AWK = join(__dirname, '../../lib/apply/remote/plan.awk');

interface PlanInput {
  /** `postconf -n` (main) or `postconf -M` (master) output. */
  current: string;
  /** The managed record: name TAB set|unset TAB original value. */
  originals?: string[];
  /** name=value (master: service/type=entry). */
  desired?: string[];
  removals?: string[];
}

/** Runs plan.awk as transaction.sh does; the plan's lines, each split at tabs. */
function plan(kind: 'main' | 'master', input: PlanInput): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'plan-awk-'));
  const file = (name: string, lines: string[] | string): string => {
    const path = join(dir, name);
    writeFileSync(path, typeof lines === 'string' ? lines : lines.map((l) => l + '\n').join(''));
    return path;
  };
  const out = execFileSync(
    'awk',
    [
      '-v',
      `SET=${kind === 'main' ? 'e' : 'm'}`,
      '-f',
      PLAN_AWK,
      file('current', input.current),
      file('orig', input.originals ?? []),
      file('set', input.desired ?? []),
      file('remove', input.removals ?? []),
    ],
    { encoding: 'utf8' },
  );
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/** `postconf -n` output as Postfix 3.7 prints it (sorted names, "name =" for an empty value). */
const POSTCONF_N =
  [
    'alias_maps = hash:/etc/postfix/aliases',
    'inet_interfaces = all',
    'myhostname = mx1.example.org',
    'relayhost =',
    'smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)',
    'smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination',
    // A value that itself contains " = " (the name ends at the first one).
    'header_checks_note = a = b',
  ].join('\n') + '\n';

/** `postconf -M` output: one entry a line, columns padded with blanks. */
const POSTCONF_M =
  [
    'smtp       inet  n       -       y       -       -       smtpd',
    'pickup     unix  n       -       y       60      1       pickup',
    'submission inet  n       -       y       -       -       smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt',
    'smtp       unix  -       -       y       -       -       smtp',
  ].join('\n') + '\n';

describe('plan.awk, main.cf', () => {
  test('a value equal to the current one plans nothing but records the original', () => {
    expect(plan('main', { current: POSTCONF_N, desired: ['myhostname=mx1.example.org'] })).toEqual([
      ['o', 'myhostname', 'set', 'mx1.example.org'],
    ]);
  });

  test('a changed value plans one set line and records what the host had', () => {
    expect(plan('main', { current: POSTCONF_N, desired: ['smtpd_banner=$myhostname ESMTP managed'] })).toEqual([
      ['o', 'smtpd_banner', 'set', '$myhostname ESMTP $mail_name (Debian/GNU)'],
      ['e', 'smtpd_banner=$myhostname ESMTP managed'],
    ]);
  });

  test('a name the host does not set is recorded as unset; an empty current value counts as set', () => {
    expect(plan('main', { current: POSTCONF_N, desired: ['message_size_limit=25000000', 'relayhost=[relay.example.org]:587'] })).toEqual([
      ['o', 'message_size_limit', 'unset', ''],
      ['e', 'message_size_limit=25000000'],
      ['o', 'relayhost', 'set', ''],
      ['e', 'relayhost=[relay.example.org]:587'],
    ]);
  });

  test('values compare whole, including one that contains " = "', () => {
    expect(plan('main', { current: POSTCONF_N, desired: ['header_checks_note=a = b'] })).toEqual([
      ['o', 'header_checks_note', 'set', 'a = b'],
    ]);
    expect(plan('main', { current: POSTCONF_N, desired: ['header_checks_note=a = c'] })).toContainEqual(['e', 'header_checks_note=a = c']);
  });

  test('a removal deletes only what is set, and records the original either way', () => {
    expect(plan('main', { current: POSTCONF_N, removals: ['relayhost', 'smtpd_use_tls'] })).toEqual([
      ['o', 'relayhost', 'set', ''],
      ['x', 'relayhost'],
      ['o', 'smtpd_use_tls', 'unset', ''],
    ]);
  });

  test('a name already in the record is not recorded again (the first original wins)', () => {
    const originals = ['smtpd_banner\tset\t$myhostname ESMTP $mail_name (Debian/GNU)'];
    const current = POSTCONF_N.replace('$mail_name (Debian/GNU)', 'managed');
    expect(plan('main', { current, originals, desired: ['smtpd_banner=$myhostname ESMTP managed'] })).toEqual([]);
    expect(plan('main', { current, originals, desired: ['smtpd_banner=$myhostname ESMTP two'] })).toEqual([
      ['e', 'smtpd_banner=$myhostname ESMTP two'],
    ]);
  });

  test('a name dropped from code returns to its original value and leaves the record', () => {
    const originals = ['smtpd_banner\tset\t$myhostname ESMTP $mail_name (Debian/GNU)', 'delay_warning_time\tunset\t'];
    const current = POSTCONF_N.replace('$mail_name (Debian/GNU)', 'managed') + 'delay_warning_time = 4h\n';
    const lines = plan('main', { current, originals });
    expect(lines).toHaveLength(4);
    expect(lines).toEqual(
      expect.arrayContaining([
        ['e', 'smtpd_banner=$myhostname ESMTP $mail_name (Debian/GNU)'],
        ['d', 'smtpd_banner'],
        ['x', 'delay_warning_time'],
        ['d', 'delay_warning_time'],
      ]),
    );
  });

  test('a dropped name already back at its original only leaves the record', () => {
    expect(plan('main', { current: POSTCONF_N, originals: ['inet_interfaces\tset\tall', 'mynetworks\tunset\t'] }).sort()).toEqual([
      ['d', 'inet_interfaces'],
      ['d', 'mynetworks'],
    ]);
  });

  test('an original value with tabs and equals signs comes back whole', () => {
    const lines = plan('main', { current: POSTCONF_N, originals: ['smtpd_banner\tset\tx = y\tz'] });
    expect(lines).toContainEqual(['e', 'smtpd_banner=x = y', 'z']);
  });
});

describe('plan.awk, master.cf', () => {
  test('an entry equal up to column padding plans nothing', () => {
    const lines = plan('master', {
      current: POSTCONF_M,
      desired: ['submission/inet=submission inet n - y - - smtpd  -o syslog_name=postfix/submission   -o smtpd_tls_security_level=encrypt'],
    });
    expect(lines).toEqual([
      [
        'o',
        'submission/inet',
        'set',
        'submission inet n - y - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt',
      ],
    ]);
  });

  test('services are keyed by name and type: smtp/inet and smtp/unix are different entries', () => {
    const lines = plan('master', { current: POSTCONF_M, desired: ['smtp/unix=smtp unix - - n - - smtp'] });
    expect(lines).toEqual([
      ['o', 'smtp/unix', 'set', 'smtp unix - - y - - smtp'],
      ['m', 'smtp/unix=smtp unix - - n - - smtp'],
    ]);
  });

  test('a changed -o override plans the whole entry, normalized', () => {
    const lines = plan('master', {
      current: POSTCONF_M,
      desired: ['submission/inet=submission  inet n - y - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=may'],
    });
    expect(lines).toContainEqual([
      'm',
      'submission/inet=submission inet n - y - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=may',
    ]);
  });

  test('a new service is recorded as unset and added; a removed one is deleted', () => {
    const lines = plan('master', {
      current: POSTCONF_M,
      desired: ['submissions/inet=submissions inet n - y - - smtpd -o smtpd_tls_wrappermode=yes'],
      removals: ['pickup/unix'],
    });
    expect(lines).toEqual([
      ['o', 'submissions/inet', 'unset', ''],
      ['m', 'submissions/inet=submissions inet n - y - - smtpd -o smtpd_tls_wrappermode=yes'],
      ['o', 'pickup/unix', 'set', 'pickup unix n - y 60 1 pickup'],
      ['x', 'pickup/unix'],
    ]);
  });

  test('a service added by code and then dropped is deleted again', () => {
    const current = POSTCONF_M + 'submissions inet n - y - - smtpd -o smtpd_tls_wrappermode=yes\n';
    expect(plan('master', { current, originals: ['submissions/inet\tunset\t'] }).sort()).toEqual([
      ['d', 'submissions/inet'],
      ['x', 'submissions/inet'],
    ]);
  });

  test('empty input plans nothing', () => {
    expect(plan('master', { current: '' })).toEqual([]);
    expect(plan('main', { current: '' })).toEqual([]);
  });
});

describe('plan.awk, both files in one run (SET=em, what transaction.sh runs)', () => {
  test('each plan goes to its own file, line for line what the separate runs print', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-awk-em-'));
    const file = (name: string, lines: string[] | string): string => {
      const path = join(dir, name);
      writeFileSync(path, typeof lines === 'string' ? lines : lines.map((l) => l + '\n').join(''));
      return path;
    };
    const main: PlanInput = {
      current: POSTCONF_N,
      originals: ['relayhost\tunset\t', 'inet_interfaces\tset\tloopback-only'],
      desired: ['myhostname=mx2.example.org', 'message_size_limit=25000000'],
      removals: ['alias_maps'],
    };
    const master: PlanInput = {
      current: POSTCONF_M,
      originals: ['pickup/unix\tset\tpickup unix n - y 60 1 pickup'],
      desired: ['submissions/inet=submissions inet n - y - - smtpd -o smtpd_tls_wrappermode=yes'],
      removals: ['submission/inet'],
    };
    const args = (kind: string, p: PlanInput): string[] => [
      file(`${kind}.current`, p.current),
      file(`${kind}.orig`, p.originals ?? []),
      file(`${kind}.set`, p.desired ?? []),
      file(`${kind}.remove`, p.removals ?? []),
    ];
    const outE = join(dir, 'plan.main');
    const outM = join(dir, 'plan.master');
    const printed = execFileSync(
      'awk',
      ['-v', 'SET=em', '-v', `OUT_E=${outE}`, '-v', `OUT_M=${outM}`, '-f', PLAN_AWK, ...args('main', main), ...args('master', master)],
      {
        encoding: 'utf8',
      },
    );
    expect(printed).toBe('');
    const lines = (path: string) =>
      readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split('\t'));
    expect(lines(outE)).toEqual(plan('main', main));
    expect(lines(outM)).toEqual(plan('master', master));
    expect(lines(outE).length).toBeGreaterThan(3);
    expect(lines(outM).length).toBeGreaterThan(2);
  });

  test('nothing to plan still writes both files, empty', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-awk-em-'));
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    const outE = join(dir, 'plan.main');
    const outM = join(dir, 'plan.master');
    execFileSync('awk', ['-v', 'SET=em', '-v', `OUT_E=${outE}`, '-v', `OUT_M=${outM}`, '-f', PLAN_AWK, ...Array(8).fill(empty)]);
    expect(readFileSync(outE, 'utf8')).toBe('');
    expect(readFileSync(outM, 'utf8')).toBe('');
  });
});

describe('the remote program as shipped', () => {
  test('every part travels under txn/ and every shell part parses (sh -n)', () => {
    const entries = remoteScriptEntries();
    const names = entries.map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['txn/transaction.sh', 'txn/plan.awk', 'txn/common.sh']));
    // The entry travels ahead of the tar, never in it, and it sources the staged transaction.
    expect(names).not.toContain(`txn/${ENTRY_SCRIPT}`);
    const entry = remoteScripts()[ENTRY_SCRIPT];
    expect(entry).toContain('. "$d/txn/transaction.sh"');
    expect(entry.trimEnd().endsWith(ENTRY_END)).toBe(true);
    for (const text of [entry, ...entries.filter((x) => x.name.endsWith('.sh')).map((x) => x.data as Buffer)]) {
      expect(() => execFileSync('sh', ['-n'], { input: text })).not.toThrow();
    }
  });
});
