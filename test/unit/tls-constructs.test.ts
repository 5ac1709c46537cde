import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Aspects, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { PostfixHost } from '../../constructs/postfix-host';
import { ServiceType } from '../../constructs/master-service';
import { TlsPolicy, TlsProfile } from '../../constructs/tls-policy';
import { TlsLint } from '../../constructs/tls-lint';
import { SmartHostRelay } from '../../constructs/smarthost-relay';
import { DhParameters, DhRotation } from '../../constructs/dh-parameters';
import { PostfixConfigError } from '../../lib/model/errors';
import { selfSigned } from '../helpers/certs';

function setup() {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  const host = new PostfixHost(stack, 'mx1', {
    connection: { host: '192.0.2.10', privateKeyPath: '/keys/id', knownHostsPath: '/keys/kh' },
  });
  return { app, stack, host };
}

function messages(host: PostfixHost, type: '@cdktf/warn' | '@cdktf/error'): string[] {
  return host.node.metadata.filter((m) => m.type === type).map((m) => String(m.data));
}

function errorOf(fn: () => unknown): PostfixConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PostfixConfigError) return e;
    throw e;
  }
  throw new Error('expected a PostfixConfigError');
}

const dir = mkdtempSync(join(tmpdir(), 'tls-constructs-'));
const { keyPem, certPem } = selfSigned(dir, { cn: 'mx1.example.org', key: 'ec' });

