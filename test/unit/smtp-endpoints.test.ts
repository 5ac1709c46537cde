/**
 * Issue 13 item 3: a host's SMTP endpoints from its composed state (lib/host/endpoints.ts), through
 * the HostBuilder: port 25 from the stock master.cf, submission/submissions services, postscreen,
 * listen addresses, and the TLS mode as Postfix decides it (postconf(5), master(5)).
 */
import { HostBuilder, smtpEndpoints } from '../../lib/host';
import { SmtpServiceKind, SmtpTlsMode } from '../../lib/host/vocabulary';
import { planPostscreen } from '../../lib/host/postscreen';

const builder = () => new HostBuilder({ where: 'mail/mx1' });
const submission = {
  name: 'submission',
  type: 'inet' as const,
  private: false,
  command: 'smtpd',
  options: { smtpd_tls_security_level: 'encrypt' },
};
const submissions = {
  name: 'submissions',
  type: 'inet' as const,
  private: false,
  command: 'smtpd',
  options: { smtpd_tls_wrappermode: 'yes', smtpd_tls_security_level: 'encrypt' },
};

describe('smtpEndpoints', () => {
  test('a host that leaves master.cf alone has port 25, its TLS left to the host', () => {
    expect(builder().smtpEndpoints('192.0.2.10')).toEqual([
      { kind: SmtpServiceKind.SMTP, address: '192.0.2.10', port: 25, tls: SmtpTlsMode.HOST, service: 'smtp/inet' },
    ]);
  });

  test('submission and submissions services, myhostname and the main.cf TLS level', () => {
    const b = builder()
      .applySettings({ myhostname: 'mx1.example.org', smtpd_tls_security_level: 'may' })
      .addService(submissions)
      .addService(submission);
    expect(b.smtpEndpoints('mx1.example.org')).toEqual([
      { kind: 'smtp', address: 'mx1.example.org', hostname: 'mx1.example.org', port: 25, tls: 'starttls', service: 'smtp/inet' },
      {
        kind: 'submissions',
        address: 'mx1.example.org',
        hostname: 'mx1.example.org',
        port: 465,
        tls: 'implicit',
        service: 'submissions/inet',
      },
      {
        kind: 'submission',
        address: 'mx1.example.org',
        hostname: 'mx1.example.org',
        port: 587,
        tls: 'starttls-required',
        service: 'submission/inet',
      },
    ]);
  });

  test('a requireTlsOnSubmission override reaches the endpoint (composition runs first)', () => {
    const b = builder()
      .applySettings({ smtpd_tls_security_level: 'none' })
      .requireTlsOnSubmission('tls')
      .addService({ ...submission, options: {} });
    expect(b.smtpEndpoints('a').map((e) => [e.port, e.tls])).toEqual([
      [25, 'none'],
      [587, 'starttls-required'],
    ]);
  });

  test('postscreen on port 25 is still the smtp endpoint; smtpd/pass behind it is not one', () => {
    const b = builder().applySettings({ smtpd_tls_security_level: 'may' });
    for (const s of planPostscreen('mail/mx1', {}).services) b.addService(s);
    expect(b.smtpEndpoints('a')).toEqual([{ kind: 'smtp', address: 'a', port: 25, tls: 'starttls', service: 'smtp/inet' }]);
  });

  test('a removed smtp service, a loopback re-injection port and a non-SMTP inet service are no endpoints; a listen address wins', () => {
    const b = builder()
      .removeService('smtp/inet')
      .addService({ name: '127.0.0.1:10025', type: 'inet', command: 'smtpd' })
      .addService({ name: '[::1]:10026', type: 'inet', command: 'smtpd' })
      .addService({ name: '2525', type: 'inet', command: 'spawn' })
      .addService({ name: '198.51.100.4:2525', type: 'inet', command: 'smtpd', options: { smtpd_tls_security_level: 'may' } });
    expect(b.smtpEndpoints('192.0.2.10')).toEqual([
      { kind: 'smtp', address: '198.51.100.4', port: 2525, tls: 'starttls', service: '198.51.100.4:2525/inet' },
    ]);
  });

  test('obsolete smtpd_enforce_tls / smtpd_use_tls decide when the level is empty, as in Postfix', () => {
    const tls = (parameters: Record<string, string>) =>
      smtpEndpoints({ address: 'a', parameters, services: [], removedServices: [], isUnresolved: () => false })[0].tls;
    expect(tls({ smtpd_use_tls: 'yes' })).toBe('starttls');
    expect(tls({ smtpd_enforce_tls: 'yes', smtpd_use_tls: 'yes' })).toBe('starttls-required');
    expect(tls({ smtpd_tls_security_level: '', smtpd_use_tls: 'no' })).toBe('none');
    expect(tls({ smtpd_tls_security_level: 'may', smtpd_enforce_tls: 'yes' })).toBe('starttls');
  });

  test('deploy-time values: the address passes through, a token TLS level or myhostname is not guessed', () => {
    const token = '${TfToken[TOKEN.1]}';
    const isUnresolved = (v: unknown) => v === token;
    const [e] = smtpEndpoints({
      address: token,
      parameters: { myhostname: token, smtpd_tls_security_level: token },
      services: [],
      removedServices: [],
      isUnresolved,
    });
    expect(e).toEqual({ kind: 'smtp', address: token, port: 25, tls: 'host', service: 'smtp/inet' });
  });
});
