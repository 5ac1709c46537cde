import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  parsePattern,
  PRIVACY_RULES,
  regexProblem,
  renderRegexTable,
  validateHeaderAction,
  validateHeaderRules,
} from '../../lib/model/header-checks';
import { PostfixConfigError } from '../../lib/model/errors';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The real Postfix verdict: undefined when postmap accepts the rule, else its warning. */
function postmapVerdict(type: 'regexp' | 'pcre', line: string): string | undefined {
  const file = path.join(dir, `t-${type}`);
  fs.writeFileSync(file, `${line}\tIGNORE\n`);
  const r = spawnSync('postmap', ['-q', 'probe', `${type}:${file}`], { encoding: 'utf8' });
  const warn = r.stderr.split('\n').find((l) => /line 1:/.test(l) && !/empty string result/.test(l));
  return warn;
}

function ourVerdict(type: 'regexp' | 'pcre', line: string): string | undefined {
  try {
    parsePattern('', 'pattern', line, type);
    return undefined;
  } catch (e) {
    if (e instanceof PostfixConfigError) return e.problem;
    throw e;
  }
}

const PATTERNS = [
  '/^X-Mailer:/',
  '/^Received:.*with ESMTPSA/',
  '/^User-Agent:/i',
  '/a)/',
  '/()/',
  '/a{/',
  '/a{2,1}/',
  '/a{1,2}/',
  '/a{,3}/',
  '/[[:foo:]]/',
  '/[[:alpha:]]/',
  '/[a/',
  '/a|*b/',
  '/(*a)/',
  '/a**/',
  '/a\\/',
  '/[]a]/',
  '/[^]a]/',
  '/^/',
  '//',
  '/a/ix',
  '/a/q',
  '!/a/',
  '/^*a/',
  '/(^*a)/',
  '/x{2}{3}/',
  '/a*?/',
  '/a+*/',
  '/(?:a)/',
  '/\\(/',
  '/a\\/b/',
  '%a/b%',
  '/[a-z]+@example\\.org$/',
  '/(a|b/',
  '/a|b)/',
  '/^Subject:.*(viagra|casino)/',
  'X-Mailer',
];

describe('regex patterns agree with postmap', () => {
  for (const type of ['regexp', 'pcre'] as const) {
    for (const p of PATTERNS) {
      it(`${type} ${p}`, () => {
        const real = postmapVerdict(type, p);
        const ours = ourVerdict(type, p);
        // Postfix ignores "X-Mailer" silently-ish ("unrecognized request"); we refuse it, as we do for whitespace in flags.
        expect({ pattern: p, refused: ours !== undefined }).toEqual({ pattern: p, refused: real !== undefined });
      });
    }
  }
});

describe('regexProblem', () => {
  it('names the problem', () => {
    expect(regexProblem('(a', 'regexp')).toBe('unmatched (');
    expect(regexProblem('[a', 'pcre')).toMatch(/terminating \]/);
    expect(regexProblem('a\\', 'regexp')).toBe('trailing backslash');
  });
});

describe('header actions', () => {
  it.each([
    'IGNORE',
    'REJECT',
    'REJECT no spam',
    'WARN',
    'HOLD why',
    'DISCARD',
    'DUNNO',
    'INFO x',
    'PASS',
    'STRIP x',
    'REPLACE X-Foo: bar',
    'PREPEND X-Seen: yes',
    'REDIRECT a@b.example',
    'BCC a@b.example',
    'FILTER smtp:[127.0.0.1]:10025',
  ])('accepts %s', (a) => {
    expect(validateHeaderAction('h', 'action', a)).toBe(a);
  });
  it.each([
    ['ignore', /did you mean IGNORE/],
    ['DROP', /unknown header_checks action "DROP"/],
    ['IGNORE now', /takes no text/],
    ['REPLACE nothing', /whole header line/],
    ['REDIRECT nobody', /one address/],
    ['FILTER x', /transport:destination/],
    ['', /empty/],
    ['REJECT a\nb', /newline/],
  ])('refuses %j', (a, msg) => {
    expect(() => validateHeaderAction('mx/clean', 'rules[0].action', a)).toThrow(msg);
  });
  it('errors name the field and value', () => {
    expect(() => validateHeaderAction('mx/clean', 'rules[0].action', 'DROP')).toThrow(
      'mx/clean: rules[0].action = "DROP": unknown header_checks action',
    );
  });
});

describe('rules', () => {
  it('refuses patterns without delimiters, with a bad flag, whitespace, and duplicates', () => {
    expect(() => validateHeaderRules('h', 'rules', 'regexp', [{ pattern: '/a/ s', action: 'IGNORE' }])).toThrow(
      /whitespace after the closing delimiter/,
    );
    expect(() => validateHeaderRules('h', 'rules', 'regexp', [{ pattern: '^X-Mailer:', action: 'IGNORE' }])).toThrow(
      /rules\[0\]\.pattern = "\^X-Mailer:": .*delimiter/,
    );
    expect(() => validateHeaderRules('h', 'rules', 'regexp', [{ pattern: '/a/s', action: 'IGNORE' }])).toThrow(/unknown regexp flag "s"/);
    expect(() => validateHeaderRules('h', 'rules', 'pcre', [{ pattern: '/a/s', action: 'IGNORE' }])).not.toThrow();
    expect(() =>
      validateHeaderRules('h', 'rules', 'regexp', [
        { pattern: '/a/', action: 'IGNORE' },
        { pattern: '/a/', action: 'WARN' },
      ]),
    ).toThrow(/rules\[1\]\.pattern.*duplicate of rule 0/);
    expect(() => validateHeaderRules('h', 'rules', 'regexp', [])).toThrow(/no rules/);
  });

  it('the privacy preset removes exactly the seed headers (checked with postmap -hmq)', () => {
    const rules = validateHeaderRules('h', 'rules', 'regexp', PRIVACY_RULES);
    const file = path.join(dir, 'clean');
    fs.writeFileSync(file, renderRegexTable(rules));
    const message = [
      'Received: from laptop.local (laptop.local [192.168.1.20])',
      '\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))',
      '\tby mx.example.org (Postfix) with ESMTPSA id 2B8361FD29',
      '\tfor <a@example.org>; Sun, 03 Aug 2014 11:20:31 +0000 (UTC)',
      'Received: from relay.example.net by mx.example.org (Postfix) with ESMTPS id 1',
      'X-Originating-IP: [192.168.1.20]',
      'X-Mailer: Thunderbird 1.0',
      'User-Agent: Mozilla/5.0',
      'x-mailer: lower case too',
      'Subject: hello',
      'From: a@example.org',
      '',
      'body',
      '',
    ].join('\n');
    const r = spawnSync('postmap', ['-hmq', '-', `regexp:${file}`], { input: message, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    // postmap prints each matching (logical, folded) header followed by TAB and the action.
    expect(r.stdout.match(/\tIGNORE$/gm)).toHaveLength(5);
    for (const h of ['X-Originating-IP:', 'X-Mailer: Thunderbird', 'User-Agent:', 'x-mailer:', 'Received: from laptop.local'])
      expect(r.stdout).toContain(h);
    for (const h of ['relay.example.net', 'Subject:', 'From:']) expect(r.stdout).not.toContain(h);
  });
});
