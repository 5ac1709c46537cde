/** SmartHostRelay and the presets at synth: settings, the password map, every validation, and relay safety of overridden presets. */
import { SaslType } from '../../constructs/master-service';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { PostfixHost, Presets, SmartHostRelay, TlsPolicy } from '../../index';
import { HostBuilder } from '../../lib/host/builder';
import { parseRelayhost, validateSaslTlsLevel, validateSaslUsername } from '../../lib/model/smarthost';
import { validateHostState } from '../../lib/model/validate-host';
import { SASL_PASSWORD_VARIABLE, SatelliteStack } from '../../examples/satellite/main';
import { caught } from '../helpers/caught';

const connection = { host: '192.0.2.10', privateKeyPath: '/k', knownHostsPath: '/kh' };

function newStack(): TerraformStack {
  return new TerraformStack(Testing.app(), 'test');
}

function passwordToken(stack: TerraformStack): string {
  return new TerraformVariable(stack, 'smarthost_password', { type: 'string', sensitive: true }).stringValue;
}

describe('relayhost syntax', () => {
  it.each(['[smtp.example.net]:587', '[smtp.example.net]', '[192.0.2.1]:2525', '[ipv6:2001:db8::1]:587'])('accepts %s', (v) => {
    expect(parseRelayhost('h', v).bracketed).toBe(true);
  });

  it('a name without brackets does MX lookup: refused unless mxLookup, with the fix', () => {
    const e = caught(() => parseRelayhost('h', 'smtp.example.net:587'));
    expect(e.field).toBe('relayhost');
    expect(e.value).toBe('smtp.example.net:587');
    expect(e.message).toMatch(/looks up the MX records.*Fix: write \[smtp\.example\.net\]:587 .*mxLookup: true/);
    expect(parseRelayhost('h', 'smtp.example.net:587', true)).toEqual({
      relayhost: 'smtp.example.net:587',
      host: 'smtp.example.net',
      port: 587,
      bracketed: false,
    });
  });

  it.each([
    ['[smtp.example.net]:0', /port 0 is outside 1-65535/],
    ['[smtp.example.net]:65536', /port 65536 is outside/],
    ['[smtp.example.net]:abc', /not a relayhost/],
    ['[bad_host!]:587', /neither a host name nor an IP address/],
    ['192.0.2.1:587', /an IP address needs brackets.*Fix: write it as \[192\.0\.2\.1\]:587/],
    [' [smtp.example.net]:587', /not a relayhost/],
    ['', /not a relayhost/],
  ])('refuses %j', (v, re) => {
    expect(caught(() => parseRelayhost('h', v, true)).message).toMatch(re);
  });
});

describe('SASL username and TLS level', () => {
  it.each(['', 'a user', 'user:x', 'tab\there', 'nl\n'])('username %j is refused', (u) => {
    expect(caught(() => validateSaslUsername('h', u)).field).toBe('username');
  });

  it('accepts an address as username', () => expect(() => validateSaslUsername('h', 'relay@example.net')).not.toThrow());

  it.each(['may', 'none', '', 'bogus'])('tlsLevel %j is refused', (l) => {
    expect(caught(() => validateSaslTlsLevel('h', l)).message).toMatch(/tlsLevel.*Fix: use "encrypt"/);
  });
});

