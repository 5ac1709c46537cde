/**
 * Issue 15's bad inputs, one test each, through the constructs a user writes: each is refused at
 * synth with an error naming the construct (its path), the field, the value and the fix. The
 * per-rule tests live beside each module (test/unit/lookup-table, test/synth/smarthost, dns...).
 */
import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { Aliases, DkimSigning, LookupTable, MailDnsRecords, PostfixHost, Presets, SmartHostRelay } from '../../index';
import { PostfixConfigError } from '../../lib/model/errors';
import { caught } from '../helpers/caught';

const connection = { host: '192.0.2.10', privateKeyPath: '/keys/id', knownHostsPath: '/keys/kh' };

function hostIn(): { stack: TerraformStack; host: PostfixHost } {
  const stack = new TerraformStack(Testing.app(), 'test');
  return { stack, host: new PostfixHost(stack, 'mx', { connection, settings: { myhostname: 'mx.example.org' } }) };
}

function password(stack: TerraformStack): string {
  return new TerraformVariable(stack, 'pw', { type: 'string', sensitive: true }).stringValue;
}

/** The four facts, and the message that carries them: `<path>: <field> = "<value>": <problem>. Fix: <fix>`. */
function expectFacts(e: PostfixConfigError, where: string, field: string | RegExp, value: string, fix: RegExp): void {
  expect(e.where).toBe(where);
  expect(e.field).toMatch(field);
  expect(e.value).toBe(value);
  expect(e.fix).toMatch(fix);
  expect(e.message.startsWith(`${where}: ${e.field} = ${JSON.stringify(value)}: `)).toBe(true);
  expect(e.message).toContain(`. Fix: ${e.fix}`);
}

describe('issue 15 bad input', () => {
  test('a bad table key: a transport(5) key of the wrong form', () => {
    const { host } = hostIn();
    const e = caught(() => LookupTable.transport(host, 'transport', { entries: [{ key: 'user@', value: 'relay:[r.example.org]' }] }));
    expectFacts(e, 'test/mx/transport', 'entries["user@"]', 'user@', /address, domain, \.domain, \*/);
  });

  test('a relayhost without brackets where MX lookup is not wanted', () => {
    const { stack, host } = hostIn();
    const e = caught(
      () => new SmartHostRelay(host, 'relay', { relayhost: 'smtp.example.net:587', username: 'u', password: password(stack) }),
    );
    expectFacts(e, 'test/mx/relay', 'relayhost', 'smtp.example.net:587', /write \[smtp\.example\.net\]:587 .*mxLookup: true/);
  });

  test('a DKIM selector with a dot', () => {
    const { host } = hostIn();
    const e = caught(() => new DkimSigning(host, 'dkim', { domain: 'example.org', selector: 'my.selector' }));
    expectFacts(e, 'test/mx/dkim', /selector$/, 'my.selector', /one label .*"my-selector"/);
  });

  test('a DMARC policy outside none/quarantine/reject', () => {
    const { host } = hostIn();
    const e = caught(() => new MailDnsRecords(host, 'dns', { domain: 'example.org', mxHost: 'mx.example.org', dmarc: { p: 'maybe' } }));
    expectFacts(e, 'test/mx/dns', /dmarc\.p$/, 'maybe', /none.*quarantine.*reject/);
  });

  test.each([
    [
      'inboundMx, mynetworks opened to everyone',
      () => Presets.inboundMx(new TerraformStack(Testing.app(), 'test'), 'mx', { connection, settings: { mynetworks: '0.0.0.0/0' } }),
      'mynetworks',
      '0.0.0.0/0',
    ],
    [
      'satellite, relay restrictions that permit',
      () => {
        const stack = new TerraformStack(Testing.app(), 'test');
        return Presets.satellite(stack, 'mx', {
          connection,
          smarthost: { relayhost: '[s.example]:587', username: 'u', password: password(stack) },
          settings: { smtpd_relay_restrictions: 'permit, reject' },
        });
      },
      /smtpd_relay_restrictions|service smtp\/inet/,
      undefined,
    ],
  ])('a preset overridden into an open relay: %s', (_, make, field, value) => {
    const host = make();
    const e = caught(() => host.bundle);
    expect(e.where).toBe('test/mx');
    expect(e.field).toMatch(field);
    if (value !== undefined) expect(e.value).toBe(value);
    expect(e.message).toMatch(/could relay|covers all/);
    expect(e.fix.length).toBeGreaterThan(10);
  });

  test('aliases on a host that delivers nothing locally (a satellite): use a virtual alias instead', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const host = Presets.satellite(stack, 'mx', {
      connection,
      smarthost: { relayhost: '[s.example]:587', username: 'u', password: password(stack) },
    });
    new Aliases(host, 'aliases', { operator: 'ops@example.org' });
    const e = caught(() => host.bundle);
    expectFacts(e, 'test/mx', 'aliases', '/etc/aliases', /LookupTable\.virtualAlias/);
    expect(e.problem).toMatch(/delivers nothing locally \(mydestination is empty\)/);
  });
});
