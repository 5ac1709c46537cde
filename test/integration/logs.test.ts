/**
 * `logs report` on a log written by a real Postfix (a lab host's postlogd, maillog_file): mail is
 * delivered locally, deferred (a transport to a closed loopback port), bounced (an unknown local
 * user, accepted because local_recipient_maps is empty), rejected (a recipient check) and
 * submitted on 587 (a submission service added for this test). The report
 * of the host's log file must count exactly those, parse the submission lines, and leave no
 * Postfix line unrecognised; then the same report is read over SSH with the connection flags
 * (the host's mail log, a named file whose name is hostile to a shell, and through sudo).
 * Needs root (the lab).
 */
import { Command } from 'commander';
import * as net from 'net';
import { registerLogsCommand } from '../../bin/commands/logs';
import { Lab, LabHost, startLab } from '../lab';
import { LogReport, analyzeLogs, parseLogFiles } from '../../lib/ops/logs';
import { analyzeRemoteLogs } from '../../lib/ops/logs/remote';
import { sendMail } from '../helpers/smtp-client';

jest.setTimeout(180_000);

let lab: Lab;
let h: LabHost;

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The first line a server sends (an SMTP greeting), or the error. */
function banner(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    const done = (v: string) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(5000, () => done('timeout'));
    sock.once('data', (d) => done(d.toString('latin1')));
    sock.once('error', (e) => done(e.message));
  });
}

async function postconf(...args: string[]): Promise<void> {
  const r = await h.exec(['postconf', ...args]);
  if (r.code !== 0) throw new Error(`postconf ${args.join(' ')}: ${r.stderr}`);
}

const EXPECTED = { received: 5, delivered: 3, deferred: 1, bounced: 1, rejected: 1 };

function counts(r: LogReport) {
  const g = r.grandTotals;
  return { received: g.received, delivered: g.delivered, deferred: g.deferred, bounced: g.bounced, rejected: g.rejected };
}

beforeAll(async () => {
  lab = await startLab({ count: 1, nonRootUser: true });
  h = lab.hosts[0];
  // defer.example: relayed to a closed port on loopback (deferred, no network beyond lo); unknown
  // local users are accepted and then bounced by local(8); reject@<host>: refused at RCPT; a
  // submission service on 587 for this test only. (error:/retry: transports would be refused at
  // RCPT already: smtpd checks the recipient's transport.)
  await postconf(
    '-e',
    'transport_maps = inline:{defer.example=smtp:[127.0.0.1]:9}',
    'local_recipient_maps =',
    `smtpd_recipient_restrictions = check_recipient_access inline:{reject@${h.hostname}=REJECT}, permit_mynetworks, reject_unauth_destination`,
  );
  await postconf(
    '-M',
    'submission/inet=submission inet n - n - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=none',
  );
  const r = await h.exec(['postfix', 'reload']);
  expect(r.code).toBe(0);
  await until(
    'the submission port to greet',
    () => banner(h.address, 587),
    (b) => b.startsWith('220'),
    30_000,
  );
});

afterAll(async () => {
  await lab?.stop();
});

