/**
 * Issue 15 item 5 at synth, through examples/dns-records: the host's records reach
 * @cdktf/provider-dns resources (dns_mx_record_set, dns_txt_record_set) with each record's exact
 * text; the TLSA record (no hashicorp/dns resource) stays an output whose hash is openssl's own
 * `x509 -pubkey | pkey -pubin -outform DER | sha256sum`. Synth only: the provider cannot be
 * downloaded here.
 */
import { execSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Testing } from 'cdktf';
import { DnsRecordsStack, DNS_KEY_SECRET_VARIABLE } from '../../examples/dns-records/main';
import { DKIM_PRIVATE_KEY_VARIABLE } from '../../examples/inbound-mx/main';
import { dkimPublicKeyData, generateDkimKeyPair } from '../../lib/model/dns';
import { caught } from '../helpers/caught';

interface Synthesized {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  output: Record<string, { value: unknown }>;
  variable: Record<string, { sensitive?: boolean }>;
  provider: { dns: Record<string, unknown>[] };
}

let dir: string;
let certPem: string;
const pair = generateDkimKeyPair();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dns-records-'));
  execSync(
    `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mx1.example.org -days 1 -keyout ${dir}/key.pem -out ${dir}/cert.pem 2>/dev/null`,
  );
  certPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
  writeFileSync(join(dir, 'dkim.pub'), pair.publicKeyPem);
  writeFileSync(join(dir, 'virtual'), 'sales@example.org root@mx1.example.org\n');
  writeFileSync(join(dir, 'transport'), 'example.net smtp:[relay.example.net]:25\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    MAIL_HOST: '192.0.2.10',
    MAIL_SSH_KEY: '/keys/id',
    MAIL_KNOWN_HOSTS: '/keys/kh',
    MAIL_DOMAIN: 'example.org',
    MAIL_HOSTNAME: 'mx1.example.org',
    MAIL_DKIM_SELECTOR: '2026a',
    MAIL_DKIM_PUBLIC_KEY_FILE: join(dir, 'dkim.pub'),
    MAIL_DMARC_POLICY: 'reject',
    MAIL_DMARC_RUA: 'mailto:dmarc@example.org',
    MAIL_SPF_IP4: '192.0.2.10',
    MAIL_TLSA_CERT_FILE: join(dir, 'cert.pem'),
    MAIL_MTA_STS_MODE: 'enforce',
    MAIL_TLSRPT_RUA: 'mailto:tlsrpt@example.org',
    MAIL_DNS_SERVER: '192.0.2.53',
    MAIL_DNS_KEY_NAME: 'mail-stack',
    ...extra,
  };
}

function synth(e: NodeJS.ProcessEnv): { stack: DnsRecordsStack; tf: Synthesized; text: string } {
  const stack = new DnsRecordsStack(Testing.app(), 'dns-records', { env: e });
  const text = Testing.synth(stack);
  return { stack, tf: JSON.parse(text) as Synthesized, text };
}

function openSslSpkiSha256(pem: string): string {
  return execSync('openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum', { input: pem, encoding: 'utf8' }).split(
    ' ',
  )[0];
}

