/**
 * The core builder without cdktf: pieces that act on other pieces are resolved when the host is
 * composed, and bad combinations are reported then (or at once, when the outcome is already decided).
 */
import { HostBuilder } from '../../lib/host';
import { PostfixConfigError } from '../../lib/model/errors';

const host = () => new HostBuilder({ where: 'mail/mx' });

describe('HostBuilder', () => {
  it('places a recipient check on the list the settings give, whichever comes first', () => {
    const b = host();
    b.restrict(b.addAccessTable('vip', { entries: { 'ceo@example.org': 'OK' } }, 'mail/mx/vip'), 'recipient');
    b.applySettings({ smtpd_relay_restrictions: '', smtpd_recipient_restrictions: 'permit_mynetworks, reject_unauth_destination' });
    expect(b.getParameter('smtpd_recipient_restrictions')).toBe(
      'permit_mynetworks, reject_unauth_destination, check_recipient_access hash:/etc/postfix/vip',
    );
  });

  it('an open relay that only the whole host reveals is refused when composed, naming the table', () => {
    const b = host();
    b.restrict(b.addAccessTable('vip', { entries: { 'ceo@example.org': 'OK' } }, 'mail/mx/vip'), 'recipient');
    b.setParameter('smtpd_relay_restrictions', '');
    expect(() => b.toBundle()).toThrow(
      /^mail\/mx\/vip: smtpd_recipient_restrictions = "check_recipient_access hash:\/etc\/postfix\/vip": .*open relay/,
    );
  });

  it('an open relay already decided is refused at the restrict call', () => {
    const b = host().setParameter('smtpd_relay_restrictions', '');
    const vip = b.addAccessTable('vip', { entries: { 'ceo@example.org': 'OK' } }, 'mail/mx/vip');
    expect(() => b.restrict(vip, 'recipient', 'first')).toThrow(/open relay/);
  });

  it('-o overrides wait for their service; one that never comes is an error at toBundle', () => {
    const b = host().setServiceOption('submission/inet', 'smtpd_sasl_auth_enable', 'yes', 'mail/mx/sasl');
    expect(() => b.toBundle()).toThrow(
      /service submission\/inet: mail\/mx\/sasl sets -o smtpd_sasl_auth_enable on it, but the service is not defined/,
    );
    b.addService({ name: 'submission', type: 'inet', command: 'smtpd' });
    expect(b.toBundle().bundle.masterCf.set['submission/inet']).toBe('submission inet - - - - - smtpd -o smtpd_sasl_auth_enable=yes');
  });

  it('conflicting -o values are reported whichever was added first', () => {
    const b = host().addService({ name: 'submission', type: 'inet', command: 'smtpd', options: { smtpd_tls_security_level: 'may' } });
    b.requireTlsOnSubmission('mail/mx/tls');
    expect(() => b.toBundle()).toThrow(
      /service submission\/inet -o smtpd_tls_security_level = "encrypt": mail\/mx\/tls sets it, but it is already "may"/,
    );
  });

  it('validates the composed state before rendering, and memoizes until the next addition', () => {
    const b = host().setParameter('myhostname', 'mx.example.org');
    const first = b.toBundle();
    expect(b.toBundle()).toBe(first);
    b.setParameter('message_size_limit', 'lots');
    expect(() => b.toBundle()).toThrow(PostfixConfigError);
  });

  it('leaves values the injected predicate calls unresolved unchecked', () => {
    const token = '${TfToken[TOKEN.1]}';
    const isUnresolved = (v: unknown) => v === token;
    expect(() => new HostBuilder({ where: 'mx' }).addTlsPolicy({ chainFiles: [token] })).toThrow(/chainFiles\[0\]/);
    expect(new HostBuilder({ where: 'mx', isUnresolved }).addTlsPolicy({ chainFiles: [token] }).parameters.smtpd_tls_chain_files).toBe(
      token,
    );
  });
});
