/**
 * Issue 5's TLS proofs on a real lab host: one apply of a PostfixHost with TlsPolicy (default
 * profile, certificate content uploaded), submission (587, STARTTLS) and submissions (465, implicit
 * TLS), and tlsCheckAfterApply. Then, from outside: forward secrecy on 25, 587 and 465; nothing below
 * TLS 1.2 on the mandatory-TLS ports; the served certificate is the uploaded one; the key file is 0600;
 * 587 wants STARTTLS before MAIL FROM; 25 still takes plaintext mail.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { X509Certificate } from 'crypto';
import { TerraformStack, TerraformVariable } from 'cdktf';
import { HostReport } from '../../lib/apply/apply';
import { Lab, LabHost, startLab } from '../lab';
import { checkTls, forwardSecret, TlsCheckMode, TlsCheckResult, tlsHandshake } from '../../lib/probe/tls-check';
import { PostfixHost } from '../../constructs/postfix-host';
import { Submission, Submissions } from '../../constructs/master-service';
import { TlsPolicy } from '../../constructs/tls-policy';
import { applyStack, labConnection, synthStack } from '../helpers/deploy';
import { sendMail } from '../helpers/smtp-client';
import { selfSigned } from '../helpers/certs';

jest.setTimeout(240_000);

const PORTS: { port: number; mode: TlsCheckMode }[] = [
  { port: 25, mode: 'starttls' },
  { port: 587, mode: 'starttls' },
  { port: 465, mode: 'implicit' },
];

let lab: Lab;
let h: LabHost;
let dir: string;
let certPem: string;
let fingerprint: string;
let reports: HostReport[];
const checks = new Map<number, TlsCheckResult>();

/** One handshake limited to TLS 1.2 with the given cipher list; the facts it reports. */
async function handshakeTls12(port: number, mode: TlsCheckMode, ciphers?: string) {
  return tlsHandshake({ host: h.address, port, mode }, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ...(ciphers ? { ciphers } : {}) });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tls-proof-'));
  const pair = selfSigned(dir, { cn: 'host1.lab.test', san: 'DNS:host1.lab.test', days: 3 });
  certPem = pair.certPem;
  const keyPem = pair.keyPem;
  fingerprint = new X509Certificate(certPem).fingerprint256;

  lab = await startLab({ count: 1 });
  h = lab.hosts[0];
  const stackDir = synthStack((stack: TerraformStack) => {
    const host = new PostfixHost(stack, 'mx', { connection: labConnection(h), tlsCheckAfterApply: {} });
    host.addService(Submission.starttls());
    host.addService(Submissions.implicitTls());
    // The key arrives the way a real stack's would: a token (here a sensitive variable) that
    // Terraform, or cdktf-postfix apply through TF_VAR_tls_key, resolves at apply time.
    const key = new TerraformVariable(stack, 'tls_key', { type: 'string', sensitive: true });
    new TlsPolicy(host, 'tls', { certificates: [{ privateKeyPem: key.stringValue, certificatePem: certPem }] });
  });
  expect(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')).not.toContain('PRIVATE KEY');
  process.env.TF_VAR_tls_key = keyPem;
  // The key travels as a secret next to the bundle, never inside it.
  const bundles = (readdirSync(stackDir, { recursive: true }) as string[]).filter((f) => f.endsWith('bundle.json'));
  expect(bundles).toHaveLength(1);
  expect(readFileSync(join(stackDir, bundles[0]), 'utf8')).not.toContain('PRIVATE KEY');
  reports = await applyStack(stackDir);
  // One probe per port from outside, after the apply; the probes run one after another (anvil).
  for (const { port, mode } of PORTS)
    checks.set(port, await checkTls({ host: h.address, port, mode }, { minProtocol: 'TLSv1.2' }, { verifyHostname: false }));
}, 240_000);

