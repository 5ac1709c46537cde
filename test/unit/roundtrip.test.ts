/**
 * Property-based round trip through the real Postfix 3.7 `postconf`: settings that pass our
 * validation, rendered with our formatter, must be read back by postconf exactly as written.
 * Also checks checkKind against Postfix's own parser (postmap reads the global parameters).
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { lookupParameter, parameterNames, ParameterKind } from '../../lib/model/catalog';
import { renderServiceLine, validateServices } from '../../lib/model/master';
import { MasterServiceSpec } from '../../lib/model/master-types';
import { validateCrossField, validateParameter } from '../../lib/model/validate';
import { checkKind, formatParameterValue } from '../../lib/model/values';

const RUNS = Number(process.env.ROUNDTRIP_RUNS ?? 40);
const STOCK_MASTER_CF = fs.readFileSync('/usr/share/postfix/master.cf.dist', 'utf8');
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postconf-roundtrip-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Postfix commands stall ~2 s when main.cf is younger than 2 s; date the files back. */
function writeConfig(mainCf: string, masterCf: string): void {
  const past = new Date(Date.now() - 10_000);
  for (const [file, text] of [
    ['main.cf', mainCf],
    ['master.cf', masterCf],
  ]) {
    fs.writeFileSync(path.join(dir, file), text);
    fs.utimesSync(path.join(dir, file), past, past);
  }
}

function postconf(...args: string[]): string {
  return execFileSync('postconf', ['-c', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** `name = value` lines; postconf prints `name =` for an empty value. */
function parseAssignments(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n').filter(Boolean)) {
    const eq = line.indexOf(' =');
    out[line.slice(0, eq)] = line.slice(eq + 2).replace(/^ /, '');
  }
  return out;
}

// Value generators. postconf displays runs of whitespace as one space, so words are joined by one space.
const word = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,11}$/);
const pathWord = fc.stringMatching(/^[a-z][a-z0-9_-]{0,9}$/);
const tableRef = fc.oneof(
  fc
    .tuple(fc.constantFrom('hash', 'lmdb', 'cdb', 'regexp', 'pcre', 'cidr', 'texthash', 'btree'), pathWord)
    .map(([t, n]) => `${t}:/etc/postfix/${n}`),
  fc.tuple(word, word).map(([k, v]) => `inline:{ ${k}=${v} }`),
  fc.constant('proxy:unix:passwd.byname'),
);

const valueOfKind: Record<ParameterKind, fc.Arbitrary<string>> = {
  boolean: fc.boolean().map(formatParameterValue),
  integer: fc.integer({ min: 0, max: 2 ** 31 - 1 }).map(formatParameterValue),
  size: fc.oneof(fc.nat().map(formatParameterValue), fc.constant('$message_size_limit')),
  time: fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.constantFrom('', 's', 'm', 'h', 'd', 'w')).map(([n, u]) => `${n}${u}`),
  list: fc.array(word, { maxLength: 4 }).map(formatParameterValue),
  lookup: fc.array(tableRef, { maxLength: 3 }).map(formatParameterValue),
  text: fc.oneof(
    fc
      .array(fc.oneof(word, fc.constant('$myhostname'), fc.constant('${mydomain}'), fc.constant('a#b')), { maxLength: 4 })
      .map((ws) => ws.join(' ')),
    fc.constant(''),
  ),
};

// config_directory is what -c names; postconf prints its own value for it.
const MAIN_CF_NAMES = parameterNames().filter((n) => n !== 'config_directory' && !lookupParameter(n)!.readOnly);

/**
 * Parameters with a fixed vocabulary, and the interface lists that postconf itself resolves
 * while reading main.cf (an unknown host name there makes postconf fail after a DNS wait).
 */
const SPECIAL_VALUES: Readonly<Record<string, fc.Arbitrary<string>>> = {
  inet_interfaces: fc.constantFrom('all', 'loopback-only', '127.0.0.1', '127.0.0.1, [::1]'),
  proxy_interfaces: fc.constantFrom('', '127.0.0.1'),
  inet_protocols: fc.constantFrom('all', 'ipv4', 'ipv6', 'ipv4, ipv6'),
  smtpd_tls_security_level: fc.constantFrom('', 'none', 'may', 'encrypt'),
  smtp_tls_security_level: fc.constantFrom('', 'may', 'encrypt', 'dane', 'verify', 'secure'),
  lmtp_tls_security_level: fc.constantFrom('', 'may', 'encrypt'),
  smtp_address_preference: fc.constantFrom('any', 'ipv4', 'ipv6'),
  mynetworks_style: fc.constantFrom('host', 'subnet', 'class'),
  compatibility_level: fc.constantFrom('0', '2', '3.6', '3.7'),
};

