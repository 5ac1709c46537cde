/**
 * Issue 15 item 4: DKIM signing through OpenDKIM on real lab hosts. One host signs with a key given
 * as a secret (a sensitive variable, placed as a 0600 file owned by opendkim), the other with a key
 * generated on the host by the dkim-keygen hook. Mail sent through each host over SMTP carries a
 * DKIM-Signature that python3-dkim verifies against the TXT record we publish: the construct's
 * dnsRecord for the given key, the record built from publicKeyCommand's output for the host key.
 * opendkim runs inside each host's mount namespace (the service-restart hook starts it there) on a
 * port of its own; its files live under the host's own /etc/postfix so the machine's /etc is untouched.
 */
import { spawnSync } from 'child_process';
import { TerraformVariable } from 'cdktf';
import { HostReport } from '../../lib/apply/apply';
import { dkimRecord, generateDkimKeyPair } from '../../lib/model/dns';
import { DkimSigning, PostfixHost } from '../../index';
import { Lab, LabHost, startLab } from '../lab';
import { applyStack, labConnection, synthStack } from '../helpers/deploy';
import { sendMail } from '../helpers/smtp-client';
import { mboxMessagesWith, verifyDkim } from '../helpers/dkim-verify';

jest.setTimeout(480_000);

const DIR = '/etc/postfix/opendkim';
const CONF = `${DIR}/opendkim.conf`;
let lab: Lab;
const pair = generateDkimKeyPair();

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function portOf(h: LabHost): number {
  return 18000 + Number(h.address.split('.')[3]);
}

function stackFor(h: LabHost, opts: { given: boolean; trustedHosts?: string[] }): { dir: string; signing: () => DkimSigning } {
  let signing: DkimSigning | undefined;
  const dir = synthStack((stack) => {
    const host = new PostfixHost(stack, 'mx', { connection: labConnection(h) });
    const key = opts.given ? new TerraformVariable(stack, 'dkim_key', { type: 'string', sensitive: true }) : undefined;
    signing = new DkimSigning(host, 'dkim', {
      domain: 'example.org',
      selector: opts.given ? 'given' : 'onhost',
      configPath: CONF,
      dataDirectory: DIR,
      inetPort: portOf(h),
      privateKeyPem: key?.stringValue,
      publicKeyPem: opts.given ? pair.publicKeyPem : undefined, // The test client connects from the host's own address (loopback routing): it signs for that one.
      trustedHosts: [h.address, ...(opts.trustedHosts ?? [])],
    });
  });
  return { dir, signing: () => signing! };
}

async function apply(dir: string): Promise<HostReport> {
  const [r] = await applyStack(dir);
  if (r.error) throw new Error(`apply failed: ${r.error}`);
  return r;
}

async function opendkimPid(h: LabHost): Promise<string> {
  return (await h.exec(['cat', '/run/opendkim/opendkim.pid'])).stdout.trim();
}

async function signedMessage(h: LabHost, tag: string): Promise<string> {
  const reply = await sendMail(h.address, 'alice@example.org', `root@${h.hostname}`, `${tag}\nhello, signed\n`);
  expect(reply).toMatch(/^250 /);
  await until(`message ${tag}`, () => mboxMessagesWith(h.mailboxPath('root'), tag).length > 0);
  return mboxMessagesWith(h.mailboxPath('root'), tag)[0];
}

beforeAll(async () => {
  process.env.TF_VAR_dkim_key = pair.privateKeyPem;
  lab = await startLab({ count: 2 });
});

afterAll(async () => {
  delete process.env.TF_VAR_dkim_key;
  await lab?.stop();
});

describe('DKIM signing through OpenDKIM', () => {
  it("signs with a given key: the signature verifies against the construct's DKIM record", async () => {
    const h = lab.hosts[0];
    const { dir, signing } = stackFor(h, { given: true });
    const record = signing().dnsRecord!;
    expect(record.name).toBe('given._domainkey.example.org');
    const report = await apply(dir);
    expect(report.ran.join('\n')).toContain(`service-restart ${CONF}`);
    expect(await h.exec(['stat', '-c', '%a %U %G', `${DIR}/keys/example.org/given.private`])).toMatchObject({
      stdout: '600 opendkim opendkim\n',
    });
    expect(
      (await h.exec(['postconf', '-h', 'smtpd_milters', 'non_smtpd_milters', 'milter_default_action', 'milter_protocol'])).stdout,
    ).toBe(`inet:localhost:${portOf(h)}\ninet:localhost:${portOf(h)}\naccept\n6\n`);

    const message = await signedMessage(h, `given-${Date.now()}`);
    expect(message).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/simple; d=example.org;\s+s=given;/m);
    expect(verifyDkim(message, record.name, record.value)).toBe('pass');
    // A record for another key must not verify it: the check can fail.
    const other = dkimRecord({ domain: 'example.org', selector: 'given', publicKeyPem: generateDkimKeyPair().publicKeyPem }).record;
    expect(verifyDkim(message, record.name, other.value)).toBe('fail');
    // The secret stays out of the bundle the stack holds.
    expect(spawnSync('grep', ['-rlF', pair.privateKeyPem.split('\n')[5], dir], { encoding: 'utf8' }).stdout).toBe('');
  });

  it('signs with a key generated on the host; opendkim restarts only when its files change', async () => {
    const h = lab.hosts[1];
    const first = stackFor(h, { given: false });
    await apply(first.dir);
    const keyPath = `${DIR}/keys/example.org/onhost.private`;
    expect(await h.exec(['stat', '-c', '%a %U %G', keyPath])).toMatchObject({ stdout: '600 opendkim opendkim\n' });
    const p = (await h.exec(['sh', '-c', first.signing().publicKeyCommand])).stdout.trim();
    const record = dkimRecord({ domain: 'example.org', selector: 'onhost', publicKeyData: p, keyType: 'rsa' }).record;

    const message = await signedMessage(h, `onhost-${Date.now()}`);
    expect(message).toMatch(/^DKIM-Signature:[^]*?\bs=onhost;/m);
    expect(verifyDkim(message, record.name, record.value)).toBe('pass');

    // Same stack again: nothing runs, the daemon keeps its pid and the key stays.
    const pid = await opendkimPid(h);
    const keyBefore = h.readFile(keyPath);
    const again = await apply(first.dir);
    expect(again.ran).toEqual([]);
    expect(await opendkimPid(h)).toBe(pid);
    // A changed TrustedHosts restarts it; the host key is kept.
    const changed = stackFor(h, { given: false, trustedHosts: ['192.0.2.0/24'] });
    const r = await apply(changed.dir);
    expect(r.ran).toContain(`service-restart ${CONF}`);
    expect(r.ran.join('\n')).not.toContain('dkim-keygen');
    expect(await opendkimPid(h)).not.toBe(pid);
    expect(h.readFile(keyPath)).toBe(keyBefore);
    const later = await signedMessage(h, `onhost-after-${Date.now()}`);
    expect(verifyDkim(later, record.name, record.value)).toBe('pass');
  });
});