afterAll(async () => {
  delete process.env.TF_VAR_tls_key;
  await lab?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('apply with the default profile and tlsCheckAfterApply', () => {
  it('applies, and the runner probed 25, 587 and 465 right after the apply: all ok', () => {
    expect(reports).toHaveLength(1);
    const r = reports[0];
    expect(r.error).toBeUndefined();
    expect(r.result).toBe('applied');
    expect(r.tlsChecks?.map((c) => [c.target.port, c.target.mode, c.ok])).toEqual(
      expect.arrayContaining([
        [25, 'starttls', true],
        [587, 'starttls', true],
        [465, 'implicit', true],
      ]),
    );
    expect(r.tlsChecks).toHaveLength(3);
  });
});

describe.each(PORTS)('port $port ($mode)', ({ port, mode }) => {
  it('negotiates TLS 1.2 or 1.3 with forward secrecy, and passes the check', () => {
    const c = checks.get(port)!;
    expect(c.error).toBeUndefined();
    expect(c.connected).toBe(true);
    expect(['TLSv1.2', 'TLSv1.3']).toContain(c.protocol);
    expect(c.forwardSecrecy).toBe(true);
    expect(c.keyExchange?.group).toMatch(/X25519|prime256v1|secp384r1/);
    expect(c.violations).toEqual([]);
    expect(c.ok).toBe(true);
  });

  it('serves the uploaded certificate', () => {
    const cert = checks.get(port)!.certificate!;
    expect(cert.subject).toBe('CN=host1.lab.test');
    expect(cert.fingerprint256).toBe(fingerprint);
  });

  it('a TLS 1.2 client gets an ECDHE cipher; one offering only non-forward-secret ciphers is refused', async () => {
    const fs12 = await handshakeTls12(port, mode);
    expect(fs12.established).toBe(true);
    expect(fs12.protocol).toBe('TLSv1.2');
    expect(fs12.cipher).toMatch(/^ECDHE-/);
    expect(forwardSecret(fs12.protocol, fs12.cipher)).toBe(true);
    const rsaKx = await handshakeTls12(port, mode, 'AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA');
    expect(rsaKx.established).toBe(false);
  });
});

describe('mandatory-TLS ports refuse anything below TLS 1.2', () => {
  it.each([587, 465])('port %i refuses TLS 1.0 and 1.1', (port) => {
    const probes = checks.get(port)!.probes;
    expect(probes.find((p) => p.protocol === 'TLSv1')?.outcome).toBe('refused');
    expect(probes.find((p) => p.protocol === 'TLSv1.1')?.outcome).toBe('refused');
    // SSLv3 cannot even be offered by OpenSSL 3: never counted as a pass, never accepted.
    expect(probes.find((p) => p.protocol === 'SSLv3')?.outcome).not.toBe('accepted');
  });
});

describe('on the host', () => {
  it('the uploaded chain file is root-owned, mode 0600, key first then the certificate', async () => {
    const st = await h.exec(['stat', '-c', '%a %U %G', '/etc/postfix/tls/server.pem']);
    expect(st.stdout.trim()).toBe('600 root root');
    const content = h.readFile('/etc/postfix/tls/server.pem');
    expect(content.indexOf('PRIVATE KEY-----')).toBeLessThan(content.indexOf('BEGIN CERTIFICATE'));
    expect(content).toContain(certPem.trim());
    const pc = await h.exec(['postconf', '-h', 'smtpd_tls_chain_files', 'smtpd_tls_mandatory_protocols']);
    expect(pc.stdout.trim().split('\n')).toEqual(['/etc/postfix/tls/server.pem', '>=TLSv1.2']);
  });
});

describe('plaintext', () => {
  it('587 refuses MAIL FROM before STARTTLS (530)', async () => {
    const sock = net.connect(587, h.address);
    let buf = '';
    sock.on('data', (d) => (buf += d.toString('latin1')));
    const reply = async (line?: string): Promise<string> => {
      if (line !== undefined) sock.write(`${line}\r\n`);
      const end = Date.now() + 15_000;
      for (;;) {
        const m = /^(?:\d{3}-[^\n]*\n)*\d{3} [^\n]*\n/.exec(buf);
        if (m) {
          buf = buf.slice(m[0].length);
          return m[0].replace(/\r/g, '').trimEnd();
        }
        if (Date.now() > end) throw new Error(`no SMTP reply to ${line} (got ${JSON.stringify(buf)})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      expect(await reply()).toMatch(/^220 /);
      expect(await reply('EHLO client.lab.test')).toMatch(/250[- ]STARTTLS/);
      expect(await reply('MAIL FROM:<user@client.lab.test>')).toMatch(/^530 5\.7\.0 Must issue a STARTTLS command first/);
    } finally {
      sock.destroy();
    }
  });

  it('25 still accepts plaintext mail (opportunistic TLS, RFC 3207)', async () => {
    const r = await sendMail(h.address, 'sender@client.lab.test', `root@${h.hostname}`, 'plaintext on port 25');
    expect(r).toMatch(/^250 2\.0\.0 Ok: queued as /);
  });
});
