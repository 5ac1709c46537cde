/** mailHostDns: every record one host needs, keyed for outputs, with the cross-record checks. */
import { generateDkimKeyPair, mailHostDns, zoneText } from '../../lib/model/dns';

const key = generateDkimKeyPair();
const hash = 'ab'.repeat(32);

describe('mailHostDns', () => {
  test('the full set, in order, with exact values', () => {
    const dns = mailHostDns({
      domain: 'example.org',
      mxHost: 'mx1.example.org',
      ttl: 300,
      spf: { ip4: ['192.0.2.25'] },
      dmarc: { p: 'reject', rua: ['mailto:dmarc@example.org'] },
      dkim: [{ selector: 'mail', publicKeyPem: key.publicKeyPem }],
      tlsa: [{ spkiSha256: hash }],
      mtaSts: { mode: 'enforce' },
      tlsRptRua: ['mailto:tls@example.org'],
    });
    expect(Object.keys(dns.records)).toEqual(['mx', 'spf', 'dmarc', 'dkim-mail', 'tlsa-0', 'mta-sts', 'tlsrpt']);
    const values = Object.fromEntries(Object.entries(dns.records).map(([k, r]) => [k, `${r.name} ${r.type} ${r.value}`]));
    expect(values).toMatchObject({
      mx: 'example.org MX 10 mx1.example.org.',
      spf: 'example.org TXT v=spf1 mx ip4:192.0.2.25 -all',
      dmarc: '_dmarc.example.org TXT v=DMARC1; p=reject; rua=mailto:dmarc@example.org',
      'tlsa-0': `_25._tcp.mx1.example.org TLSA 3 1 1 ${hash}`,
      tlsrpt: '_smtp._tls.example.org TXT v=TLSRPTv1; rua=mailto:tls@example.org',
    });
    expect(values['dkim-mail']).toMatch(/^mail\._domainkey\.example\.org TXT v=DKIM1; k=rsa; p=MIIB/);
    expect(values['mta-sts']).toMatch(/^_mta-sts\.example\.org TXT v=STSv1; id=[0-9a-f]{32}$/);
    expect(dns.mtaStsPolicy).toEqual({
      text: 'version: STSv1\nmode: enforce\nmx: mx1.example.org\nmax_age: 604800\n',
      url: 'https://mta-sts.example.org/.well-known/mta-sts.txt',
    });
    expect(Object.values(dns.records).every((r) => r.ttl === 300)).toBe(true);
    expect(dns.warnings).toEqual([]);
    expect(zoneText(Object.values(dns.records)).split('\n')[0]).toBe('example.org. 300 IN MX 10 mx1.example.org.');
  });

  test('defaults: MX and `v=spf1 mx -all` only', () => {
    const dns = mailHostDns({ domain: 'example.org', mxHost: 'mx1.example.org' });
    expect(Object.values(dns.records).map((r) => r.value)).toEqual(['10 mx1.example.org.', 'v=spf1 mx -all']);
    expect(dns.mtaStsPolicy).toBeUndefined();
  });

  test('a send-only host leaves MX out; DKIM without DMARC warns', () => {
    const dns = mailHostDns({
      domain: 'example.org',
      mxHost: 'out.example.org',
      mx: false,
      spf: { mx: false, a: ['out.example.org'] },
      dkim: [{ selector: 'mail', privateKeyPem: key.privateKeyPem }],
    });
    expect(Object.keys(dns.records)).toEqual(['spf', 'dkim-mail']);
    expect(dns.warnings.join()).toMatch(/no DMARC record/);
  });

  test('DMARC without SPF or DKIM warns', () => {
    expect(
      mailHostDns({
        domain: 'example.org',
        mxHost: 'mx1.example.org',
        spf: false,
        dmarc: { p: 'none', rua: ['mailto:d@example.org'] },
      }).warnings.join(),
    ).toMatch(/no message can pass DMARC/);
  });

  test("an MTA-STS policy that does not admit the host's MX is refused", () => {
    expect(() =>
      mailHostDns({ domain: 'example.org', mxHost: 'mx1.example.org', mtaSts: { mode: 'enforce', mx: ['*.other.example'] } }),
    ).toThrow(/mtaSts\.mx = "\*\.other\.example": does not match this host's MX mx1\.example\.org.*Fix: add "mx1\.example\.org"/);
    expect(
      mailHostDns({ domain: 'example.org', mxHost: 'mx1.example.org', mtaSts: { mode: 'enforce', mx: ['*.example.org'] } }).records[
        'mta-sts'
      ],
    ).toBeDefined();
  });

  test('a selector given twice is refused; bad top-level names and TTL are refused', () => {
    expect(() =>
      mailHostDns({
        domain: 'example.org',
        mxHost: 'mx1.example.org',
        dkim: [
          { selector: 'mail', publicKeyPem: key.publicKeyPem },
          { selector: 'mail', publicKeyPem: key.publicKeyPem },
        ],
      }),
    ).toThrow(/dkim\[1\]\.selector = "mail": appears twice/);
    expect(() => mailHostDns({ domain: 'example org', mxHost: 'mx1.example.org' })).toThrow(/^domain = "example org"/);
    expect(() => mailHostDns({ domain: 'example.org', mxHost: 'mx1' })).toThrow(/^mxHost = "mx1"/);
    expect(() => mailHostDns({ domain: 'example.org', mxHost: 'mx1.example.org', ttl: 1.5 })).toThrow(/^ttl = "1\.5"/);
  });

  test('deferred inputs flow through: host from a token, TLSA hash from a token', () => {
    const dns = mailHostDns({ domain: 'example.org', mxHost: '${TfToken[TOKEN.4]}', tlsa: [{ spkiSha256: '${TfToken[TOKEN.5]}' }] });
    expect(dns.records.mx).toMatchObject({ value: '10 ${TfToken[TOKEN.4]}.', deferred: true });
    expect(dns.records['tlsa-0']).toMatchObject({
      name: '_25._tcp.${TfToken[TOKEN.4]}',
      value: '3 1 1 ${TfToken[TOKEN.5]}',
      deferred: true,
    });
  });
});
