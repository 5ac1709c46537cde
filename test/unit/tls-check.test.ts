import { defaultEhloName, defaultMode, exitCodeFor, forwardSecret, isEhloName } from '../../lib/probe/tls-check';

describe('tls-check decisions', () => {
  it('forward secrecy: every TLS 1.3 session, and TLS 1.2 only with an (EC)DHE key exchange', () => {
    expect(forwardSecret('TLSv1.3', 'TLS_AES_128_GCM_SHA256')).toBe(true);
    expect(forwardSecret('TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256')).toBe(true);
    expect(forwardSecret('TLSv1.2', 'DHE-RSA-AES128-GCM-SHA256')).toBe(true);
    expect(forwardSecret('TLSv1.2', 'AES128-GCM-SHA256')).toBe(false);
    expect(forwardSecret(undefined, undefined)).toBe(false);
  });

  it('targets and modes', () => {
    expect([defaultMode(25), defaultMode(587), defaultMode(465), defaultMode(10465)]).toEqual([
      'starttls',
      'starttls',
      'implicit',
      'implicit',
    ]);
  });

  it("EHLO name: this machine's name when it is a dotted DNS name, else localhost", () => {
    expect(defaultEhloName('mx1.example.org')).toBe('mx1.example.org');
    expect(defaultEhloName('buildbox')).toBe('localhost');
    expect(defaultEhloName('bad name.example')).toBe('localhost');
    expect(defaultEhloName('a.b\r\nRCPT')).toBe('localhost');
  });

  it('an EHLO name is a domain or an address literal, nothing that could carry another SMTP command', () => {
    for (const ok of ['mx1.example.org', 'localhost', '[192.0.2.1]', '[IPv6:2001:db8::1]']) expect(isEhloName(ok)).toBe(true);
    for (const bad of ['', 'a b', 'a.example\r\nRCPT TO:<x@y>', '-x', '192.0.2.1]', '.example']) expect(isEhloName(bad)).toBe(false);
  });

  it('exit codes', () => {
    const base = {
      target: { host: 'h', port: 1, mode: 'implicit' as const },
      policy: { minProtocol: 'TLSv1.2' as const },
      probes: [],
      warnings: [],
    };
    expect(exitCodeFor({ ...base, connected: false, violations: [], ok: false })).toBe(2);
    expect(exitCodeFor({ ...base, connected: true, violations: ['x'], ok: false })).toBe(1);
    expect(exitCodeFor({ ...base, connected: true, violations: [], ok: true })).toBe(0);
  });
});
