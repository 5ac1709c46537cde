/**
 * Issue 15 items 4 and 5 at synth: DkimSigning's bundle pieces and validation, and MailDnsRecords'
 * Terraform outputs with each record's exact text (TLSA against openssl's own pipeline).
 */
import { execSync } from 'child_process';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { DkimSigning, MailDnsRecords, PostfixHost } from '../../index';
import { dkimPublicKeyData, generateDkimKeyPair } from '../../lib/model/dns';

const connection = { host: '192.0.2.10', privateKeyPath: '/keys/id_ed25519', knownHostsPath: '/keys/known_hosts' };
const pair = generateDkimKeyPair();

function hostIn() {
  const stack = new TerraformStack(Testing.app(), 'test');
  const host = new PostfixHost(stack, 'mx1', { connection, settings: { myhostname: 'mx1.example.org' } });
  return { stack, host };
}

function outputs(stack: TerraformStack): Record<string, { value: unknown }> {
  return (JSON.parse(Testing.synth(stack)) as { output: Record<string, { value: unknown }> }).output;
}

function selfSignedCert(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dns-synth-'));
  execSync(
    `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mx1.example.org -days 1 -keyout ${dir}/k.pem -out ${dir}/c.pem 2>/dev/null`,
  );
  return execSync(`cat ${dir}/c.pem`, { encoding: 'utf8' });
}

describe('DkimSigning', () => {
  test('places OpenDKIM files, a restart hook watching them, the milter parameters, and a keygen hook when no key is given', () => {
    const { host } = hostIn();
    const d = new DkimSigning(host, 'dkim', { domain: 'example.org', selector: 'mail' });
    const s = host.builder.snapshot();
    expect(s.files.map((f) => f.path)).toEqual([
      '/etc/opendkim.conf',
      '/etc/opendkim/KeyTable',
      '/etc/opendkim/SigningTable',
      '/etc/opendkim/TrustedHosts',
    ]);
    expect(s.files.find((f) => f.path === '/etc/opendkim/KeyTable')!.content).toBe(
      'mail._domainkey.example.org example.org:mail:/etc/opendkim/keys/example.org/mail.private\n',
    );
    expect(s.files.find((f) => f.path === '/etc/opendkim.conf')!.content).toContain('Socket              inet:8891@localhost\n');
    expect(s.hooks).toEqual([
      { kind: 'dkim-keygen', path: '/etc/opendkim/keys/example.org/mail.private', bits: 2048, generation: '1' },
      {
        kind: 'service-restart',
        path: '/etc/opendkim.conf',
        generation: '1',
        watch: ['/etc/opendkim.conf', '/etc/opendkim/KeyTable', '/etc/opendkim/SigningTable', '/etc/opendkim/TrustedHosts'],
      },
    ]);
    expect(s.parameters).toMatchObject({
      smtpd_milters: 'inet:localhost:8891',
      non_smtpd_milters: 'inet:localhost:8891',
      milter_default_action: 'accept',
      milter_protocol: '6',
    });
    expect(d.keyOnHost).toBe(true);
    expect(d.dnsRecord).toBeUndefined();
    expect(d.publicKeyCommand).toBe('openssl pkey -in /etc/opendkim/keys/example.org/mail.private -pubout -outform DER | base64 -w0');
  });

  test('a given key travels as a 0600 opendkim-owned fromEnv file, never in the synthesized stack', () => {
    const { stack, host } = hostIn();
    const key = new TerraformVariable(stack, 'dkim_key', { type: 'string', sensitive: true });
    new DkimSigning(host, 'dkim', {
      domain: 'example.org',
      selector: 'mail',
      privateKeyPem: key.stringValue,
      publicKeyPem: pair.publicKeyPem,
    });
    const file = host.builder.snapshot().files.find((f) => f.path === '/etc/opendkim/keys/example.org/mail.private')!;
    expect(file).toMatchObject({ mode: '0600', owner: 'opendkim', group: 'opendkim', secret: true });
    expect(host.builder.snapshot().hooks.map((h) => h.kind)).toEqual(['service-restart']);
    expect(host.builder.snapshot().hooks[0].watch).toContain('/etc/opendkim/keys/example.org/mail.private');
    expect(Testing.synth(stack)).not.toContain(pair.privateKeyPem.split('\n')[3]);
  });

  test.each([
    [{ selector: 'my.selector' }, 'DkimSigning.selector = "my.selector": contains a dot'],
    [{ domain: 'not a domain' }, 'DkimSigning.domain = "not a domain": is not a fully qualified domain name'],
    [{ keyBits: 1024 }, 'DkimSigning.keyBits = "1024": is not a DKIM RSA key size we generate'],
    [{ inetPort: 70000 }, 'DkimSigning.inetPort = "70000": is not a whole number from 1 to 65535'],
    [
      { configPath: '/etc/opendkim/dkim.cfg' },
      'DkimSigning.configPath = "/etc/opendkim/dkim.cfg": is not an absolute path to a file named opendkim.conf',
    ],
    [{ dataDirectory: 'etc/opendkim' }, 'DkimSigning.dataDirectory = "etc/opendkim": is not an absolute directory path'],
    [{ keyGeneration: 'two words' }, 'DkimSigning.keyGeneration = "two words": is not a plain generation label'],
    [
      { privateKeyPem: pair.privateKeyPem.slice(0, 27) + '...' + pair.privateKeyPem.slice(27) },
      'DkimSigning.privateKeyPem: a private key given as text would be written into the synthesized stack',
    ],
  ])('refuses bad input #%#', (bad, message) => {
    const { host } = hostIn();
    expect(() => new DkimSigning(host, 'dkim', { domain: 'example.org', selector: 'mail', ...bad })).toThrow(`test/mx1/dkim: ${message}`);
  });

  test('refuses a second milter source for smtpd_milters', () => {
    const { host } = hostIn();
    host.builder.setParameter('smtpd_milters', 'inet:localhost:9999');
    expect(() => new DkimSigning(host, 'dkim', { domain: 'example.org', selector: 'mail' })).toThrow(
      /smtpd_milters = "inet:localhost:8891": test\/mx1\/dkim sets it/,
    );
  });
});