describe('TlsPolicy', () => {
  it('sets the intermediate profile and requires TLS on submission', () => {
    const { host } = setup();
    host.addService({ name: 'submission', type: ServiceType.INET, command: 'smtpd' });
    new TlsPolicy(host, 'tls', { chainFiles: ['/etc/ssl/private/mx1.pem'] });
    const s = host.state.snapshot();
    expect(s.parameters).toMatchObject({
      smtpd_tls_security_level: 'may',
      smtpd_tls_protocols: '>=TLSv1.2',
      smtpd_tls_chain_files: '/etc/ssl/private/mx1.pem',
    });
    expect(s.services[0].options).toEqual({ smtpd_tls_security_level: 'encrypt' });
  });

  it.each(['before', 'after'] as const)(
    "parameters reports the host's final values: a SmartHostRelay requiring TLS added %s the policy replaces its 'may'",
    (when) => {
      const { stack, host } = setup();
      const password = new TerraformVariable(stack, 'relay_password', { type: 'string', sensitive: true });
      const relay = () =>
        new SmartHostRelay(host, 'relay', { relayhost: '[smtp.example.net]:587', username: 'u', password: password.stringValue });
      if (when === 'before') relay();
      const tls = new TlsPolicy(host, 'tls', { chainFiles: ['/etc/ssl/private/mx1.pem'] });
      expect(tls.parameters.smtp_tls_security_level).toBe(when === 'before' ? 'encrypt' : 'may');
      if (when === 'after') relay();
      expect(tls.parameters).toMatchObject({ smtp_tls_security_level: 'encrypt', smtpd_tls_security_level: 'may' });
      expect(tls.parameters.smtp_tls_security_level).toBe(host.state.snapshot().parameters.smtp_tls_security_level);
    },
  );

  it('uploads PEM content as a 0600 secret that never enters the bundle', () => {
    const { stack, host } = setup();
    const key = new TerraformVariable(stack, 'tls_key', { type: 'string', sensitive: true });
    new TlsPolicy(host, 'tls', { certificates: [{ privateKeyPem: key.stringValue, certificatePem: certPem }] });
    const file = host.state.snapshot().files.find((f) => f.path === '/etc/postfix/tls/server.pem')!;
    expect(file).toMatchObject({ mode: '0600', secret: true });
    expect(file.content).toBeUndefined();
    expect(file.fromEnv?.value).toContain('BEGIN CERTIFICATE');
    expect(JSON.stringify(host.bundle.bundle)).not.toContain('CERTIFICATE');
  });

  it('refuses a private key written as text: it would land in cdk.tf.json', () => {
    const e = errorOf(() => new TlsPolicy(setup().host, 'tls', { certificates: [{ privateKeyPem: keyPem, certificatePem: certPem }] }));
    expect([e.where, e.field, e.value]).toEqual(['test/mx1/tls', 'certificates[0].privateKeyPem', undefined]);
    expect(e.problem).toMatch(/written into the synthesized stack/);
    expect(e.fix).toMatch(/TerraformVariable|tls_private_key/);
    expect(e.message).not.toContain('PRIVATE KEY');
  });

  it('accepts Terraform tokens as content (provider-tls style) without checking them', () => {
    const { stack, host } = setup();
    const key = new TerraformVariable(stack, 'key', { type: 'string', sensitive: true });
    const cert = new TerraformVariable(stack, 'cert', { type: 'string' });
    expect(
      () => new TlsPolicy(host, 'tls', { certificates: [{ privateKeyPem: key.stringValue, certificatePem: cert.stringValue }] }),
    ).not.toThrow();
  });

  it('bad input is a PostfixConfigError naming host path, field, value and fix', () => {
    const e1 = errorOf(() => new TlsPolicy(setup().host, 'tls', { profile: 'old' as never }));
    expect([e1.where, e1.field, e1.value]).toEqual(['test/mx1/tls', 'profile', 'old']);
    const e2 = errorOf(() => new TlsPolicy(setup().host, 'tls', { chainFiles: ['/etc/ssl/private/mx1.key'] }));
    expect([e2.field, e2.value]).toEqual(['chainFiles[0]', '/etc/ssl/private/mx1.key']);
    const e3 = errorOf(() => new TlsPolicy(setup().host, 'tls', { certificates: [{ privateKeyPem: certPem, certificatePem: keyPem }] }));
    expect(e3.field).toBe('certificates[0].certificatePem');
    const e4 = errorOf(() => new TlsPolicy(setup().host, 'tls', { parameters: { smtpd_tls_protocols: 'TLSv1.2;TLSv1.3' } }));
    expect(e4.field).toBe('smtpd_tls_protocols');
    expect(e4.fix).toMatch(/>=TLSv1.2/);
  });

  it('a certificate struct gives exactly one kind of source (jsii has no unions), refused by field otherwise', () => {
    const mixed = errorOf(
      () =>
        new TlsPolicy(setup().host, 'tls', { certificates: [{ chainFile: '/etc/ssl/private/a.pem', keyFile: '/etc/ssl/private/a.key' }] }),
    );
    expect([mixed.where, mixed.field, mixed.problem]).toEqual(['test/mx1/tls', 'certificates[0]', 'mixes kinds of certificate source']);
    expect(mixed.fix).toMatch(/exactly one of: chainFile; keyFile with certFile; privateKeyPem with certificatePem/);
    const empty = errorOf(() => new TlsPolicy(setup().host, 'tls', { certificates: [{ name: 'x' }] }));
    expect([empty.field, empty.problem]).toEqual(['certificates[0]', 'gives no certificate']);
    const half = errorOf(
      () =>
        new TlsPolicy(setup().host, 'tls', {
          certificates: [{ chainFile: '/etc/ssl/private/a.pem' }, { keyFile: '/etc/ssl/private/b.key' }],
        }),
    );
    expect([half.field, half.problem, half.fix]).toEqual([
      'certificates[1].certFile',
      'keyFile is given without certFile',
      'give certFile too',
    ]);
    const s = (() => {
      const { host } = setup();
      new TlsPolicy(host, 'tls', { certificates: [{ keyFile: '/etc/ssl/private/b.key', certFile: '/etc/ssl/certs/b.pem' }] });
      return host.state.snapshot();
    })();
    expect(s.parameters.smtpd_tls_chain_files).toBe('/etc/ssl/private/b.key, /etc/ssl/certs/b.pem');
  });
});