describe('logs report on a real Postfix log', () => {
  let local: LogReport;
  let before: LogReport;

  it('counts delivered, deferred, bounced, rejected and submitted mail exactly', async () => {
    before = await analyzeLogs([h.mailLogPath]);
    const replies = [
      await sendMail(h.address, 'alice@client.example', `root@${h.hostname}`, 'delivered one'),
      await sendMail(h.address, 'bob@client.example', `root@${h.hostname}`, 'delivered two'),
      await sendMail(h.address, 'alice@client.example', 'later@defer.example', 'deferred'),
      // null sender: no non-delivery notification, so the bounce is the only event
      await sendMail(h.address, '', `nosuchuser@${h.hostname}`, 'bounced'),
      await sendMail(h.address, 'alice@client.example', `reject@${h.hostname}`, 'rejected'),
      await sendMail(h.address, 'carol@client.example', `root@${h.hostname}`, 'submitted on 587', 587),
    ];
    expect(replies.map((x) => x.slice(0, 3))).toEqual(['250', '250', '250', '250', '554', '250']);
    const want = {
      received: before.grandTotals.received + EXPECTED.received,
      delivered: before.grandTotals.delivered + EXPECTED.delivered,
      deferred: before.grandTotals.deferred + EXPECTED.deferred,
      bounced: before.grandTotals.bounced + EXPECTED.bounced,
      rejected: before.grandTotals.rejected + EXPECTED.rejected,
    };
    local = await until(
      'the log to show every outcome',
      () => analyzeLogs([h.mailLogPath]),
      (r) => JSON.stringify(counts(r)) === JSON.stringify(want),
    );
    expect(counts(local)).toEqual(want);
    expect(local.unparsed.unrecognisedPostfix).toEqual({ count: 0, samples: [] });
    expect(local.unparsed.garbage.count).toBe(0);
    expect(local.deferralDetail[0].key).toBe('smtp');
    expect(local.deferralDetail[0].items?.[0].key).toContain('Connection refused');
    expect(
      local.bounceDetail
        .flatMap((t) => t.items ?? [])
        .map((t) => t.key)
        .join(' '),
    ).toContain('unknown user');
    expect(local.rejectDetail[0].key).toBe('RCPT');
  });

  it('parses the submission service lines (syslog name postfix/submission/smtpd)', async () => {
    let submission = 0;
    let clientLine = false;
    for await (const p of parseLogFiles([h.mailLogPath])) {
      if (p.kind === 'postfix' && p.syslogName === 'postfix/submission/smtpd') {
        submission++;
        expect(p.program).toBe('smtpd');
        expect(p.instance).toBe('postfix');
        if (/^[0-9A-F]+: client=/.test(p.message)) clientLine = true;
      }
    }
    expect(submission).toBeGreaterThan(0);
    expect(clientLine).toBe(true);
  });

  it('reads the same log over SSH with the connection flags (logs report --host ... --json)', async () => {
    const program = new Command().exitOverride();
    registerLogsCommand(program);
    const chunks: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
      chunks.push(String(c));
      return true;
    });
    try {
      await program.parseAsync([
        'node',
        'x',
        'logs',
        'report',
        '--json',
        '--host',
        h.address,
        '--identity',
        h.privateKeyPath,
        '--known-hosts',
        h.knownHostsPath,
      ]);
    } finally {
      spy.mockRestore();
    }
    const remote = JSON.parse(chunks.join('')) as LogReport;
    expect(remote.grandTotals).toEqual(local.grandTotals);
    expect(remote.unparsed.unrecognisedPostfix.count).toBe(0);
    expect(remote.input.sources).toEqual([`${h.address}:(mail log)`]);
  });

  it('reads a named file on the host (its name goes on stdin, never into the command), also through sudo', async () => {
    const odd = '/tmp/it\'s a log; echo $(id) && touch pwned `touch pwned2`"';
    const cp = await h.exec(['cp', '/var/log/mail.log', odd]);
    expect(cp.stderr).toBe('');
    expect(cp.code).toBe(0);
    const spec = { host: h.address, privateKeyPath: h.privateKeyPath, knownHostsPath: h.knownHostsPath };
    const named = await analyzeRemoteLogs(spec, [odd]);
    expect(named.grandTotals).toEqual(local.grandTotals);
    for (const p of ['/root/pwned', '/root/pwned2', '/pwned', '/pwned2']) expect((await h.exec(['test', '-e', p])).code).not.toBe(0);
    const viaSudo = await analyzeRemoteLogs({ ...spec, user: h.sudoUser }, []);
    expect(viaSudo.grandTotals).toEqual(local.grandTotals);
    await expect(analyzeRemoteLogs(spec, ['/var/log/no-such.log'])).rejects.toThrow(/cannot read \/var\/log\/no-such.log/);
  });
});
