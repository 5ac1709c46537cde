/**
 * Relay safety on a real lab host: after applying examples/mail-host (with the Submission.starttls()
 * and Submissions.implicitTls() presets) and mynetworks narrowed to 127.0.0.1/32, a client from
 * 127.0.0.5 (outside mynetworks; every 127/8 address is local to lo) asks to relay on 25, 587 and
 * 465 and is refused; the same request from 127.0.0.1 (inside) is accepted, so the refusal is the
 * relay control and not something else. Then a hand edit on the host that opens port 25 makes the
 * next apply refuse before changing anything.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App } from 'cdktf';
import { Lab, LabHost, startLab } from '../lab';
import { MailHostStack } from '../../examples/mail-host/main';
import { applyStack } from '../helpers/deploy';
import { run } from '../helpers/run';

jest.setTimeout(240_000);

const OUTSIDE = '127.0.0.5';
let lab: Lab;
let h: LabHost;
let outdir: string;

function synthMailHost(messageSizeLimit: string): string {
  const app = new App({ outdir });
  const stack = new MailHostStack(app, 'mail', {
    env: { MAIL_HOST: h.address, MAIL_SSH_KEY: h.privateKeyPath, MAIL_KNOWN_HOSTS: h.knownHostsPath, MAIL_HOSTNAME: h.hostname },
  });
  stack.host.applySettings({ mynetworks: '127.0.0.1/32' }, 'relay.test');
  stack.host.state.replaceParameter('message_size_limit', messageSizeLimit, 'relay.test');
  app.synth();
  return join(outdir, 'stacks', 'mail');
}

/** swaks from `source` asking the host to relay to a domain it does not serve; the transcript. */
async function askToRelay(port: number, source: string, tls: string[] = []): Promise<string> {
  const r = await run(
    'swaks',
    [
      '--server',
      `${h.address}:${port}`,
      '--local-interface',
      source,
      '--helo',
      'client.outside.test',
      '--from',
      'someone@outside.test',
      '--to',
      'victim@foreign.example',
      '--quit-after',
      'RCPT',
      '--timeout',
      '20',
      ...tls,
    ],
    60_000,
  );
  return r.stdout + r.stderr;
}

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'relay-proof-'));
  lab = await startLab({ count: 1 });
  h = lab.hosts[0];
  const [report] = await applyStack(synthMailHost('25000000'));
  if (report.error) throw new Error(`apply failed: ${report.error}`);
}, 180_000);

afterAll(async () => {
  await lab?.stop();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('after examples/mail-host, a client outside mynetworks cannot relay', () => {
  it('the host runs with mynetworks = 127.0.0.1/32', async () => {
    expect((await h.exec(['postconf', '-h', 'mynetworks'])).stdout.trim()).toBe('127.0.0.1/32');
  });

  it("port 25: Relay access denied (Debian's defer_unauth_destination: 454)", async () => {
    expect(await askToRelay(25, OUTSIDE)).toMatch(/<\*\* +454 4\.7\.1 <victim@foreign\.example>: Relay access denied/);
  });

  // The presets end smtpd_relay_restrictions with a plain `reject` (permit_mynetworks,
  // permit_sasl_authenticated,reject), whose text is "Access denied" (postconf(5) reject).
  it('587 (Submission.starttls), after STARTTLS: 554 5.7.1 ... Access denied', async () => {
    expect(await askToRelay(587, OUTSIDE, ['-tls'])).toMatch(
      /<~\* +554 5\.7\.1 <victim@foreign\.example>: Recipient address rejected: Access denied/,
    );
  });

  it('465 (Submissions.implicitTls): 554 5.7.1 ... Access denied', async () => {
    expect(await askToRelay(465, OUTSIDE, ['--tls-on-connect'])).toMatch(
      /<~\* +554 5\.7\.1 <victim@foreign\.example>: Recipient address rejected: Access denied/,
    );
  });

  it("control: from inside mynetworks (127.0.0.1) the relay check passes (the lab's error transport then refuses)", async () => {
    for (const [port, tls] of [
      [25, []],
      [587, ['-tls']],
    ] as const) {
      const t = await askToRelay(port, '127.0.0.1', [...tls]);
      expect(t).toMatch(/ 550 5\.1\.1 <victim@foreign\.example>: Recipient address rejected: lab host sends nowhere/);
      expect(t).not.toMatch(/Access denied/);
    }
  });
});

describe("the runner checks the host's effective values before the swap", () => {
  it('a hand edit that opens port 25 makes the next apply fail with nothing changed', async () => {
    const edit = await h.exec(['postconf', '-e', 'smtpd_relay_restrictions = permit, reject_unauth_destination']);
    expect(edit.code).toBe(0);
    try {
      const [report] = await applyStack(synthMailHost('26000000'));
      expect(report.result).toBe('failed');
      expect(report.error).toMatch(
        /refused before any change on the host: .*service smtp\/inet smtpd_relay_restrictions = "permit, reject_unauth_destination": an unauthenticated client outside mynetworks could relay/,
      );
      expect(report.changed).toEqual([]);
      expect((await h.exec(['postconf', '-h', 'message_size_limit'])).stdout.trim()).toBe('25000000');
    } finally {
      await h.exec(['postconf', '-e', 'smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination']);
    }
    const [again] = await applyStack(synthMailHost('26000000'));
    expect(again.error).toBeUndefined();
    expect((await h.exec(['postconf', '-h', 'message_size_limit'])).stdout.trim()).toBe('26000000');
  });
});
