/**
 * Issue 15 items 1 and 3 on a real lab host: a virtual alias and a transport entry change where a
 * message goes (delivered to a local mailbox, refused at RCPT with the table's text, discarded),
 * and an aliases file built with postalias sends root's mail to the operator.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { TerraformStack } from 'cdktf';
import { Lab, LabHost, startLab } from '../lab';
import { applyStack, labConnection, synthStack } from '../helpers/deploy';
import { Aliases, LookupTable, PostfixHost } from '../../index';

jest.setTimeout(240_000);

const ALIAS_USER = 'cdktfmaps';
const OPS_USER = 'cdktfops';
let lab: Lab;
let h: LabHost;

function swaks(to: string, subject: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(
      'swaks',
      [
        '--server',
        `${h.address}:25`,
        '--helo',
        'client.lab.test',
        '--from',
        `sender@${h.hostname}`,
        '--to',
        to,
        '--header',
        `Subject: ${subject}`,
        '--timeout',
        '20',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code: code ?? 128, stdout }));
  });
}

async function until(what: string, f: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const read = (p: string) => (fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : '');
const mailbox = (user: string) => read(h.mailboxPath(user));
const mailLog = () => read(h.mailLogPath);

function ensureUser(name: string): void {
  if (spawnSync('id', [name]).status === 0) return;
  const u = spawnSync(
    'useradd',
    ['--system', '--no-create-home', '--home-dir', `/var/mail/${name}.home`, '--shell', '/usr/sbin/nologin', name],
    { encoding: 'utf8' },
  );
  if (u.status !== 0 && spawnSync('id', [name]).status !== 0) throw new Error(u.stderr);
}

beforeAll(async () => {
  ensureUser(ALIAS_USER);
  ensureUser(OPS_USER);
  lab = await startLab({ count: 1 });
  h = lab.hosts[0];
  const dir = synthStack((stack: TerraformStack) => {
    const host = new PostfixHost(stack, 'mx', { connection: labConnection(h) });
    // virtual(5): a domain key makes lab.test a virtual alias domain; its addresses are the other keys.
    LookupTable.virtualAlias(host, 'virtual', {
      entries: [
        { key: 'lab.test', value: 'virtual-domain' },
        { key: 'info@lab.test', value: ALIAS_USER },
      ],
    });
    LookupTable.transport(host, 'transport', {
      entries: [
        { key: 'special.test', value: 'error:5.0.0 no such domain' },
        { key: 'discard.test', value: 'discard:dropped for the test' },
      ],
    });
    // The lab host's alias_maps is hash:/etc/postfix/aliases (the real /etc/aliases is shared by every host).
    new Aliases(host, 'aliases', { path: '/etc/postfix/aliases', operator: `${OPS_USER}@${h.hostname}` });
  });
  const reports = await applyStack(dir);
  for (const r of reports) if ((r as { ok?: boolean }).ok === false) throw new Error(`apply failed: ${JSON.stringify(r)}`);
}, 180_000);

afterAll(async () => {
  await lab?.stop();
});

describe('lookup tables and aliases on a lab host', () => {
  it('the apply built the indexes beside the tables (postmap, postalias)', async () => {
    const q = await h.exec(['postmap', '-q', 'info@lab.test', 'hash:/etc/postfix/virtual']);
    expect(q.stdout.trim()).toBe(ALIAS_USER);
    const a = await h.exec(['postalias', '-q', 'root', 'hash:/etc/postfix/aliases']);
    expect(a.stdout.trim()).toBe(`${OPS_USER}@${h.hostname}`);
    expect(h.readFile('/etc/postfix/aliases')).toBe(`root: ${OPS_USER}@${h.hostname}\npostmaster: root\n`);
    const main = h.readFile('/etc/postfix/main.cf');
    expect(main).toMatch(/^virtual_alias_maps = hash:\/etc\/postfix\/virtual$/m);
    expect(main).toMatch(/^transport_maps = hash:\/etc\/postfix\/transport$/m);
  });

  it("a virtual alias delivers info@lab.test into the local user's mailbox", async () => {
    const r = await swaks('info@lab.test', 'maps-virtual');
    expect(r.code).toBe(0);
    await until('virtual alias delivery', () => mailbox(ALIAS_USER).includes('Subject: maps-virtual'));
    const delivered = new RegExp(
      `to=<${ALIAS_USER}@${h.hostname.replace(/\./g, '\\.')}>, orig_to=<info@lab\\.test>.*status=sent \\(delivered to mailbox\\)`,
    );
    await until('the delivery in the log', () => delivered.test(mailLog()));
  });

  it("a transport error entry refuses mail for its domain with the table's text (smtpd resolves the recipient at RCPT)", async () => {
    const r = await swaks('anyone@special.test', 'maps-transport');
    expect(r.stdout).toMatch(/<\*\* +550 5\.0\.0 <anyone@special\.test>: Recipient address rejected: no such domain/);
  });

  it('a transport discard entry accepts and drops mail for its domain, as the log shows', async () => {
    const r = await swaks('anyone@discard.test', 'maps-discard');
    expect(r.code).toBe(0);
    await until('discard in the log', () => /to=<anyone@discard\.test>, relay=none, .*status=sent \(.*\)/.test(mailLog()));
    expect(mailLog()).toMatch(/to=<anyone@discard\.test>, relay=none, .*status=sent \(dropped for the test\)/);
  });

  it("mail to root lands in the operator's mailbox (aliases built with postalias)", async () => {
    const r = await swaks(`root@${h.hostname}`, 'maps-root');
    expect(r.code).toBe(0);
    await until('root alias delivery', () => mailbox(OPS_USER).includes('Subject: maps-root'));
    expect(mailbox('root')).not.toContain('Subject: maps-root');
  });
});
