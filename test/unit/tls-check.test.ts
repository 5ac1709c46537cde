import { defaultMode, exitCodeFor, forwardSecret, parseBriefOutput, parseTempKey } from '../../lib/probe/tls-check';

describe('tls-check parsing', () => {
  it('reads s_client -brief output (OpenSSL 3.0)', () => {
    const facts = parseBriefOutput([
      'CONNECTION ESTABLISHED', 'Protocol version: TLSv1.3', 'Ciphersuite: TLS_AES_256_GCM_SHA384',
      'Peer certificate: CN = test', 'Verification error: self-signed certificate', 'Server Temp Key: X25519, 253 bits', 'DONE',
    ].join('\n'));
    expect(facts).toEqual({ established: true, protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384',
      keyExchange: { group: 'X25519', bits: 253 }, verifyError: 'self-signed certificate', verified: false });
    expect(parseBriefOutput('CONNECTION ESTABLISHED\nVerification: OK\nPeer Temp Key: ECDH, prime256v1, 256 bits').verified).toBe(true);
    expect(parseBriefOutput('error:0A000102:SSL routines::unsupported protocol').established).toBe(false);
  });

  it('temp keys', () => {
    expect(parseTempKey('ECDH, prime256v1, 256 bits')).toEqual({ group: 'prime256v1', bits: 256 });
    expect(parseTempKey('DH, 2048 bits')).toEqual({ group: 'DH', bits: 2048 });
    expect(parseTempKey('nonsense')).toBeUndefined();
  });

  it('forward secrecy', () => {
    expect(forwardSecret('TLSv1.3', 'TLS_AES_128_GCM_SHA256')).toBe(true);
    expect(forwardSecret('TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256')).toBe(true);
    expect(forwardSecret('TLSv1.2', 'DHE-RSA-AES128-GCM-SHA256')).toBe(true);
    expect(forwardSecret('TLSv1.2', 'AES128-GCM-SHA256')).toBe(false);
  });

  it('targets and modes', () => {
    expect([defaultMode(25), defaultMode(587), defaultMode(465), defaultMode(10465)]).toEqual(['starttls', 'starttls', 'implicit', 'implicit']);
  });

  it('exit codes', () => {
    const base = { target: { host: 'h', port: 1, mode: 'implicit' as const }, policy: { minProtocol: 'TLSv1.2' as const }, probes: [], warnings: [] };
    expect(exitCodeFor({ ...base, connected: false, violations: [], ok: false })).toBe(2);
    expect(exitCodeFor({ ...base, connected: true, violations: ['x'], ok: false })).toBe(1);
    expect(exitCodeFor({ ...base, connected: true, violations: [], ok: true })).toBe(0);
  });
});
