import { readFileSync } from 'fs';
import { join } from 'path';
import { MasterServiceSpec } from '../../lib/model/master-types';
import { lintTls, TlsFinding } from '../../lib/model/tls-lint';

/** Minimal main.cf reader for the fixture: comments, continuation lines, last assignment wins. */
function parseMainCf(text: string): Record<string, string> {
  const params: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    if (/^\s/.test(line) && last) {
      params[last] += ` ${line.trim()}`;
      continue;
    }
    const m = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (m) {
      last = m[1];
      params[m[1]] = m[2].trim();
    }
  }
  return params;
}

const seed = parseMainCf(readFileSync(join(__dirname, '../fixtures/seed-tls-block.cf'), 'utf8'));
const seedFiles = [
  { path: '/etc/postfix/dh_1024.pem', dhBits: 1024 },
  { path: '/etc/postfix/dh_512.pem', dhBits: 512 },
];
const pairs = (fs: TlsFinding[]) => fs.map((f) => `${f.rule} ${f.parameter}`).sort();

describe('lintTls on the seed page TLS block', () => {
  const findings = lintTls(seed, [], seedFiles);

  it('reports every problem of the fixture', () => {
    expect(pairs(findings)).toEqual([
      'tls-exclude-ciphers-dead-weight smtpd_tls_exclude_ciphers',
      'tls-legacy-protocols smtp_tls_mandatory_protocols',
      'tls-legacy-protocols smtp_tls_protocols',
      'tls-legacy-protocols smtpd_tls_mandatory_protocols',
      'tls-legacy-protocols smtpd_tls_protocols',
      'tls-no-certificate smtpd_use_tls',
      'tls-obsolete-parameter smtp_use_tls',
      'tls-obsolete-parameter smtpd_tls_dh512_param_file',
      'tls-obsolete-parameter smtpd_tls_eecdh_grade',
      'tls-obsolete-parameter smtpd_use_tls',
      'tls-redundant-random-source tls_random_source',
      'tls-weak-dh-file smtpd_tls_dh1024_param_file',
      'tls-weak-dh-file smtpd_tls_dh512_param_file',
    ]);
  });

  it('every finding carries the value and a fix', () => {
    for (const f of findings) {
      expect(f.value).not.toBe(undefined);
      expect(f.fix.length).toBeGreaterThan(10);
      expect(f.message.length).toBeGreaterThan(10);
    }
    const mandatory = findings.find((f) => f.parameter === 'smtpd_tls_mandatory_protocols')!;
    expect(mandatory.value).toBe('SSLv3, TLSv1');
    expect(mandatory.message).toMatch(/SSLv3, TLSv1/);
    expect(mandatory.fix).toMatch(/>=TLSv1\.2/);
  });

  it('names the dead exclude entries, typos included', () => {
    const f = findings.find((x) => x.rule === 'tls-exclude-ciphers-dead-weight')!;
    for (const n of ['EXPORT', 'DES', 'RC4', 'aECDH', 'EDH-RSA-DES-CDC3-SHA', 'KRB5-DE5', 'CBC3-SHA']) expect(f.message).toContain(n);
    expect(f.message).not.toMatch(/\baNULL\b/);
  });
});

