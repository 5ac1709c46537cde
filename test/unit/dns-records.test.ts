/** Exact text of MX, SPF, DMARC, MTA-STS and TLSRPT records, TXT chunking, and each validation. */
import {
  dmarcRecord,
  dmarcReportAuthorization,
  mtaSts,
  mtaStsPatternMatches,
  mxRecord,
  spfRecord,
  splitTxt,
  tlsRptRecord,
  txtRecord,
  zoneLine,
  zoneText,
} from '../../lib/model/dns';
import { createHash } from 'node:crypto';

describe('MX', () => {
  test('exact text with default preference and TTL', () => {
    const { record } = mxRecord({ domain: 'Example.org.', host: 'mx1.example.org' });
    expect(record).toEqual({
      type: 'MX',
      purpose: 'mx',
      name: 'example.org',
      ttl: 3600,
      preference: 10,
      exchange: 'mx1.example.org',
      value: '10 mx1.example.org.',
      deferred: false,
    });
    expect(zoneLine(record)).toBe('example.org. 3600 IN MX 10 mx1.example.org.');
  });
  test('a deferred host passes through', () => {
    expect(mxRecord({ domain: 'example.org', host: '${TfToken[TOKEN.1]}', preference: 20 }).record).toMatchObject({
      value: '20 ${TfToken[TOKEN.1]}.',
      deferred: true,
    });
  });
  test('bad preference, host, TTL are refused', () => {
    expect(() => mxRecord({ domain: 'example.org', host: 'mx1.example.org', preference: 70000 })).toThrow(
      /mx\.preference = "70000": is not a whole number from 0 to 65535/,
    );
    expect(() => mxRecord({ domain: 'example.org', host: 'mx_1.example.org' })).toThrow(
      /mx\.host = "mx_1\.example\.org": is not a fully qualified domain name.*Fix:/,
    );
    expect(() => mxRecord({ domain: 'example.org', host: 'mx1.example.org', ttl: -1 })).toThrow(/mx\.ttl = "-1": .*RFC 2181/);
    expect(() => mxRecord({ domain: 'a'.repeat(64) + '.org', host: 'mx1.example.org' })).toThrow(/mx\.domain/);
  });
});

