/** The relay check at synth time, through PostfixHost (validateHostState runs as a construct validation). */
import { Testing, TerraformStack } from 'cdktf';
import { PostfixHost, Submission } from '../../index';
import { AccessTable } from '../../constructs/access-table';
import { MailHostStack } from '../../examples/mail-host/main';
import { validateHostState } from '../../lib/model/validate-host';

function newHost(settings: Record<string, string> = {}) {
  const stack = new TerraformStack(Testing.app(), 'test');
  return new PostfixHost(stack, 'mx', { connection: { host: '192.0.2.10', privateKeyPath: '/k', knownHostsPath: '/kh' }, settings });
}

describe('relay safety at synth', () => {
  it('examples/mail-host passes', () => {
    const stack = new MailHostStack(Testing.app(), 'mail', { env: {} });
    expect(() => validateHostState(stack.host.state.snapshot())).not.toThrow();
  });

  it('a submission -o override that relays for anyone fails synth, naming host, service, parameter and value', () => {
    const host = newHost();
    host.addService(Submission.starttls({ options: { smtpd_relay_restrictions: 'permit_mynetworks,permit' } }));
    expect(() => validateHostState(host.state.snapshot())).toThrow(
      /^test\/mx: service submission\/inet smtpd_relay_restrictions = "permit_mynetworks,permit": an unauthenticated client outside mynetworks could relay.*Fix: end smtpd_relay_restrictions with reject_unauth_destination/,
    );
  });

  it('port 25 is checked even when the stack does not define it', () => {
    expect(() => validateHostState(newHost({ smtpd_relay_restrictions: 'permit, reject_unauth_destination' }).state.snapshot())).toThrow(
      /service smtp\/inet smtpd_relay_restrictions/,
    );
  });

  it('mynetworks = 0.0.0.0/0 and 10.0.0.0/33 fail synth', () => {
    expect(() => validateHostState(newHost({ mynetworks: '0.0.0.0/0' }).state.snapshot())).toThrow(
      /mynetworks = "0\.0\.0\.0\/0": "0\.0\.0\.0\/0" covers all of all IPv4 addresses/,
    );
    expect(() => validateHostState(newHost({ mynetworks: '10.0.0.0/33' }).state.snapshot())).toThrow(/prefix length \/33/);
  });

  it('a recipient table placed first is read from the bundle: rejecting entries pass, an OK entry fails', () => {
    const relay = { smtpd_relay_restrictions: '', smtpd_recipient_restrictions: 'permit_mynetworks, reject_unauth_destination' };
    const safe = newHost(relay);
    new AccessTable(safe, 'rcpt', { entries: { 'a@b.example': 'REJECT' } }).restrictRecipients();
    expect(() => validateHostState(safe.state.snapshot())).not.toThrow();
    const open = newHost({
      ...relay,
      smtpd_recipient_restrictions: 'check_recipient_access hash:/etc/postfix/hand, permit_mynetworks, reject_unauth_destination',
    });
    expect(() => validateHostState(open.state.snapshot())).toThrow(/hash:\/etc\/postfix\/hand can answer OK/);
  });
});