describe('examples/dns-records', () => {
  test('each record is a provider-dns resource with its exact text', () => {
    const { tf } = synth(env());
    const p = dkimPublicKeyData(pair.publicKeyPem).p;
    expect(tf.resource.dns_mx_record_set).toEqual({
      record_mx: { zone: 'example.org.', ttl: 3600, mx: [{ preference: 10, exchange: 'mx1.example.org.' }] },
    });
    expect(tf.resource.dns_txt_record_set).toEqual({
      record_spf: { zone: 'example.org.', ttl: 3600, txt: ['v=spf1 mx ip4:192.0.2.10 -all'] },
      record_dmarc: { zone: 'example.org.', name: '_dmarc', ttl: 3600, txt: ['v=DMARC1; p=reject; rua=mailto:dmarc@example.org'] },
      record_dkim_2026a: { zone: 'example.org.', name: '2026a._domainkey', ttl: 3600, txt: [`v=DKIM1; k=rsa; p=${p}`] },
      record_mta_sts: { zone: 'example.org.', name: '_mta-sts', ttl: 3600, txt: [expect.stringMatching(/^v=STSv1; id=[0-9a-f]+$/)] },
      record_tlsrpt: { zone: 'example.org.', name: '_smtp._tls', ttl: 3600, txt: ['v=TLSRPTv1; rua=mailto:tlsrpt@example.org'] },
    });
    // A 2048-bit key's record is longer than one 255-octet character-string, and is still one element.
    expect(`v=DKIM1; k=rsa; p=${p}`.length).toBeGreaterThan(255);
  });

  test("TLSA: no provider-dns resource; its output holds openssl's SPKI SHA-256 of the certificate", () => {
    const { stack, tf } = synth(env());
    expect(stack.unpublished).toEqual(['tlsa-0']);
    expect(tf.output.mx_dns_tlsa_0.value).toEqual({
      name: '_25._tcp.mx1.example.org',
      type: 'TLSA',
      ttl: 3600,
      value: `3 1 1 ${openSslSpkiSha256(certPem)}`,
    });
    expect(String(tf.output.mx_dns_zone.value)).toContain(`_25._tcp.mx1.example.org. 3600 IN TLSA 3 1 1 ${openSslSpkiSha256(certPem)}\n`);
  });

  test('the provider signs updates with TSIG; the secret and the DKIM private key are sensitive variables, never text', () => {
    const { tf } = synth(env());
    expect(tf.provider.dns).toEqual([
      {
        update: [
          { server: '192.0.2.53', key_name: 'mail-stack.', key_algorithm: 'hmac-sha256', key_secret: `\${var.${DNS_KEY_SECRET_VARIABLE}}` },
        ],
      },
    ]);
    expect(tf.variable[DNS_KEY_SECRET_VARIABLE]).toMatchObject({ sensitive: true });
    expect(tf.variable[DKIM_PRIVATE_KEY_VARIABLE]).toMatchObject({ sensitive: true });
  });

  test('the whole stack synthesizes through the app (as `cdktf synth` would), virtual and transport files included', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'dns-records-app-'));
    try {
      const app = new App({ outdir });
      const stack = new DnsRecordsStack(app, 'dns-records', {
        env: env({ MAIL_VIRTUAL_FILE: join(dir, 'virtual'), MAIL_TRANSPORT_FILE: join(dir, 'transport') }),
      });
      app.synth();
      const written = readFileSync(join(outdir, 'stacks', 'dns-records', 'cdk.tf.json'), 'utf8');
      expect(Object.keys(JSON.parse(written).resource)).toEqual(expect.arrayContaining(['dns_mx_record_set', 'dns_txt_record_set']));
      expect(stack.host.builder.getParameter('virtual_alias_maps')).toBe('hash:/etc/postfix/virtual');
      expect(stack.host.builder.getParameter('transport_maps')).toBe('hash:/etc/postfix/transport');
      expect(written).not.toContain(pair.privateKeyPem.split('\n')[2]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('a zone that does not hold the records is refused, naming the variable and the fix', () => {
    const e = caught(() => synth(env({ MAIL_DNS_ZONE: 'other.example' })));
    expect(e.message).toMatch(
      /^dns-records: MAIL_DNS_ZONE = "other\.example": does not contain the record example\.org\. Fix: give the zone that holds example\.org/,
    );
  });

  test('a subdomain zone holds only its names: a host in a parent zone is refused too', () => {
    expect(caught(() => synth(env({ MAIL_DNS_ZONE: 'mail.example.org' }))).field).toBe('MAIL_DNS_ZONE');
  });

  test('an unreadable key or certificate file is refused naming the variable', () => {
    expect(caught(() => synth(env({ MAIL_TLSA_CERT_FILE: join(dir, 'missing.pem') }))).message).toMatch(
      /MAIL_TLSA_CERT_FILE = ".*missing\.pem": cannot be read \(ENOENT\)/,
    );
  });
});