function valueFor(name: string): fc.Arbitrary<string> {
  return SPECIAL_VALUES[name] ?? valueOfKind[lookupParameter(name)!.kind];
}

const setting = fc
  .constantFrom(...MAIN_CF_NAMES)
  .chain((name) => valueFor(name).map((value) => [name, value] as const))
  .filter(([name, value]) => !value.includes(`$${name}`) && !value.includes(`\${${name}}`));

function crossFieldValid(params: Record<string, string>): boolean {
  try {
    validateCrossField('roundtrip', params);
    return true;
  } catch {
    return false;
  }
}

describe('main.cf round trip through postconf -n', () => {
  it('reads back every validated setting exactly as written', () => {
    fc.assert(
      fc.property(fc.uniqueArray(setting, { selector: ([n]) => n, minLength: 1, maxLength: 25 }), (settings) => {
        for (const [name, value] of settings) validateParameter('roundtrip', name, value);
        // Only combinations the validation accepts as a whole are promised to work.
        fc.pre(crossFieldValid(Object.fromEntries(settings)));
        // The catalog includes per-transport parameters of Debian's stock services (maildrop_time_limit...),
        // which postconf only knows when master.cf defines those services.
        writeConfig(settings.map(([n, v]) => `${n} = ${v}\n`).join(''), STOCK_MASTER_CF);
        const back = parseAssignments(postconf('-n'));
        delete back.config_directory;
        expect(back).toEqual(Object.fromEntries(settings));
      }),
      { numRuns: RUNS },
    );
  });
});

const optionName = fc.constantFrom(
  'syslog_name',
  'smtpd_tls_security_level',
  'smtpd_client_restrictions',
  'smtpd_sasl_auth_enable',
  'milter_macro_daemon_name',
  'cleanup_service_name',
  'smtpd_recipient_limit',
  'smtpd_timeout',
  'header_checks',
);
const option = optionName.chain((name) => valueFor(name).map((v) => [name, v] as const));

const flag = fc.option(fc.boolean(), { nil: undefined });
const count = fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined });
const service: fc.Arbitrary<MasterServiceSpec> = fc
  .record({
    type: fc.constantFrom('unix' as const, 'inet' as const, 'unix-dgram' as const, 'fifo' as const, 'pass' as const),
    unixName: word,
    inetName: fc.oneof(
      fc.integer({ min: 1, max: 65535 }).map(String),
      fc.constantFrom('submission', 'smtps', '127.0.0.1:10025', '[::1]:10026', '::1:smtp'),
    ),
    private: flag,
    unpriv: flag,
    chroot: flag,
    wakeup: count,
    wakeupIfUsed: fc.boolean(),
    maxproc: count,
    command: fc.constantFrom('smtpd', 'cleanup', 'pipe', 'smtp', 'qmgr'),
    args: fc.array(
      fc.stringMatching(/^[a-z][a-z0-9=/_.${}-]{0,12}$/).filter((a) => !a.startsWith('{') && !/[{}]/.test(a.replace(/\$\{[a-z]+\}/g, ''))),
      { maxLength: 3 },
    ),
    options: fc.uniqueArray(option, { selector: ([n]) => n, maxLength: 4 }),
  })
  .map((r) => ({
    name: r.type === 'inet' ? r.inetName : r.unixName,
    type: r.type,
    private: r.private,
    unpriv: r.unpriv,
    chroot: r.chroot,
    wakeup: r.wakeup,
    wakeupIfUsed: r.wakeup === undefined ? undefined : r.wakeupIfUsed,
    maxproc: r.maxproc,
    command: r.command,
    args: r.args,
    options: Object.fromEntries(r.options),
  }));

