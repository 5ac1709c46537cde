/**
 * Issue 15 item 8: examples/inbound-mx applied to a real lab host. Mail for MAIL_DOMAIN arrives
 * through postscreen and is delivered; mail the host sends (sendmail inside the host) carries a
 * DKIM-Signature that python3-dkim verifies against the key generated on the host, fetched with the
 * command the stack's output names; the synthesized stack's outputs hold the domain's records.
 * MAIL_VIRTUAL_FILE and MAIL_TRANSPORT_FILE (postmap's input format) change where mail goes: a
 * virtual alias delivers sales@ to root's mailbox, a transport entry refuses noreply@ at RCPT.
 */
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { App } from 'cdktf';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { InboundMxStack } from '../../examples/inbound-mx/main';
import { dkimRecord } from '../../lib/model/dns';
import { Lab, LabHost, startLab } from '../lab';
import { applyStack } from '../helpers/deploy';
import { sendMail } from '../helpers/smtp-client';
import { mboxMessagesWith, verifyDkim } from '../helpers/dkim-verify';

jest.setTimeout(480_000);

let lab: Lab;
let h: LabHost;
let stackDir: string;
let stack: InboundMxStack;

async function until(what: string, f: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  lab = await startLab({ count: 1 });
  h = lab.hosts[0];
  const outdir = mkdtempSync(join(tmpdir(), 'inbound-mx-'));
  writeFileSync(join(outdir, 'virtual'), '# virtual(5)\nsales@example.org\troot\n');
  writeFileSync(join(outdir, 'transport'), '# transport(5)\nnoreply@example.org\terror:5.1.1 this address takes no mail\n');
  const app = new App({ outdir });
  stack = new InboundMxStack(app, 'inbound-mx', {
    env: {
      MAIL_HOST: h.address,
      MAIL_SSH_KEY: h.privateKeyPath,
      MAIL_KNOWN_HOSTS: h.knownHostsPath,
      MAIL_HOSTNAME: h.hostname,
      MAIL_DOMAIN: 'example.org',
      MAIL_DKIM_SELECTOR: 'lab',
      MAIL_DKIM_DIR: '/etc/postfix/opendkim',
      MAIL_DKIM_PORT: String(19000 + Number(h.address.split('.')[3])),
      MAIL_GREET_WAIT: '2s',
      MAIL_POSTSCREEN_CHROOT: 'no',
      MAIL_DMARC_POLICY: 'quarantine',
      MAIL_VIRTUAL_FILE: join(outdir, 'virtual'),
      MAIL_TRANSPORT_FILE: join(outdir, 'transport'),
    },
  });
  app.synth();
  stackDir = join(outdir, 'stacks', 'inbound-mx');
  const [r] = await applyStack(stackDir);
  if (r.error) throw new Error(`apply failed: ${r.error}`);
});

afterAll(async () => {
  await lab?.stop();
});

describe('examples/inbound-mx on a lab host', () => {
  it('publishes the records as outputs', () => {
    const out = (JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as { output: Record<string, { value: unknown }> }).output;
    expect(out.mx_dns_mx.value).toEqual({ name: 'example.org', type: 'MX', ttl: 3600, value: `10 ${h.hostname}.` });
    expect(out.mx_dns_spf.value).toEqual({ name: 'example.org', type: 'TXT', ttl: 3600, value: 'v=spf1 mx -all' });
    expect(out.mx_dns_dmarc.value).toEqual({ name: '_dmarc.example.org', type: 'TXT', ttl: 3600, value: 'v=DMARC1; p=quarantine' });
    expect(out.mx_dns_dkim_lab_command.value).toBe(
      'openssl pkey -in /etc/postfix/opendkim/keys/example.org/lab.private -pubout -outform DER | base64 -w0',
    );
  });

  it('accepts mail for the domain through postscreen', async () => {
    const tag = `inbound-${Date.now()}`;
    expect(await sendMail(h.address, 'someone@example.net', 'root@example.org', tag)).toMatch(/^250 /);
    await until('delivery', () => mboxMessagesWith(h.mailboxPath('root'), tag).length === 1);
    expect(readFileSync(h.mailLogPath, 'utf8')).toMatch(/postscreen\[\d+\]: CONNECT from/);
  });

  it("MAIL_VIRTUAL_FILE: a virtual alias delivers sales@ into root's mailbox", async () => {
    const tag = `virtual-${Date.now()}`;
    expect(await sendMail(h.address, 'someone@example.net', 'sales@example.org', tag)).toMatch(/^250 /);
    await until('virtual alias delivery', () => mboxMessagesWith(h.mailboxPath('root'), tag).length === 1);
    // local(8) logs status=sent just after it writes the mailbox: wait for the line, do not race it.
    const delivered = /to=<root@[^>]+>, orig_to=<sales@example\.org>, relay=local, .*status=sent/;
    await until('the delivery log line', () => delivered.test(readFileSync(h.mailLogPath, 'utf8')));
  });

  it("MAIL_TRANSPORT_FILE: a transport error entry refuses noreply@ with the table's text", async () => {
    expect(await sendMail(h.address, 'someone@example.net', 'noreply@example.org', 'x')).toMatch(
      /^550 5\.1\.1 <noreply@example\.org>: Recipient address rejected: this address takes no mail/,
    );
  });

  it('signs the mail it sends with the host-generated DKIM key', async () => {
    const tag = `outbound-${Date.now()}`;
    const sent = await h.exec(['/usr/sbin/sendmail', '-f', 'alice@example.org', `root@${h.hostname}`], {
      input: `From: alice@example.org\nSubject: ${tag}\n\n${tag}\n`,
    });
    expect(sent.code).toBe(0);
    await until('signed delivery', () => mboxMessagesWith(h.mailboxPath('root'), `Subject: ${tag}`).length === 1);
    const message = mboxMessagesWith(h.mailboxPath('root'), `Subject: ${tag}`)[0];
    const p = (await h.exec(['sh', '-c', stack.dkim.publicKeyCommand])).stdout.trim();
    const record = dkimRecord({ domain: 'example.org', selector: 'lab', publicKeyData: p, keyType: 'rsa' }).record;
    expect(message).toMatch(/^DKIM-Signature:[^]*?\bs=lab;/m);
    expect(verifyDkim(message, record.name, record.value)).toBe('pass');
  });
});