describe('SmartHostRelay', () => {
  it("sets relayhost, SASL and TLS; the map is 0600, postmap'd, secret, from the environment", () => {
    const stack = newStack();
    const host = new PostfixHost(stack, 'mx', { connection });
    const relay = new SmartHostRelay(host, 'relay', {
      relayhost: '[smtp.example.net]:587',
      username: 'relay@example.net',
      password: passwordToken(stack),
    });
    expect(relay.parameters).toEqual({
      relayhost: '[smtp.example.net]:587',
      smtp_sasl_auth_enable: 'yes',
      smtp_sasl_password_maps: 'hash:/etc/postfix/sasl_passwd',
      smtp_sasl_security_options: 'noanonymous',
      smtp_tls_security_level: 'encrypt',
      smtp_tls_CAfile: '/etc/ssl/certs/ca-certificates.crt',
    });
    const file = host.bundle.bundle.files['/etc/postfix/sasl_passwd'];
    expect(file).toMatchObject({ mode: '0600', owner: 'root', postmap: 'hash' });
    expect(file.fromEnv).toMatch(/^CDKTF_POSTFIX_SASL_[0-9A-F]{12}$/);
    expect(file.content).toBeUndefined();
    expect(host.bundle.bundle.tableTypes).toContain('hash');
  });

  it('a literal password is refused at synth, naming the fix, and the password is not in the message', () => {
    const host = new PostfixHost(newStack(), 'mx', { connection });
    const e = caught(
      () => new SmartHostRelay(host, 'relay', { relayhost: '[smtp.example.net]:587', username: 'u', password: 'hunter2-literal' }),
    );
    expect(e.message).toMatch(
      /^test\/mx\/relay: password: a password given as text would be written into the synthesized stack.*Fix: pass it as a token: a sensitive TerraformVariable/,
    );
    expect(e.message).not.toContain('hunter2-literal');
  });

  it('neither or both of password and passwordEnv is refused', () => {
    const stack = newStack();
    const host = new PostfixHost(stack, 'mx', { connection });
    expect(caught(() => new SmartHostRelay(host, 'a', { relayhost: '[s.example]:587', username: 'u' })).message).toMatch(
      /neither password nor passwordEnv/,
    );
    expect(
      caught(
        () =>
          new SmartHostRelay(host, 'b', { relayhost: '[s.example]:587', username: 'u', password: passwordToken(stack), passwordEnv: 'x' }),
      ).message,
    ).toMatch(/both password and passwordEnv/);
    expect(
      caught(() => new SmartHostRelay(host, 'c', { relayhost: '[s.example]:587', username: 'u', passwordEnv: 'bad-name!' })).field,
    ).toBe('passwordEnv');
  });

  it('passwordEnv declares a sensitive variable read from TF_VAR_<name>; the synthesized stack names it, never a value', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'smarthost-synth-'));
    try {
      const app = new App({ outdir });
      const stack = new TerraformStack(app, 'mail');
      const host = new PostfixHost(stack, 'mx', { connection });
      new SmartHostRelay(host, 'relay', { relayhost: '[smtp.example.net]:587', username: 'u', passwordEnv: 'relay_pw' });
      app.synth();
      const tf = JSON.parse(readFileSync(join(outdir, 'stacks', 'mail', 'cdk.tf.json'), 'utf8'));
      expect(tf.variable.relay_pw).toMatchObject({ sensitive: true, type: 'string' });
      const env = tf.resource.terraform_data.mx_apply_3F5E4C32?.provisioner ?? JSON.stringify(tf.resource);
      expect(JSON.stringify(env)).toContain('[smtp.example.net]:587 u:${var.relay_pw}');
      expect(JSON.stringify(tf.resource)).toMatch(/sha256\(\\"\[smtp\.example\.net\]:587 u:\$\{var\.relay_pw\}/);
      const bundle = (readdirSync(join(outdir, 'stacks', 'mail'), { recursive: true }) as string[]).find((f) => f.endsWith('bundle.json'))!;
      expect(readFileSync(join(outdir, 'stacks', 'mail', bundle), 'utf8')).not.toContain('var.relay_pw');
    } finally {
      if (existsSync(outdir)) rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('conflicts with another source of smtp_tls_security_level name both (e.g. may from the settings)', () => {
    const stack = newStack();
    const host = new PostfixHost(stack, 'mx', { connection, settings: { smtp_tls_security_level: 'may' } });
    expect(
      caught(() => new SmartHostRelay(host, 'relay', { relayhost: '[s.example]:587', username: 'u', password: passwordToken(stack) }))
        .message,
    ).toMatch(/smtp_tls_security_level = "encrypt": test\/mx\/relay sets it, but test\/mx already set it to "may"/);
  });

  describe("with a TlsPolicy (both name smtp_tls_security_level): the relay's level wins over the profile's default", () => {
    const relay = { relayhost: '[s.example]:587', username: 'u', password: 'TOKEN' };
    const builder = () => new HostBuilder({ where: 'h', isUnresolved: (v) => v === 'TOKEN' });
    const both = (
      first: 'tls' | 'relay',
      tls: Parameters<HostBuilder['addTlsPolicy']>[0] = {},
      smart: Partial<typeof relay> & { caFile?: string; tlsLevel?: string } = {},
    ) => {
      const b = builder();
      const steps = { tls: () => b.addTlsPolicy(tls, 'h/tls'), relay: () => b.addSmartHost({ ...relay, ...smart }, 'h/relay') };
      steps[first]();
      steps[first === 'tls' ? 'relay' : 'tls']();
      return b;
    };

    it.each(['tls', 'relay'] as const)(
      'TlsPolicy\'s "may" gives way to the relay\'s level, whichever comes first (%s first); the bundles are byte-identical',
      (first) => {
        const b = both(first, {}, { tlsLevel: 'secure' });
        expect(b.getParameter('smtp_tls_security_level')).toBe('secure');
        expect(b.getParameter('smtpd_tls_security_level')).toBe('may');
        expect(b.toBundle().sha256).toBe(both(first === 'tls' ? 'relay' : 'tls', {}, { tlsLevel: 'secure' }).toBundle().sha256);
      },
    );

    it.each(['tls', 'relay'] as const)(
      'a level named in TlsPolicy.parameters is a conflict, naming both sources and the fix (%s first)',
      (first) => {
        const e = caught(() => both(first, { parameters: { smtp_tls_security_level: 'dane' } }));
        expect(e.field).toBe('smtp_tls_security_level');
        expect(e.message).toMatch(
          first === 'tls'
            ? /^h: smtp_tls_security_level = "encrypt": h\/relay sets it, but h\/tls already set it to "dane"/
            : /^h: smtp_tls_security_level = "dane": h\/tls sets it, but h\/relay already set it to "encrypt"/,
        );
        expect(e.fix).toMatch(
          /SmartHostRelay requires TLS to the smarthost .*tlsLevel.*drop smtp_tls_security_level from the other source/,
        );
      },
    );

    it("the relay's default CA bundle gives way to TlsPolicy.clientCAfile; a caFile given to both that differs is a conflict", () => {
      expect(both('relay', { clientCAfile: '/etc/ssl/mine.pem' }).getParameter('smtp_tls_CAfile')).toBe('/etc/ssl/mine.pem');
      expect(both('tls', { clientCAfile: '/etc/ssl/mine.pem' }).getParameter('smtp_tls_CAfile')).toBe('/etc/ssl/mine.pem');
      expect(both('tls').getParameter('smtp_tls_CAfile')).toBe('/etc/ssl/certs/ca-certificates.crt');
      expect(caught(() => both('tls', { clientCAfile: '/etc/ssl/mine.pem' }, { caFile: '/etc/ssl/other.pem' })).message).toMatch(
        /smtp_tls_CAfile = "\/etc\/ssl\/other\.pem": h\/relay sets it, but h\/tls already set it/,
      );
    });

    it('through the constructs: Presets.satellite with a TlsPolicy synthesizes, outbound TLS encrypt', () => {
      const stack = newStack();
      const host = Presets.satellite(stack, 'sat', {
        connection,
        smarthost: { relayhost: '[s.example]:587', username: 'u', password: passwordToken(stack) },
      });
      new TlsPolicy(host, 'tls', {});
      expect(host.bundle.bundle.mainCf.set).toMatchObject({ smtp_tls_security_level: 'encrypt', smtpd_tls_security_level: 'may' });
    });
  });

  it('the core refuses a literal password too (plain programs have no tokens)', () => {
    const b = new HostBuilder({ where: 'core' });
    expect(caught(() => b.addSmartHost({ relayhost: '[s.example]:587', username: 'u', password: 'x' })).field).toBe('password');
    const tokens = new HostBuilder({ where: 'core', isUnresolved: (v) => v === 'TOKEN' });
    tokens.addSmartHost({ relayhost: '[s.example]:587', username: 'u', password: 'TOKEN', tlsLevel: 'secure' });
    expect(tokens.getParameter('smtp_tls_security_level')).toBe('secure');
  });
});

describe('presets', () => {
  const smarthost = (stack: TerraformStack) => ({ relayhost: '[smtp.example.net]:587', username: 'u', password: passwordToken(stack) });

  it('satellite: loopback only, no local delivery, everything to the smarthost; valid', () => {
    const stack = newStack();
    const host = Presets.satellite(stack, 'sat', { connection, smarthost: smarthost(stack) });
    const set = host.bundle.bundle.mainCf.set;
    expect(set).toMatchObject({
      inet_interfaces: 'loopback-only',
      mydestination: '',
      mynetworks: '127.0.0.1/32 [::1]/128',
      local_transport: 'error:local delivery is disabled on this satellite',
      relayhost: '[smtp.example.net]:587',
      smtp_sasl_auth_enable: 'yes',
    });
  });

  it('inbound MX: loopback mynetworks, reject_unauth_destination, no submission services, its domains local', () => {
    const host = Presets.inboundMx(newStack(), 'mx', { connection, domains: ['example.org'] });
    const b = host.bundle.bundle;
    expect(b.mainCf.set).toMatchObject({
      mynetworks: '127.0.0.1/32 [::1]/128',
      smtpd_relay_restrictions: 'permit_mynetworks, reject_unauth_destination',
      mydestination: '$myhostname, localhost, example.org',
    });
    expect(b.masterCf.remove).toEqual(expect.arrayContaining(['submission/inet', 'submissions/inet']));
  });

  it('submission: 587 and 465 with SASL required, header privacy on submitted mail only', () => {
    const host = Presets.submission(newStack(), 'sub', { connection, sasl: { type: SaslType.CYRUS } });
    const sub = host.builder.getService('submission/inet')!;
    expect(sub.options).toMatchObject({
      smtpd_sasl_auth_enable: 'yes',
      smtpd_sasl_type: SaslType.CYRUS,
      smtpd_relay_restrictions: 'permit_mynetworks,permit_sasl_authenticated,reject',
      cleanup_service_name: 'msa_cleanup',
    });
    expect(host.builder.getService('submissions/inet')!.options).toMatchObject({
      smtpd_tls_wrappermode: 'yes',
      smtpd_sasl_auth_enable: 'yes',
    });
    expect(host.builder.getParameter('header_checks')).toBeUndefined();
  });

  it("a preset setting is overridden by the user's", () => {
    const stack = newStack();
    const host = Presets.satellite(stack, 'sat', { connection, smarthost: smarthost(stack), settings: { inet_interfaces: '127.0.0.20' } });
    expect(host.bundle.bundle.mainCf.set.inet_interfaces).toBe('127.0.0.20');
  });

  it.each([
    [
      'satellite',
      (s: TerraformStack) =>
        Presets.satellite(s, 'p', { connection, smarthost: smarthost(s), settings: { smtpd_relay_restrictions: 'permit, reject' } }),
    ],
    [
      'inboundMx',
      (s: TerraformStack) =>
        Presets.inboundMx(s, 'p', {
          connection,
          settings: { smtpd_relay_restrictions: 'permit_mynetworks, permit, reject_unauth_destination' },
        }),
    ],
    [
      'inboundMx with mynetworks everywhere',
      (s: TerraformStack) => Presets.inboundMx(s, 'p', { connection, settings: { mynetworks: '0.0.0.0/0' } }),
    ],
    [
      'submission',
      (s: TerraformStack) =>
        Presets.submission(s, 'p', { connection, settings: { smtpd_relay_restrictions: 'permit, reject_unauth_destination' } }),
    ],
  ])('%s overridden into an open relay is refused at synth', (_, make) => {
    const host = make(newStack());
    expect(() => validateHostState(host.builder.snapshot())).toThrow(/test\/p: .*(could relay|covers all)/);
    expect(() => host.bundle).toThrow(/could relay|covers all/);
  });
});

describe('examples/satellite', () => {
  it('synthesizes with placeholders; the password is a sensitive variable, the root alias a virtual(5) alias (recipient only)', () => {
    const stack = new SatelliteStack(Testing.app(), 'satellite', { env: { MAIL_ROOT_ALIAS: 'ops@example.org' } });
    const set = stack.host.bundle.bundle.mainCf.set;
    expect(set).toMatchObject({
      relayhost: '[smtp.example.net]:587',
      inet_interfaces: 'loopback-only',
      virtual_alias_maps: 'inline:{ root=ops@example.org }',
    });
    expect(set.canonical_maps).toBeUndefined();
    expect(set.alias_maps).toBeUndefined();
    const tf = JSON.parse(Testing.synth(stack));
    expect(tf.variable[SASL_PASSWORD_VARIABLE]).toMatchObject({ sensitive: true });
  });

  it('MAIL_SMARTHOST without brackets and a bad MAIL_ROOT_ALIAS are refused, naming the fix', () => {
    expect(caught(() => new SatelliteStack(Testing.app(), 's', { env: { MAIL_SMARTHOST: 'smtp.example.net:587' } })).message).toMatch(
      /relayhost = "smtp\.example\.net:587".*Fix: write \[smtp\.example\.net\]:587/,
    );
    expect(caught(() => new SatelliteStack(Testing.app(), 's', { env: { MAIL_ROOT_ALIAS: 'a@b, c@d' } })).field).toBe('MAIL_ROOT_ALIAS');
  });
});