describe('SPF', () => {
  test('exact text from mechanisms in fixed order, with the lookup count', () => {
    const { record, warnings } = spfRecord({
      domain: 'example.org',
      a: ['mx1.example.org'],
      ip4: ['192.0.2.10', '198.51.100.0/24'],
      ip6: ['2001:db8::25'],
    });
    expect(record.name).toBe('example.org');
    expect(record.value).toBe('v=spf1 mx a:mx1.example.org ip4:192.0.2.10 ip4:198.51.100.0/24 ip6:2001:db8::25 -all');
    expect(record.chunks).toEqual([record.value]);
    expect(record.dnsLookups).toBe(2);
    expect(warnings).toEqual([]);
  });
  test('mx off, ~all, includes and raw mechanisms (cidr, macros) are accepted', () => {
    const { record, warnings } = spfRecord({
      domain: 'example.org',
      mx: false,
      include: ['_spf.provider.example'],
      mechanisms: ['a/24//64', '?exists:%{i}._spf.example.org', '-mx:other.example'],
      all: '~all',
    });
    expect(record.value).toBe('v=spf1 include:_spf.provider.example a/24//64 ?exists:%{i}._spf.example.org -mx:other.example ~all');
    expect(record.dnsLookups).toBe(4);
    expect(warnings).toEqual([expect.stringMatching(/include:_spf\.provider\.example" adds the lookups/)]);
  });
  test('exactly 10 lookups pass, 11 are refused (RFC 7208 §4.6.4)', () => {
    const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${i}.example.org`);
    expect(spfRecord({ domain: 'example.org', a: hosts(9) }).record.dnsLookups).toBe(10);
    expect(() => spfRecord({ domain: 'example.org', a: hosts(10) })).toThrow(
      /spf\.mechanisms = .*needs 11 DNS lookups.*RFC 7208 §4\.6\.4.*Fix: replace a:, mx and include:/,
    );
  });
  test('ptr is accepted with a warning (RFC 7208 §5.5)', () => {
    expect(spfRecord({ domain: 'example.org', mechanisms: ['ptr'] }).warnings.join()).toMatch(/SHOULD NOT/);
  });
  test('deferred addresses pass through and still count', () => {
    const { record } = spfRecord({ domain: 'example.org', ip4: ['${TfToken[TOKEN.9]}'] });
    expect(record).toMatchObject({ value: 'v=spf1 mx ip4:${TfToken[TOKEN.9]} -all', deferred: true, dnsLookups: 1 });
  });
  test('a long record is split and warned about', () => {
    const ip4 = Array.from({ length: 40 }, (_, i) => `192.0.2.${i}`);
    const { record, warnings } = spfRecord({ domain: 'example.org', ip4 });
    expect(record.chunks.length).toBe(3);
    expect(record.chunks.join('')).toBe(record.value);
    expect(warnings.join()).toMatch(/RFC 7208 §3\.4/);
  });
  test.each([
    ['ip4:300.1.1.1', /spf\.mechanisms\[0\] = "ip4:300\.1\.1\.1": is not an ip4 address.*Fix: write ip4:192\.0\.2\.10/],
    ['ip4:192.0.2.0/33', /is not an ip4 address with an optional \/prefix of 0 to 32/],
    ['ip6:2001:db8::/129', /is not an ip6 address/],
    ['ip6:192.0.2.1', /is not an ip6 address/],
    ['include', /include needs a domain/],
    ['include:bad domain', /"bad domain" is not a domain/],
    ['exists:%{z}.example.org', /is not a domain \(or RFC 7208 §7 macro-expanded domain\)/],
    ['a:', /is not a\[:domain\]/],
    ['ptr/24', /is not ptr\[:domain\]/],
    ['mx/33', /is not mx\[:domain\]/],
    ['all', /`all` must be the last term.*Fix: set the `all` field/],
    ['redirect=_spf.example.org', /is an SPF modifier/],
    ['foo:bar', /"foo" is not an SPF mechanism/],
    ['!mx', /is not an SPF term/],
  ])('refuses the term %s', (term, message) => {
    expect(() => spfRecord({ domain: 'example.org', mechanisms: [term] })).toThrow(message);
  });
  test('names the field a bad term came from', () => {
    expect(() => spfRecord({ domain: 'example.org', ip4: ['192.0.2.1', '192.0.2.999'] })).toThrow(/^spf\.ip4\[1\] = "ip4:192\.0\.2\.999"/);
    expect(() => spfRecord({ domain: 'example.org', a: ['bad_host'] })).toThrow(/^spf\.a\[0\] = "a:bad_host"/);
  });
  test('refuses +all and a bad domain', () => {
    expect(() => spfRecord({ domain: 'example.org', all: '+all' as never })).toThrow(/spf\.all = "\+all": is not -all, ~all or \?all/);
    expect(() => spfRecord({ domain: 'localhost' })).toThrow(/spf\.domain = "localhost"/);
  });
});

describe('DMARC', () => {
  test('exact text with every tag', () => {
    const { record, warnings } = dmarcRecord({
      domain: 'example.org',
      p: 'reject',
      sp: 'quarantine',
      adkim: 's',
      aspf: 'r',
      pct: 50,
      fo: ['1', 'd'],
      ri: 86400,
      rua: ['mailto:dmarc@example.org', 'mailto:agg@reports.example.org!10m'],
      ruf: ['mailto:forensic@example.org'],
    });
    expect(record.name).toBe('_dmarc.example.org');
    expect(record.value).toBe(
      'v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=50; fo=1:d; ri=86400; ' +
        'rua=mailto:dmarc@example.org,mailto:agg@reports.example.org!10m; ruf=mailto:forensic@example.org',
    );
    expect(warnings).toEqual([]);
  });
  test('minimal record, and the warning for p=none without reports', () => {
    const { record, warnings } = dmarcRecord({ domain: 'example.org', p: 'none' });
    expect(record.value).toBe('v=DMARC1; p=none');
    expect(warnings.join()).toMatch(/p=none without rua/);
  });
  test('reports to another domain warn with the authorization record it needs (RFC 7489 §7.1)', () => {
    const { warnings } = dmarcRecord({ domain: 'example.org', p: 'quarantine', rua: ['mailto:dmarc@reports.example.net'] });
    expect(warnings).toEqual([expect.stringContaining('example.org._report._dmarc.reports.example.net TXT "v=DMARC1"')]);
    const auth = dmarcReportAuthorization('example.org', 'reports.example.net');
    expect(zoneLine(auth)).toBe('example.org._report._dmarc.reports.example.net. 3600 IN TXT "v=DMARC1"');
  });
  test.each([
    [{ p: 'block' }, /dmarc\.p = "block": is not a DMARC policy \(RFC 7489 §6\.3 allows none, quarantine, reject\).*Fix:/],
    [{ p: 'reject', sp: 'REJECT' }, /dmarc\.sp = "REJECT": is not a DMARC policy/],
    [{ p: 'reject', pct: 101 }, /dmarc\.pct = "101": is not a whole number from 0 to 100/],
    [{ p: 'reject', pct: 12.5 }, /dmarc\.pct = "12\.5"/],
    [{ p: 'reject', adkim: 'strict' }, /dmarc\.adkim = "strict": is not an alignment mode.*Fix: use r/],
    [{ p: 'reject', aspf: 'x' }, /dmarc\.aspf = "x"/],
    [{ p: 'reject', rua: ['dmarc@example.org'] }, /dmarc\.rua\[0\] = "dmarc@example\.org": is not a report URI.*Fix: use e\.g\. mailto:/],
    [{ p: 'reject', rua: ['mailto:a@example.org,mailto:b@example.org'] }, /dmarc\.rua\[0\].*is not a report URI/],
    [{ p: 'reject', ruf: ['https://example.org/r'] }, /dmarc\.ruf\[0\]/],
    [{ p: 'reject', fo: ['2'] }, /dmarc\.fo = "2": holds an option other than 0, 1, d, s/],
    [{ p: 'reject', ri: 0 }, /dmarc\.ri = "0"/],
  ])('refuses %j', (extra, message) => {
    expect(() => dmarcRecord({ domain: 'example.org', ...(extra as { p: 'none' }) })).toThrow(message);
  });
});

describe('MTA-STS', () => {
  test('exact policy text and a TXT id derived from its hash', () => {
    const sts = mtaSts({ domain: 'example.org', mode: 'enforce', mx: ['mx1.example.org', '*.backup.example.net'], maxAge: 1209600 });
    const policy = 'version: STSv1\nmode: enforce\nmx: mx1.example.org\nmx: *.backup.example.net\nmax_age: 1209600\n';
    expect(sts.policy).toBe(policy);
    const id = createHash('sha256').update(policy).digest('hex').slice(0, 32);
    expect(sts.id).toBe(id);
    expect(sts.record).toMatchObject({ name: '_mta-sts.example.org', value: `v=STSv1; id=${id}` });
    expect(sts.policyUrl).toBe('https://mta-sts.example.org/.well-known/mta-sts.txt');
  });
  test('the id is stable for the same policy and changes with it', () => {
    const a = mtaSts({ domain: 'example.org', mode: 'testing', mx: ['mx1.example.org'] });
    expect(mtaSts({ domain: 'example.org', mode: 'testing', mx: ['mx1.example.org'] }).id).toBe(a.id);
    expect(mtaSts({ domain: 'example.org', mode: 'enforce', mx: ['mx1.example.org'] }).id).not.toBe(a.id);
    expect(a.policy).toContain('max_age: 604800\n');
    expect(a.warnings.join()).toMatch(/testing only reports/);
  });
  test('mode none may omit mx; a given id is kept', () => {
    expect(mtaSts({ domain: 'example.org', mode: 'none', mx: [], id: '20260101T01' }).record.value).toBe('v=STSv1; id=20260101T01');
  });
  test('a deferred mx needs an explicit id', () => {
    expect(() => mtaSts({ domain: 'example.org', mode: 'enforce', mx: ['${TfToken[TOKEN.2]}'] })).toThrow(
      /mtaSts\.id: cannot be derived.*Fix: give an id yourself/,
    );
    expect(mtaSts({ domain: 'example.org', mode: 'enforce', mx: ['${TfToken[TOKEN.2]}'], id: 'v1' }).policy).toContain(
      'mx: ${TfToken[TOKEN.2]}\n',
    );
  });
  test('wildcard patterns match exactly one leftmost label (RFC 8461 §4.1)', () => {
    expect(mtaStsPatternMatches('*.example.org', 'mx1.example.org')).toBe(true);
    expect(mtaStsPatternMatches('*.example.org', 'a.b.example.org')).toBe(false);
    expect(mtaStsPatternMatches('*.example.org', 'example.org')).toBe(false);
    expect(mtaStsPatternMatches('mx1.example.org', 'MX1.example.org.')).toBe(true);
  });
  test.each([
    [{ mode: 'strict' }, /mtaSts\.mode = "strict": is not an MTA-STS mode \(RFC 8461 §3\.2 allows enforce, testing, none\)/],
    [{ maxAge: 31557601 }, /mtaSts\.maxAge = "31557601": is not a whole number from 0 to 31557600.*RFC 8461 §3\.2/],
    [{ maxAge: -5 }, /mtaSts\.maxAge = "-5"/],
    [{ mx: [] }, /mtaSts\.mx = "": is empty, so mode enforce would forbid every MX/],
    [{ mx: ['mx1.*.example.org'] }, /mtaSts\.mx\[0\] = "mx1\.\*\.example\.org"/],
    [{ id: 'has-dash' }, /mtaSts\.id = "has-dash": is not 1 to 32 letters or digits \(RFC 8461 §3\.1\)/],
  ])('refuses %j', (extra, message) => {
    expect(() => mtaSts({ domain: 'example.org', mode: 'enforce', mx: ['mx1.example.org'], ...(extra as object) })).toThrow(message);
  });
});

describe('TLSRPT', () => {
  test('exact text with mailto and https', () => {
    const { record } = tlsRptRecord({ domain: 'example.org', rua: ['mailto:tls@example.org', 'https://reports.example.org/tlsrpt'] });
    expect(zoneLine(record)).toBe(
      '_smtp._tls.example.org. 3600 IN TXT "v=TLSRPTv1; rua=mailto:tls@example.org,https://reports.example.org/tlsrpt"',
    );
  });
  test('refuses an empty list and a bad URI', () => {
    expect(() => tlsRptRecord({ domain: 'example.org', rua: [] })).toThrow(/tlsRpt\.rua = "": is empty/);
    expect(() => tlsRptRecord({ domain: 'example.org', rua: ['ftp://x.example.org'] })).toThrow(
      /tlsRpt\.rua\[0\] = "ftp:\/\/x\.example\.org": is not a report URI/,
    );
    expect(() => tlsRptRecord({ domain: 'example.org', rua: ['mailto:tls@example.org!10m'] })).toThrow(/tlsRpt\.rua\[0\]/);
  });
});

describe('TXT chunks and zone text', () => {
  test('splits at 255 octets, never inside a UTF-8 character', () => {
    expect(splitTxt('a'.repeat(510)).map((c) => c.length)).toEqual([255, 255]);
    expect(splitTxt('a'.repeat(511)).map((c) => c.length)).toEqual([255, 255, 1]);
    const chunks = splitTxt('a'.repeat(254) + 'é' + 'b');
    expect(chunks).toEqual(['a'.repeat(254), 'éb']);
    expect(splitTxt('')).toEqual(['']);
  });
  test('quotes and escapes chunks in zone lines', () => {
    const record = txtRecord('spf', 'example.org', 60, 'say "hi" \\ bye');
    expect(zoneText([record])).toBe('example.org. 60 IN TXT "say \\"hi\\" \\\\ bye"\n');
  });
});
