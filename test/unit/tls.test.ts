import { execFileSync } from 'child_process';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PostfixConfigError } from '../../lib/model/errors';
import {
  assertProfileName,
  INTERMEDIATE_CIPHERS,
  legacyProtocolsAllowed,
  parseProtocols,
  profileParameters,
  serviceOverrides,
  validateTlsParameters,
} from '../../lib/model/tls';
import { checkHostPath, checkKeyAndCertificate, planCertificates } from '../../lib/model/tls-certificates';
import { lintTls } from '../../lib/model/tls-lint';
import { selfSigned } from '../helpers/certs';

function makeCert(dir: string, name: string): { key: string; cert: string } {
  const pair = selfSigned(dir, { cn: `${name}.example`, key: 'ec', name });
  return { key: pair.keyPem, cert: pair.certPem };
}

function errorOf(fn: () => unknown): PostfixConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PostfixConfigError) return e;
    throw e;
  }
  throw new Error('expected a PostfixConfigError');
}

describe('parseProtocols (Postfix 3.7 grammar, checked with posttls-finger)', () => {
  it.each([
    ['>=TLSv1.2', ['TLSv1.2', 'TLSv1.3']],
    ['>=TLSv1.3', ['TLSv1.3']],
    ['!SSLv2, !SSLv3', ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']],
    ['!SSLv2:!SSLv3:!TLSv1:!TLSv1.1', ['TLSv1.2', 'TLSv1.3']],
    ['SSLv3, TLSv1', ['SSLv3', 'TLSv1']],
    ['tlsv1.2 TLSv1.3', ['TLSv1.2', 'TLSv1.3']],
    ['>=0x0303', ['TLSv1.2', 'TLSv1.3']],
    ['>=TLSv1.2, <=TLSv1.2', ['TLSv1.2']],
    ['', ['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']],
  ])('%s', (value, enabled) => {
    expect(parseProtocols('smtpd_tls_protocols', value).enabled).toEqual(enabled);
  });

  it.each(['>TLSv1.2', '=>TLSv1.2', '>=TLSv1.4', 'TLSv1.4', '>=TLSv1.2;<=TLSv1.3', 'TLS1.2', '>=0305'])('rejects %s', (value) => {
    const e = errorOf(() => parseProtocols('smtpd_tls_protocols', value));
    expect(e.field).toBe('smtpd_tls_protocols');
    expect(e.value).toBe(value);
    expect(e.fix).toMatch(/>=TLSv1\.2/);
  });

  it('rejects ">= TLSv1.2" because the space makes it "TLSv1.2 only"', () => {
    expect(errorOf(() => parseProtocols('smtp_tls_protocols', '>= TLSv1.2')).fix).toContain('>=TLSv1.2');
  });

  it('rejects a list that leaves nothing enabled', () => {
    expect(errorOf(() => parseProtocols('x', 'TLSv1.2, >=TLSv1.3')).problem).toMatch(/no protocol/);
  });

  it('reports legacy protocols, SSLv2 only when named', () => {
    expect(legacyProtocolsAllowed(parseProtocols('x', '!SSLv2, !SSLv3'))).toEqual(['TLSv1', 'TLSv1.1']);
    expect(legacyProtocolsAllowed(parseProtocols('x', '!SSLv3'))).toEqual(['TLSv1', 'TLSv1.1']);
    expect(legacyProtocolsAllowed(parseProtocols('x', 'SSLv2, TLSv1.2'))).toEqual(['SSLv2']);
    expect(legacyProtocolsAllowed(parseProtocols('x', '>=TLSv1.2'))).toEqual([]);
  });
});

describe('profiles', () => {
  it('intermediate follows guideline 6.0 with Postfix 3.6+ syntax', () => {
    const p = profileParameters('intermediate', { chainFiles: ['/etc/ssl/private/mx1.pem'] });
    expect(p).toMatchObject({
      smtpd_tls_security_level: 'may',
      smtp_tls_security_level: 'may',
      smtpd_tls_protocols: '>=TLSv1.2',
      smtpd_tls_mandatory_protocols: '>=TLSv1.2',
      smtp_tls_protocols: '>=TLSv1.2',
      smtp_tls_mandatory_protocols: '>=TLSv1.2',
      smtpd_tls_mandatory_ciphers: 'medium',
      tls_medium_cipherlist: INTERMEDIATE_CIPHERS.join(':'),
      tls_preempt_cipherlist: 'no',
      smtpd_tls_chain_files: '/etc/ssl/private/mx1.pem',
      smtp_tls_session_cache_database: 'btree:${data_directory}/smtp_scache',
    });
    expect(p.tls_medium_cipherlist).not.toMatch(/(^|:)DHE-/);
    expect(p).not.toHaveProperty('tls_ffdhe_auto_groups'); // Postfix 3.8+ only
    expect(p.tls_eecdh_auto_curves).not.toMatch(/MLKEM/); // OpenSSL 3.0 lacks it
  });

  it('modern is TLS 1.3 only and leaves TLS 1.3 suites to OpenSSL', () => {
    const p = profileParameters('modern');
    expect(p.smtpd_tls_protocols).toBe('>=TLSv1.3');
    expect(p).not.toHaveProperty('tls_medium_cipherlist');
  });

  it('legacyOldClients allows TLS 1.0 with SECLEVEL=0, and the lint still says so', () => {
    const p = profileParameters('legacyOldClients', { chainFiles: ['/etc/x.pem'] });
    expect(p.smtpd_tls_protocols).toBe('>=TLSv1');
    expect(p.tls_medium_cipherlist).toMatch(/@SECLEVEL=0$/);
    expect(lintTls(p, []).map((f) => f.rule)).toContain('tls-legacy-protocols');
  });

  it('intermediate and modern profiles lint clean', () => {
    for (const name of ['intermediate', 'modern'] as const) {
      const p = profileParameters(name, { chainFiles: ['/etc/ssl/private/mx1.pem'] });
      const services = [{ name: 'submission', type: 'inet' as const, command: 'smtpd', options: { smtpd_tls_security_level: 'encrypt' } }];
      expect(lintTls(p, services)).toEqual([]);
    }
  });

  it('every profile parameter is known to Postfix 3.7 (postconf -d)', () => {
    const known = new Set(
      execFileSync('postconf', ['-d'], { encoding: 'utf8' })
        .split('\n')
        .map((l) => l.split(' =')[0]),
    );
    for (const name of ['intermediate', 'modern', 'legacyOldClients'] as const) {
      const p = profileParameters(name, {
        chainFiles: ['/x.pem'],
        serverCAfile: '/a',
        clientCAfile: '/b',
        clientCApath: '/c',
        serverCApath: '/d',
      });
      for (const k of Object.keys(p)) expect([k, known.has(k)]).toEqual([k, true]);
    }
  });

  it('unknown profile names are a clear error', () => {
    const e = errorOf(() => assertProfileName('mx1', 'old'));
    expect(e.field).toBe('profile');
    expect(e.value).toBe('old');
    expect(e.fix).toMatch(/intermediate/);
  });

  it('submission gets encrypt; port 25 stays may', () => {
    expect(
      serviceOverrides([
        { name: 'smtp', type: 'inet', command: 'smtpd' },
        { name: 'submission', type: 'inet', command: 'smtpd' },
        { name: 'submissions', type: 'inet', command: 'smtpd', options: { smtpd_tls_wrappermode: 'yes' } },
      ]),
    ).toEqual([{ key: 'submission/inet', name: 'smtpd_tls_security_level', value: 'encrypt' }]);
  });

  it('validates extra parameters', () => {
    expect(() => validateTlsParameters({ smtpd_tls_protocols: '>=TLSv1.2' })).not.toThrow();
    expect(errorOf(() => validateTlsParameters({ smtp_tls_protocols: '>TLSv1.2' })).field).toBe('smtp_tls_protocols');
    expect(errorOf(() => validateTlsParameters({ smtpd_tls_ciphers: 'strong' })).field).toBe('smtpd_tls_ciphers');
  });
});

describe('certificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-test-'));
  const a = makeCert(dir, 'a');
  const b = makeCert(dir, 'b');

  it('content becomes one 0600 chain file, key first', () => {
    const plan = planCertificates([{ privateKeyPem: a.key, certificatePem: a.cert }], '/etc/postfix');
    expect(plan.chainFiles).toEqual(['/etc/postfix/tls/server.pem']);
    expect(plan.uploads[0].mode).toBe('0600');
    expect(plan.uploads[0].content.indexOf('PRIVATE KEY')).toBeLessThan(plan.uploads[0].content.indexOf('BEGIN CERTIFICATE'));
  });

  it('paths: chain file, or key then cert', () => {
    expect(
      planCertificates([{ chainFile: '/etc/ssl/private/mx1.pem' }, { keyFile: '/k.key', certFile: '/c.crt' }], '/etc/postfix').chainFiles,
    ).toEqual(['/etc/ssl/private/mx1.pem', '/k.key', '/c.crt']);
  });

  it('a key file given as a certificate is an error naming the field', () => {
    const e = errorOf(() => planCertificates([{ chainFile: '/etc/ssl/private/mx1.key' }], '/etc/postfix'));
    expect(e.field).toBe('certificates[0].chainFile');
    expect(e.value).toBe('/etc/ssl/private/mx1.key');
    expect(errorOf(() => checkHostPath('certFile', '/x/mx1.key', 'certificate')).problem).toMatch(/private key/);
    expect(errorOf(() => checkHostPath('keyFile', '/x/mx1.crt', 'key')).problem).toMatch(/certificate/);
    expect(errorOf(() => checkHostPath('chainFile', 'relative.pem', 'chain')).problem).toMatch(/absolute/);
  });

  it('PRIVATE KEY content given as the certificate is an error, without echoing the key', () => {
    const e = errorOf(() => checkKeyAndCertificate('certificates[0]', a.key, a.key));
    expect(e.field).toBe('certificates[0].certificatePem');
    expect(e.message).not.toContain(a.key.split('\n')[1]);
  });

  it('mismatched key and certificate is an error', () => {
    const e = errorOf(() => checkKeyAndCertificate('certificates[0]', b.key, a.cert));
    expect(e.field).toBe('certificates[0].privateKeyPem');
    expect(e.problem).toMatch(/does not belong/);
  });

  it('Terraform tokens are not checked', () => {
    expect(() => checkKeyAndCertificate('c', '${TfToken[TOKEN.1]}', '${TfToken[TOKEN.2]}')).not.toThrow();
    expect(() => checkKeyAndCertificate('c', a.key, 'x', (v) => v === 'x')).not.toThrow();
  });

  it('encrypted keys are refused', () => {
    const enc = execFileSync('openssl', ['pkey', '-aes256', '-passout', 'pass:x'], { input: a.key, encoding: 'utf8' });
    expect(errorOf(() => checkKeyAndCertificate('c', enc, a.cert)).problem).toMatch(/passphrase/);
  });
});