/** The -M line as written, with -o overrides removed (they are compared through -P). */
function columnsOf(line: string): string[] {
  const fields: string[] = [];
  const tokens = line.split(/\s+/).filter(Boolean);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] !== '-o') {
      fields.push(tokens[i]);
      continue;
    }
    // Skip `-o k=v` or `-o {k=v with spaces}`.
    if (tokens[i + 1].startsWith('{')) {
      let depth = 0;
      do {
        i++;
        for (const ch of tokens[i]) depth += ch === '{' ? 1 : ch === '}' ? -1 : 0;
      } while (depth > 0);
    } else {
      i++;
    }
  }
  return fields;
}

describe('master.cf round trip through postconf -M and -P', () => {
  it('reads back every validated service exactly as written', () => {
    fc.assert(
      fc.property(fc.uniqueArray(service, { selector: (s) => `${s.name}/${s.type}`, minLength: 1, maxLength: 6 }), (services) => {
        validateServices('roundtrip', services);
        const lines = services.map(renderServiceLine);
        writeConfig('', lines.map((l) => `${l}\n`).join(''));
        const listed = postconf('-M').split('\n').filter(Boolean);
        expect(listed.map(columnsOf)).toEqual(lines.map(columnsOf));
        const expected: Record<string, string> = {};
        for (const s of services) for (const [k, v] of Object.entries(s.options ?? {})) expected[`${s.name}/${s.type}/${k}`] = v;
        expect(parseAssignments(postconf('-P'))).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });
});

/**
 * postmap parses the global main.cf parameters at start-up and stops on a bad value, so it is
 * Postfix's own verdict on a value. checkKind must accept everything Postfix accepts; where it
 * accepts more, the difference may only be a numeric bound (e.g. ipc_timeout = 0), never syntax.
 * Each fatal postmap exit sleeps 1 s (msg_fatal), so the probes run in parallel.
 */
describe('checkKind never rejects what Postfix accepts', () => {
  const candidates = fc.oneof(
    fc.stringMatching(/^[+-]?[0-9]{1,9}[smhdwSMx]?$/),
    fc.constantFrom('yes', 'no', 'YES', 'No', 'y', 'true', '1', '', '5 s', '1.5', '25MB', '-5s', '999999999w', '10k', ' 7 ', 'no '),
  );
  const probes: Array<[string, ParameterKind]> = [
    ['soft_bounce', 'boolean'],
    ['default_process_limit', 'integer'],
    ['message_size_limit', 'size'],
    ['ipc_timeout', 'time'],
  ];

  function postfixAccepts(name: string, value: string): Promise<boolean> {
    const own = fs.mkdtempSync(path.join(dir, 'probe-'));
    const past = new Date(Date.now() - 10_000);
    fs.writeFileSync(path.join(own, 'main.cf'), `${name} = ${value}\n`);
    fs.writeFileSync(path.join(own, 'master.cf'), '');
    fs.utimesSync(path.join(own, 'main.cf'), past, past);
    return new Promise((resolve) => {
      execFile('postmap', ['-c', own, '-q', 'k', 'inline:{k=v}'], (err) => resolve(!err));
    });
  }

  it.each(probes)('%s (%s)', async (name, kind) => {
    expect(lookupParameter(name)?.kind).toBe(kind);
    const values = [...new Set(fc.sample(candidates, { numRuns: 40, seed: 20240304 }))];
    const verdicts = await Promise.all(
      values.map(async (value) => ({ value, postfix: await postfixAccepts(name, value), ours: checkKind(kind, value) === undefined })),
    );
    // Deliberate difference: Postfix parses a negative byte count with sscanf("%ld") and does not
    // stop; a negative size limit is never meant, so checkKind refuses it.
    const deliberate = (value: string) => kind === 'size' && value.startsWith('-');
    const wronglyRejected = verdicts.filter((v) => v.postfix && !v.ours && !deliberate(v.value)).map((v) => v.value);
    expect(wronglyRejected).toEqual([]);
    const acceptedBeyondBounds = verdicts.filter((v) => !v.postfix && v.ours).map((v) => v.value);
    for (const value of acceptedBeyondBounds) expect(value).toMatch(/^[+-]?\d+[smhdw]?$/);
    // The sample must contain both verdicts, or it proves nothing.
    expect(verdicts.some((v) => v.postfix)).toBe(true);
    expect(verdicts.some((v) => !v.postfix)).toBe(true);
  });
});