describe('MailDnsRecords', () => {
  test('one output per record with its exact text, the zone, the MTA-STS policy and the host-key command', () => {
    const { stack, host } = hostIn();
    const cert = selfSignedCert();
    const given = new DkimSigning(host, 'dkim', {
      domain: 'example.org',
      selector: 'mail',
      privateKeyPem: new TerraformVariable(stack, 'k', { type: 'string', sensitive: true }).stringValue,
      publicKeyPem: pair.publicKeyPem,
    });
    const dns = new MailDnsRecords(host, 'dns', {
      domain: 'example.org',
      mxHost: 'mx1.example.org',
      spf: { ip4: ['192.0.2.10'] },
      dmarc: { p: 'reject', rua: ['mailto:dmarc@example.org'] },
      dkim: [given],
      tlsa: [{ certificatePem: cert }],
      mtaSts: { mode: 'enforce', id: '20261202' },
      tlsRptRua: ['mailto:tlsrpt@example.org'],
    });
    const out = outputs(stack);
    const p = dkimPublicKeyData(pair.publicKeyPem).p;
    const spki = execSync('openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum', {
      input: cert,
      encoding: 'utf8',
    }).split(' ')[0];
    expect(out.dns_mx.value).toEqual({ name: 'example.org', type: 'MX', ttl: 3600, value: '10 mx1.example.org.' });
    expect(out.dns_spf.value).toEqual({ name: 'example.org', type: 'TXT', ttl: 3600, value: 'v=spf1 mx ip4:192.0.2.10 -all' });
    expect(out.dns_dmarc.value).toEqual({
      name: '_dmarc.example.org',
      type: 'TXT',
      ttl: 3600,
      value: 'v=DMARC1; p=reject; rua=mailto:dmarc@example.org',
    });
    expect(out.dns_dkim_mail.value).toEqual({
      name: 'mail._domainkey.example.org',
      type: 'TXT',
      ttl: 3600,
      value: `v=DKIM1; k=rsa; p=${p}`,
    });
    expect(out.dns_tlsa_0.value).toEqual({ name: '_25._tcp.mx1.example.org', type: 'TLSA', ttl: 3600, value: `3 1 1 ${spki}` });
    expect(out.dns_mta_sts.value).toEqual({ name: '_mta-sts.example.org', type: 'TXT', ttl: 3600, value: 'v=STSv1; id=20261202' });
    expect(out.dns_tlsrpt.value).toEqual({
      name: '_smtp._tls.example.org',
      type: 'TXT',
      ttl: 3600,
      value: 'v=TLSRPTv1; rua=mailto:tlsrpt@example.org',
    });
    expect(out.dns_mta_sts_policy.value).toBe(dns.mtaStsPolicy);
    expect(dns.mtaStsPolicy).toContain('mx: mx1.example.org');
    expect(String(out.dns_zone.value).split('\n')[0]).toBe('example.org. 3600 IN MX 10 mx1.example.org.');
    expect(
      Object.keys(out)
        .filter((k) => k.startsWith('dns_'))
        .sort(),
    ).toEqual([
      'dns_dkim_mail',
      'dns_dmarc',
      'dns_mta_sts',
      'dns_mta_sts_policy',
      'dns_mx',
      'dns_spf',
      'dns_tlsa_0',
      'dns_tlsrpt',
      'dns_zone',
    ]);
  });

  test('a host-generated DKIM key gives the command that prints its p= value; a token public key becomes a Terraform expression', () => {
    const { stack, host } = hostIn();
    const tokenKey = new TerraformVariable(stack, 'pub', { type: 'string' });
    const fromToken = new DkimSigning(host, 'dkim', {
      domain: 'example.net',
      selector: 'next',
      privateKeyPem: new TerraformVariable(stack, 'k', { type: 'string', sensitive: true }).stringValue,
      publicKeyPem: tokenKey.stringValue,
    });
    new MailDnsRecords(host, 'dns', { domain: 'example.org', mxHost: 'mx1.example.org', dkim: [fromToken] });
    expect(outputs(stack).dns_dkim_next.value).toEqual({
      name: 'next._domainkey.example.net',
      type: 'TXT',
      ttl: 3600,
      value:
        'v=DKIM1; k=rsa; p=${replace(replace(replace(var.pub, "-----BEGIN PUBLIC KEY-----", ""), "-----END PUBLIC KEY-----", ""), "\\n", "")}',
    });
    const { stack: s2, host: h2 } = hostIn();
    const g = new DkimSigning(h2, 'dkim', { domain: 'example.org', selector: 'mail' });
    new MailDnsRecords(h2, 'dns', { domain: 'example.org', mxHost: 'mx1.example.org', dkim: [g] });
    expect(outputs(s2).dns_dkim_mail_command.value).toBe(g.publicKeyCommand);
    expect(outputs(s2).dns_dkim_mail).toBeUndefined();
  });

  test.each([
    [{ dmarc: { p: 'maybe' } }, /dmarc\.p = "maybe"/],
    [{ mxHost: 'mx1' }, /mxHost = "mx1": is not a fully qualified domain name/],
    [{ sendOnly: true, mtaSts: { mode: 'enforce' } }, /MailDnsRecords\.mtaSts = "enforce": is set for a send-only host/],
  ])('refuses %j naming the construct', (bad, message) => {
    const { host } = hostIn();
    expect(() => new MailDnsRecords(host, 'dns', { domain: 'example.org', mxHost: 'mx1.example.org', ...bad })).toThrow(message);
    expect(() => new MailDnsRecords(hostIn().host, 'dns', { domain: 'example.org', mxHost: 'mx1.example.org', ...bad })).toThrow(
      /^test\/mx1\/dns: /,
    );
  });
});