describe('TlsLint aspect', () => {
  it('cdktf 0.21 never runs an aspect added only to the App (hence TlsLint.addTo)', () => {
    const { app, host } = setup();
    host.applySettings({ smtpd_use_tls: 'yes' });
    Aspects.of(app).add(new TlsLint());
    app.synth();
    expect(messages(host, '@cdktf/warn')).toEqual([]);
  });

  it('warns on dated settings, with the fix', () => {
    const { app, host } = setup();
    host.applySettings({
      smtpd_use_tls: 'yes',
      smtpd_tls_mandatory_protocols: 'SSLv3, TLSv1',
      smtpd_tls_cert_file: '/etc/ssl/certs/mx1.pem',
    });
    TlsLint.addTo(app);
    app.synth();
    const text = messages(host, '@cdktf/warn').join('\n');
    expect(text).toMatch(/\[tls-obsolete-parameter\] smtpd_use_tls = "yes".*Fix: replace with smtpd_tls_security_level = may/);
    expect(text).toMatch(
      /\[tls-legacy-protocols\] smtpd_tls_mandatory_protocols = "SSLv3, TLSv1".*Fix: set smtpd_tls_mandatory_protocols = >=TLSv1.2/,
    );
    expect(messages(host, '@cdktf/error')).toEqual([]);
  });

  it('strict mode turns the warnings into synth errors', () => {
    const { app, host } = setup();
    host.applySettings({ smtpd_use_tls: 'yes', smtpd_tls_cert_file: '/etc/ssl/certs/mx1.pem' });
    TlsLint.addTo(app, { strict: true });
    expect(() => app.synth()).toThrow(/\[tls-obsolete-parameter\] smtpd_use_tls/);
    expect(messages(host, '@cdktf/warn')).toEqual([]);
  });

  it('a TlsPolicy host with submission lints clean', () => {
    const { app, stack, host } = setup();
    host.addService({ name: 'submission', type: ServiceType.INET, command: 'smtpd' });
    new TlsPolicy(host, 'tls', { chainFiles: ['/etc/ssl/private/mx1.pem'] });
    Aspects.of(stack).add(new TlsLint({ strict: true }));
    Testing.synth(stack);
    void app;
    expect(messages(host, '@cdktf/error').length + messages(host, '@cdktf/warn').length).toBe(0);
    host.applySettings({ smtpd_use_tls: 'yes' }); // sanity: the same path does report
    expect(TlsLint.findings(host).map((f) => f.rule)).toEqual(['tls-obsolete-parameter']);
    expect([...messages(host, '@cdktf/warn'), ...messages(host, '@cdktf/error')]).toEqual([]);
  });
});

describe('DhParameters', () => {
  it('points Postfix at a host-generated group with a rotation hook and cron schedule', () => {
    const { host } = setup();
    new DhParameters(host, 'dh', { bits: 3072, generation: '2' });
    const s = host.state.snapshot();
    expect(s.parameters.smtpd_tls_dh1024_param_file).toBe('/etc/postfix/dh3072.pem');
    expect(s.hooks).toEqual([{ kind: 'dhparam-generate', path: '/etc/postfix/dh3072.pem', bits: 3072, generation: '2' }]);
    expect(s.files.map((f) => [f.path, f.mode])).toEqual([
      ['/etc/cron.d/cdktf-postfix-dh', '0644'],
      ['/usr/local/sbin/cdktf-postfix-dh-rotate', '0755'],
    ]);
    expect(TlsLint.findings(host)).toEqual([]);
  });

  it('systemd rotation renders a service and a timer', () => {
    const { host } = setup();
    new DhParameters(host, 'dh', { rotation: DhRotation.SYSTEMD });
    expect(host.state.snapshot().files.map((f) => f.path)).toEqual(
      expect.arrayContaining(['/etc/systemd/system/cdktf-postfix-dh.service', '/etc/systemd/system/cdktf-postfix-dh.timer']),
    );
  });

  it('refuses DH under 2048 bits, naming the field', () => {
    const e = errorOf(() => new DhParameters(setup().host, 'dh', { bits: 1024 }));
    expect([e.where, e.field, e.value]).toEqual(['test/mx1/dh', 'bits', '1024']);
  });
});

describe('full synth', () => {
  it('TlsPolicy with uploaded certificate and DhParameters pass host validation and lint', () => {
    const { app, stack, host } = setup();
    host.addService({ name: 'submission', type: ServiceType.INET, command: 'smtpd' });
    const key = new TerraformVariable(stack, 'tls_key', { type: 'string', sensitive: true });
    new TlsPolicy(host, 'tls', {
      profile: TlsProfile.LEGACY_OLD_CLIENTS,
      certificates: [{ privateKeyPem: key.stringValue, certificatePem: certPem }],
    });
    new DhParameters(host, 'dh');
    TlsLint.addTo(app, { ignore: ['tls-legacy-protocols'] });
    expect(() => app.synth()).not.toThrow();
    expect(messages(host, '@cdktf/warn')).toEqual([]);
    const bundle = host.bundle.bundle;
    expect(bundle.hooks).toEqual([{ kind: 'dhparam-generate', path: '/etc/postfix/dh2048.pem', bits: 2048, generation: '1' }]);
    expect(bundle.files['/etc/postfix/tls/server.pem']).toMatchObject({ mode: '0600' });
    expect(bundle.files['/etc/postfix/tls/server.pem'].content).toBeUndefined();
  });
});