describe('lintTls rules', () => {
  const cert = { smtpd_tls_chain_files: '/etc/ssl/private/mx1.pem' };
  const submission: MasterServiceSpec = {
    name: 'submission',
    type: 'inet',
    command: 'smtpd',
    options: { smtpd_tls_security_level: 'encrypt' },
  };

  it('legacy protocols in both syntaxes, in main.cf and in -o', () => {
    const f = lintTls(
      {
        ...cert,
        smtpd_tls_security_level: 'may',
        smtpd_tls_protocols: '!SSLv2, !SSLv3',
        smtpd_tls_mandatory_protocols: '>=TLSv1.1',
        smtp_tls_protocols: '>=TLSv1.2',
        smtp_tls_mandatory_protocols: '>=TLSv1.2',
      },
      [{ ...submission, options: { ...submission.options, smtpd_tls_mandatory_protocols: '>=TLSv1' } }],
    );
    expect(pairs(f)).toEqual([
      'tls-legacy-protocols smtpd_tls_mandatory_protocols',
      'tls-legacy-protocols smtpd_tls_protocols',
      'tls-legacy-protocols submission/inet -o smtpd_tls_mandatory_protocols',
    ]);
  });

  it('invalid protocol syntax is an error finding', () => {
    const f = lintTls({ smtpd_tls_protocols: '>= TLSv1.2' }, []);
    expect(f).toEqual([expect.objectContaining({ rule: 'tls-protocols-invalid', severity: 'error', value: '>= TLSv1.2' })]);
  });

  it.each(['export', 'low', 'null'])('cipher grade %s', (grade) => {
    expect(pairs(lintTls({ smtpd_tls_ciphers: grade }, []))).toEqual(['tls-weak-cipher-grade smtpd_tls_ciphers']);
  });

  it('encrypt in main.cf reaches port 25 unless smtp/inet overrides it', () => {
    const params = {
      ...cert,
      smtpd_tls_security_level: 'encrypt',
      smtpd_tls_protocols: '>=TLSv1.2',
      smtpd_tls_mandatory_protocols: '>=TLSv1.2',
    };
    expect(pairs(lintTls(params, []))).toEqual(['tls-mandatory-on-port-25 smtpd_tls_security_level']);
    const smtp: MasterServiceSpec = { name: 'smtp', type: 'inet', command: 'smtpd', options: { smtpd_tls_security_level: 'may' } };
    expect(lintTls(params, [smtp])).toEqual([]);
    const enc: MasterServiceSpec = { name: 'smtp', type: 'inet', command: 'smtpd', options: { smtpd_tls_security_level: 'encrypt' } };
    expect(pairs(lintTls({ ...params, smtpd_tls_security_level: 'may' }, [enc]))).toEqual([
      'tls-mandatory-on-port-25 smtp/inet -o smtpd_tls_security_level',
    ]);
  });

  it('behind postscreen, the smtpd/pass override counts', () => {
    const params = {
      ...cert,
      smtpd_tls_security_level: 'encrypt',
      smtpd_tls_protocols: '>=TLSv1.2',
      smtpd_tls_mandatory_protocols: '>=TLSv1.2',
    };
    const services: MasterServiceSpec[] = [
      { name: 'smtp', type: 'inet', command: 'postscreen' },
      { name: 'smtpd', type: 'pass', command: 'smtpd', options: { smtpd_tls_security_level: 'may' } },
    ];
    expect(lintTls(params, services)).toEqual([]);
  });

  it('mandatory TLS without a certificate is an error', () => {
    const f = lintTls({ smtpd_tls_protocols: '>=TLSv1.2', smtpd_tls_mandatory_protocols: '>=TLSv1.2' }, [submission]);
    expect(f).toEqual([
      expect.objectContaining({
        rule: 'tls-mandatory-without-certificate',
        severity: 'error',
        parameter: 'submission/inet smtpd_tls_security_level',
      }),
    ]);
  });

  it('submission without encrypt', () => {
    const f = lintTls({ ...cert }, [{ name: 'submission', type: 'inet', command: 'smtpd' }]);
    expect(pairs(f)).toEqual(['tls-submission-not-encrypted submission/inet -o smtpd_tls_security_level']);
  });

  it('DH files of 2048 bits or more pass; unknown sizes are not guessed', () => {
    const p = { smtpd_tls_dh1024_param_file: '${config_directory}/dh.pem', config_directory: '/srv/pf' };
    expect(lintTls(p, [], [{ path: '/srv/pf/dh.pem', dhBits: 2048 }])).toEqual([]);
    expect(lintTls(p, [], [{ path: '/srv/pf/dh.pem' }])).toEqual([]);
    expect(pairs(lintTls(p, [], [{ path: '/srv/pf/dh.pem', dhBits: 1024 }]))).toEqual(['tls-weak-dh-file smtpd_tls_dh1024_param_file']);
  });

  it('a host that never turns TLS on gets no findings', () => {
    expect(lintTls({ myhostname: 'mx1.example.org' }, [])).toEqual([]);
  });
});
