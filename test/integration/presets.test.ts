/**
 * Presets.inboundMx and Presets.submission on lab hosts, each proven by mail flow plus the relay
 * probe (a client from 127.0.0.5, outside the presets' loopback mynetworks, asks to relay to a
 * domain the host does not serve). Presets.satellite has its proof in smarthost.test.ts (through
 * examples/satellite). The submission host checks passwords with Cyrus SASL (sasldb).
 */
import { SaslType } from '../../constructs/master-service';
import { existsSync, readFileSync } from 'fs';
import { Lab, LabHost, startLab } from '../lab';
import { Presets } from '../../constructs/presets';
import { TlsPolicy } from '../../constructs/tls-policy';
import { applyStack, labConnection, synthStack } from '../helpers/deploy';
import { run } from '../helpers/run';
import { addSaslUser } from '../helpers/sasl';

jest.setTimeout(240_000);

const OUTSIDE = '127.0.0.5';
const USER = 'submitter';
const PASSWORD = `presets-${process.pid}`;
let lab: Lab;
let mx: LabHost;
let sub: LabHost;

const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '');

async function swaks(h: LabHost, port: number, args: string[]): Promise<string> {
  const r = await run(
    'swaks',
    [
      '--server',
      `${h.address}:${port}`,
      '--local-interface',
      OUTSIDE,
      '--helo',
      'client.outside.test',
      '--from',
      'someone@outside.test',
      '--timeout',
      '20',
      ...args,
    ],
    60_000,
  );
  return r.stdout + r.stderr;
}

/** Asks the host to relay to a foreign domain (stopping after RCPT): the open-relay probe. */
function relayProbe(h: LabHost, port: number, tls: string[] = []): Promise<string> {
  return swaks(h, port, [...tls, '--to', 'victim@foreign.example', '--quit-after', 'RCPT']);
}

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

beforeAll(async () => {
  lab = await startLab({ count: 2 });
  [mx, sub] = lab.hosts;
  await addSaslUser(sub, USER, PASSWORD);
  const stackDir = synthStack((stack) => {
    Presets.inboundMx(stack, 'mx', { connection: labConnection(mx), domains: ['mx-domain.lab.test'] });
    const s = Presets.submission(stack, 'sub', { connection: labConnection(sub), sasl: { type: SaslType.CYRUS, path: 'smtpd' } });
    new TlsPolicy(s, 'tls', {
      certificates: [{ certFile: '/etc/ssl/certs/ssl-cert-snakeoil.pem', keyFile: '/etc/ssl/private/ssl-cert-snakeoil.key' }],
    });
  });
  for (const report of await applyStack(stackDir)) if (report.error) throw new Error(`apply failed: ${report.error}`);
}, 200_000);

afterAll(async () => {
  await lab?.stop();
});

describe('Presets.inboundMx', () => {
  it('receives mail for its host name and its domains from any client', async () => {
    const tag = `mx-${Date.now()}`;
    for (const to of [`root@${mx.hostname}`, 'root@mx-domain.lab.test']) {
      expect(await swaks(mx, 25, ['--to', to, '--header', `Subject: ${tag}`])).toMatch(/<- +250 2\.0\.0 Ok: queued/);
    }
    await until('both messages in the mailbox', () => read(mx.mailboxPath('root')).split(tag).length === 3);
  });

  it('relay probe: a client outside mynetworks is refused (reject_unauth_destination)', async () => {
    expect(await relayProbe(mx, 25)).toMatch(/<\*\* +554 5\.7\.1 <victim@foreign\.example>: Relay access denied/);
  });

  it('offers no submission service', async () => {
    expect(await swaks(mx, 587, ['--quit-after', 'CONNECT'])).toMatch(/Connection refused/);
    expect((await mx.exec(['postconf', '-M', 'submission/inet'])).stdout).toBe('');
  });
});

/** swaks arguments for SMTP AUTH as the lab's SASL user. */
const auth = (mechanism: 'PLAIN' | 'LOGIN'): string[] => ['--auth', mechanism, '--auth-user', USER, '--auth-password', PASSWORD];

describe('Presets.submission', () => {
  it('587: an authenticated user submits after STARTTLS; the client headers are gone from the delivered mail', async () => {
    const tag = `sub-${Date.now()}`;
    const t = await swaks(sub, 587, [
      '-tls',
      ...auth('PLAIN'),
      '--to',
      `root@${sub.hostname}`,
      '--header',
      `Subject: ${tag}`,
      '--header',
      'X-Mailer: leaky-client 1.0',
    ]);
    expect(t).toMatch(/<~ +235 2\.7\.0 Authentication successful/);
    expect(t).toMatch(/<~ +250 2\.0\.0 Ok: queued/);
    await until('the message in the mailbox', () => read(sub.mailboxPath('root')).includes(tag));
    const message = read(sub.mailboxPath('root'))
      .split(/^From /m)
      .find((m) => m.includes(tag))!;
    expect(message).toContain(`Subject: ${tag}`);
    expect(message).not.toMatch(/^X-Mailer:/m);
  });

  it('465: AUTH works over implicit TLS', async () => {
    const t = await swaks(sub, 465, ['--tls-on-connect', ...auth('LOGIN'), '--to', `root@${sub.hostname}`, '--quit-after', 'RCPT']);
    expect(t).toMatch(/<~ +235 2\.7\.0 Authentication successful/);
    expect(t).toMatch(/<~ +250 2\.1\.5 Ok/);
  });

  it('relay probe: without AUTH, 587 and 465 refuse to relay, and so does 25', async () => {
    expect(await relayProbe(sub, 587, ['-tls'])).toMatch(
      /<~\* +554 5\.7\.1 <victim@foreign\.example>: Recipient address rejected: Access denied/,
    );
    expect(await relayProbe(sub, 465, ['--tls-on-connect'])).toMatch(
      /<~\* +554 5\.7\.1 <victim@foreign\.example>: Recipient address rejected: Access denied/,
    );
    expect(await relayProbe(sub, 25)).toMatch(/<\*\* +454 4\.7\.1 <victim@foreign\.example>: Relay access denied/);
  });

  it("control: with AUTH the relay check passes (the lab's error transport then refuses the foreign domain)", async () => {
    const t = await swaks(sub, 587, ['-tls', ...auth('PLAIN'), '--to', 'victim@foreign.example', '--quit-after', 'RCPT']);
    expect(t).toMatch(/550 5\.1\.1 <victim@foreign\.example>: Recipient address rejected: lab host sends nowhere/);
    expect(t).not.toMatch(/Access denied/);
  });
});
