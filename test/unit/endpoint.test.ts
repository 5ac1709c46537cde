import { formatEndpoint, parseEndpoint, parsePort, parsePortNumber, WELL_KNOWN_PORTS } from '../../lib/model/endpoint';
import { validatePort } from '../../lib/model/connection';
import { caught } from '../helpers/caught';

const at = { field: '--host' };

describe('endpoint parsing: the forms', () => {
  it('host names, with and without port', () => {
    expect(parseEndpoint('mx1.example.org', at)).toEqual({ host: 'mx1.example.org' });
    expect(parseEndpoint('mx1.example.org:2222', at)).toEqual({ host: 'mx1.example.org', port: 2222 });
    expect(parseEndpoint('mail_alias', at)).toEqual({ host: 'mail_alias' }); // ~/.ssh/config Host alias
    expect(parseEndpoint('  mx1:22  ', at)).toEqual({ host: 'mx1', port: 22 });
  });

  it('IPv4 with and without port', () => {
    expect(parseEndpoint('192.0.2.1', at)).toEqual({ host: '192.0.2.1' });
    expect(parseEndpoint('127.0.0.20:2222', at)).toEqual({ host: '127.0.0.20', port: 2222 });
  });

  it('IPv6: bracketed with port, bracketed without, plain without', () => {
    expect(parseEndpoint('[2001:db8::1]:2222', at)).toEqual({ host: '2001:db8::1', port: 2222 });
    expect(parseEndpoint('[2001:db8::1]', at)).toEqual({ host: '2001:db8::1' });
    expect(parseEndpoint('2001:db8::1', at)).toEqual({ host: '2001:db8::1' });
    expect(parseEndpoint('::1', at)).toEqual({ host: '::1' });
  });

  it('default ports apply only when the text names none', () => {
    expect(parseEndpoint('mx1', { ...at, defaultPort: 25 })).toEqual({ host: 'mx1', port: 25 });
    expect(parseEndpoint('2001:db8::1', { ...at, defaultPort: 25 })).toEqual({ host: '2001:db8::1', port: 25 });
    expect(parseEndpoint('mx1:465', { ...at, defaultPort: 25 })).toEqual({ host: 'mx1', port: 465 });
  });

  it('well-known service names', () => {
    expect(parseEndpoint('mx1:smtp', at).port).toBe(25);
    expect(parseEndpoint('mx1:submission', at).port).toBe(587);
    expect(parseEndpoint('[::1]:submissions', at).port).toBe(465);
    expect(parseEndpoint('mx1:SMTPS', at).port).toBe(465);
    expect(WELL_KNOWN_PORTS).toEqual({ smtp: 25, submission: 587, submissions: 465, smtps: 465 });
    expect(parsePort('submission', 'ports')).toBe(587);
    expect(parsePort(2525, 'ports')).toBe(2525);
  });

  it('formatEndpoint writes what parseEndpoint reads back', () => {
    for (const [host, port] of [
      ['mx1.example.org', 25],
      ['192.0.2.1', 587],
      ['2001:db8::1', 465],
    ] as const) {
      expect(parseEndpoint(formatEndpoint(host, port), at)).toEqual({ host, port });
    }
    expect(formatEndpoint('2001:db8::1', 465)).toBe('[2001:db8::1]:465');
  });
});

describe('endpoint parsing: bad input names field, value and fix', () => {
  it.each([
    ['mx1:0', /not a TCP port/],
    ['mx1:65536', /not a TCP port/],
    ['mx1:', /not a TCP port/],
    ['mx1:22x', /not a TCP port/],
    ['mx1:imap', /not a TCP port/],
    ['mx1:-1', /not a TCP port/],
  ])('port in %s', (text, problem) => {
    const e = caught(() => parseEndpoint(text, at));
    expect(e.field).toBe('--host');
    expect(e.value).toBe(text);
    expect(e.message).toMatch(problem);
    expect(e.fix).toMatch(/1 to 65535 or one of smtp, submission, submissions, smtps/);
  });

  it.each([
    ['', /names no host/],
    [':22', /names no host/],
    ['-oProxyCommand=x', /is not a host name/], // never option-like: the host is an argv value
    ['-connect:25', /is not a host name/],
    ['mx 1', /is not a host name/],
    ['mx1/x:22', /is not a host name/],
    ['[mx1]:22', /in brackets is not an IPv6 address/],
    ['[192.0.2.1]:22', /in brackets is not an IPv6 address/],
    ['[2001:db8::1', /several colons/],
    ['2001:db8::1:2222x', /several colons/],
    ['mx1:22:33', /several colons/],
  ])('host in %j', (text, problem) => {
    const e = caught(() => parseEndpoint(text, { field: 'tls-check target', where: 'mx1' }));
    expect(e.where).toBe('mx1');
    expect(e.field).toBe('tls-check target');
    expect(e.value).toBe(text);
    expect(e.message).toMatch(problem);
    expect(e.fix).toMatch(/e\.g\./);
  });

  it('several colons: the fix says to use brackets', () => {
    expect(caught(() => parseEndpoint('2001:db8::1:2222x', at)).fix).toMatch(/\[2001:db8::1\]:2222/);
  });

  it('a required port that is missing', () => {
    const e = caught(() => parseEndpoint('mx1.example.org', { field: '<host:port>', requirePort: true, example: 'mx1.example.org:25' }));
    expect(e.message).toBe('<host:port> = "mx1.example.org": names no port. Fix: add the port, e.g. mx1.example.org:25');
    expect(() => parseEndpoint('[2001:db8::1]', { field: 'x', requirePort: true })).toThrow(/names no port/);
  });

  it('SSH ports are numbers only (connection.port)', () => {
    expect(parsePortNumber('2222', 'connection.port')).toBe(2222);
    const e = caught(() => validatePort('mail/mx1', 'connection.port', 'smtp'));
    expect(e.message).toBe('mail/mx1: connection.port = "smtp": not a TCP port. Fix: use a whole number from 1 to 65535');
    expect(() => validatePort('', 'connection.port', 0)).toThrow(/not a TCP port/);
    expect(() => validatePort('', 'connection.port', 2.5)).toThrow(/not a TCP port/);
    expect(() => validatePort('', 'connection.port', '0x16')).toThrow(/not a TCP port/);
    expect(() => validatePort('', 'connection.port', 22)).not.toThrow();
  });
});
