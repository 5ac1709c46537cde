/**
 * The queue tool against a real Postfix (a lab host) over the real SSH path: mail is held in the
 * deferred queue (defer_transports = smtp: nothing is ever attempted), then selected and acted on;
 * `postqueue -j`, read inside the host, is the judge. Needs root (the lab).
 */
import * as path from 'path';
import { Command } from 'commander';
import { registerQueueCommand } from '../../bin/commands/queue';
import { Lab, LabHost, startLab } from '../lab';
import {
  parsePostqueueJson,
  PostfixNotRunningError,
  QueueActionReport,
  queueAction,
  QueueMessage,
  runPostsuper,
  SshQueueExecutor,
} from '../../lib/ops/queue';

jest.setTimeout(180_000);

let lab: Lab;
let host: LabHost;
let ssh: SshQueueExecutor;

async function hostQueue(): Promise<QueueMessage[]> {
  const r = await host.exec(['postqueue', '-j']);
  if (r.code !== 0) throw new Error(`postqueue -j: ${r.stderr}`);
  return parsePostqueueJson(r.stdout);
}

async function until(what: string, ok: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Submit through sendmail inside the host and wait until every message sits in the deferred queue. */
async function enqueue(mail: [sender: string, recipients: string[]][]): Promise<void> {
  const before = (await hostQueue()).length;
  for (const [sender, rcpts] of mail) {
    const r = await host.exec(['sendmail', '-f', sender, '--', ...rcpts], { input: `Subject: queue test\n\nto ${rcpts.join(', ')}\n` });
    if (r.code !== 0) throw new Error(`sendmail: ${r.stderr}`);
  }
  await until('mail in the deferred queue', async () => {
    const q = await hostQueue();
    return q.length === before + mail.length && q.every((m) => m.queue_name === 'deferred' || m.queue_name === 'hold');
  });
}

async function emptyQueue(): Promise<void> {
  await host.exec(['postsuper', '-d', 'ALL']);
}

/** recipient lists of the queued messages, sorted, for exact before/after comparisons */
function recipientsOf(q: QueueMessage[]): string[] {
  return q.map((m) => m.recipients.map((r) => r.address).join(',')).sort();
}

beforeAll(async () => {
  lab = await startLab({ count: 1, nonRootUser: true });
  host = lab.hosts[0];
  // The lab's error: transports would bounce at once; deferring the smtp transport keeps mail
  // queued in `deferred` with no delivery attempt and no network.
  const r = await host.exec(['postconf', '-e', 'default_transport = smtp', 'relay_transport = smtp', 'defer_transports = smtp']);
  expect(r.code).toBe(0);
  expect((await host.exec(['postfix', 'reload'])).code).toBe(0);
  ssh = await SshQueueExecutor.connect({ host: host.address, privateKeyPath: host.privateKeyPath, knownHostsPath: host.knownHostsPath });
});

afterAll(async () => {
  ssh?.close();
  await lab?.stop();
});

beforeEach(emptyQueue);

describe('queue delete by recipient, over SSH', () => {
  const MAIL: [string, string[]][] = [
    ['alice@example.org', ['hill@domain.tld']],
    ['bob@example.net', ['hill@domain.tld']],
    ['alice@example.org', ['hill@DOMAIN.TLD']], // same recipient: the domain is case-insensitive
    ['alice@example.org', ['bill@domain.tld']],
    ['alice@example.org', ['hill@domain.tld.example']],
    ['alice@example.org', ['HILL@domain.tld']], // a different local part
    ['alice@example.org', ['xhill@domain.tld']],
    ['alice@example.org', ['carol@other.example']],
    ['alice@example.org', ['dave@domain.tld', 'erin@domain.tld']],
  ];

  it('--dry-run touches nothing; the delete removes exactly the messages for hill@domain.tld', async () => {
    await enqueue(MAIL);
    const before = await hostQueue();

    const dry = await queueAction(ssh, 'delete', { recipient: 'hill@domain.tld' }, { dryRun: true });
    expect(dry.selected).toHaveLength(3);
    expect(await hostQueue()).toEqual(before);

    const report = await queueAction(ssh, 'delete', { recipient: 'hill@domain.tld' });
    expect(report).toMatchObject({ count: 3, missed: [], shared: [], summary: 'Deleted: 3 messages' });
    expect(report.done.sort()).toEqual(dry.selected.map((m) => m.queue_id).sort());

    const after = await hostQueue();
    expect(recipientsOf(after)).toEqual([
      'HILL@domain.tld',
      'bill@domain.tld',
      'carol@other.example',
      'dave@domain.tld,erin@domain.tld',
      'hill@domain.tld.example',
      'xhill@domain.tld',
    ]);
    expect(after.every((m) => m.queue_name === 'deferred')).toBe(true);
  });

  it('reports a message with other recipients too (postsuper deletes whole messages)', async () => {
    await enqueue([
      ['alice@example.org', ['hill@domain.tld', 'carol@other.example']],
      ['alice@example.org', ['carol@other.example']],
    ]);
    const report = await queueAction(ssh, 'delete', { recipient: 'hill@domain.tld' });
    expect(report.count).toBe(1);
    expect(report.shared).toEqual(report.done);
    expect(recipientsOf(await hostQueue())).toEqual(['carol@other.example']);
  });
});

describe('hold, release, requeue, over SSH', () => {
  it('hold by sender, release, then requeue: one postsuper call each, counts as postsuper gives them', async () => {
    await enqueue([
      ['alice@example.org', ['a@domain.tld']],
      ['alice@EXAMPLE.org', ['b@domain.tld']],
      ['Alice@example.org', ['c@domain.tld']],
      ['bob@example.net', ['d@domain.tld']],
    ]);
    const held = await queueAction(ssh, 'hold', { sender: 'alice@example.org' });
    expect(held).toMatchObject({ count: 2, summary: 'Placed on hold: 2 messages' });
    const q1 = await hostQueue();
    expect(recipientsOf(q1.filter((m) => m.queue_name === 'hold'))).toEqual(['a@domain.tld', 'b@domain.tld']);

    // Holding again selects nothing new: hold applies to mail not yet held.
    expect((await queueAction(ssh, 'hold', { sender: 'alice@example.org' }, { dryRun: true })).selected).toHaveLength(0);

    const released = await queueAction(ssh, 'release', { queue: 'hold' });
    expect(released).toMatchObject({ count: 2, summary: 'Released from hold: 2 messages' });
    await until('released mail back in deferred', async () => (await hostQueue()).every((m) => m.queue_name === 'deferred'));

    const requeued = await queueAction(ssh, 'requeue', { recipient: 'd@domain.tld' });
    expect(requeued).toMatchObject({ count: 1, summary: 'Requeued: 1 message' });
    // Requeued mail waits in maildrop until pickup's next wake-up (up to 60 s, stock Postfix); kick
    // pickup here to not wait for it, then it goes through cleanup again and ends up deferred.
    expect((await hostQueue()).find((m) => m.recipients[0].address === 'd@domain.tld')!.queue_name).toBe('maildrop');
    await host.exec(['postkick', 'public', 'pickup', 'W']);
    await until('requeued mail deferred again', async () => {
      const q = await hostQueue();
      return q.length === 4 && q.every((m) => m.queue_name === 'deferred');
    });
    expect(recipientsOf(await hostQueue())).toEqual(['a@domain.tld', 'b@domain.tld', 'c@domain.tld', 'd@domain.tld']);
  });

  it('a message that left the queue before postsuper is reported, not an error', async () => {
    await enqueue([['alice@example.org', ['gone@domain.tld']]]);
    const [m] = await hostQueue();
    await host.exec(['postsuper', '-d', m.queue_id]);
    const r = await runPostsuper(ssh, 'delete', [m.queue_id]);
    expect(r).toMatchObject({ count: 0, done: [] });
  });

  it('works as a non-root user through sudo -n', async () => {
    await enqueue([['alice@example.org', ['sudo@domain.tld']]]);
    const viaSudo = await SshQueueExecutor.connect({
      host: host.address,
      user: host.sudoUser,
      privateKeyPath: host.privateKeyPath,
      knownHostsPath: host.knownHostsPath,
    });
    try {
      const r = await queueAction(viaSudo, 'hold', { recipient: 'sudo@domain.tld' });
      expect(r.count).toBe(1);
      expect((await hostQueue())[0].queue_name).toBe('hold');
    } finally {
      viaSudo.close();
    }
  });
});

describe('the CLI', () => {
  async function cli(...args: string[]): Promise<string> {
    const program = new Command().exitOverride();
    registerQueueCommand(program);
    const out: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    try {
      await program.parseAsync([
        'node',
        'cdktf-postfix',
        ...args,
        '--host',
        host.address,
        '--identity',
        host.privateKeyPath,
        '--known-hosts',
        host.knownHostsPath,
      ]);
    } finally {
      spy.mockRestore();
    }
    return out.join('');
  }

  it('queue list prints a table; queue delete --json reports what postsuper did', async () => {
    await enqueue([
      ['alice@example.org', ['hill@domain.tld']],
      ['alice@example.org', ['bill@domain.tld']],
    ]);
    const table = await cli('queue', 'list', '--queue', 'deferred');
    expect(table.split('\n')[0]).toMatch(/^ID\s+QUEUE\s+AGE\s+SIZE\s+SENDER\s+RECIPIENTS$/);
    expect(table).toMatch(/deferred .* alice@example\.org\s+hill@domain\.tld\n/);

    const dry = await cli('queue', 'delete', '--recipient', 'hill@domain.tld', '--dry-run');
    expect(dry).toMatch(/would delete 1 message \(dry run/);
    expect(await hostQueue()).toHaveLength(2);

    const report = JSON.parse(await cli('queue', 'delete', '--recipient', 'hill@domain.tld', '--json')) as QueueActionReport;
    expect(report).toMatchObject({ action: 'delete', count: 1, dryRun: false });
    expect(recipientsOf(await hostQueue())).toEqual(['bill@domain.tld']);
  });
});

describe('the local executor, run inside the lab host', () => {
  // The CLI without --host reads the queue of the machine it runs on. Run it inside the lab host's
  // mount namespace, so "this machine" is the lab host and the test owns every message it sees: the
  // machine running the tests may have no Postfix at all, or a stopped one (as on a fresh CI machine).
  const CLI = path.resolve(__dirname, '../../dist/bin/cdktf-postfix.js');
  const local = (...args: string[]) => host.exec([process.execPath, CLI, 'queue', ...args]);

  it("lists the host's queue as JSON and dry-runs a delete through postqueue/postsuper on the same machine", async () => {
    await enqueue([
      ['alice@example.org', ['local@domain.tld']],
      ['alice@example.org', ['other@domain.tld']],
    ]);
    const listed = await local('list', '--json');
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    const selection = JSON.parse(listed.stdout) as { where: string; messages: QueueMessage[] };
    expect(selection.where).toBe('local');
    expect(recipientsOf(selection.messages)).toEqual(['local@domain.tld', 'other@domain.tld']);

    const dry = await local('delete', '--recipient', 'local@domain.tld', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    const report = JSON.parse(dry.stdout) as QueueActionReport;
    expect(report).toMatchObject({ where: 'local', dryRun: true, count: 0 });
    expect(report.selected.map((m) => m.recipients[0].address)).toEqual(['local@domain.tld']);
    expect(await hostQueue()).toHaveLength(2);

    const deleted = await local('delete', '--recipient', 'local@domain.tld', '--json');
    expect(deleted.code).toBe(0);
    expect(JSON.parse(deleted.stdout)).toMatchObject({ where: 'local', count: 1 });
    expect(recipientsOf(await hostQueue())).toEqual(['other@domain.tld']);
  });

  // Two stopped states: stopped after a run (showq's socket is left behind; root's postqueue then
  // reads the queue files itself and exits 0 with a warning) and never started, as on a fresh
  // machine right after `apt-get install postfix` (no socket; postqueue dies with "malformed showq
  // server response"). Both must say that Postfix is not running, with the fix, and exit 1.
  it.each([
    ['stopped after running', [] as string[][]],
    ['never started (no showq socket)', [['rm', '-f', '/var/spool/postfix/public/showq']]],
  ])('with Postfix %s, queue list says Postfix is not running and how to fix it (exit 1), locally and over SSH', async (_state, extra) => {
    await enqueue([['alice@example.org', ['stopped@domain.tld']]]);
    expect((await host.exec(['postfix', 'stop'])).code).toBe(0);
    try {
      for (const argv of extra) expect((await host.exec(argv)).code).toBe(0);
      const raw = await host.exec(['postqueue', '-j']);
      expect(raw.stderr).toMatch(/Mail system is down/);
      const r = await local('list');
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: '' });
      expect(r.stderr).toMatch(/^cdktf-postfix: local: Postfix is not running/);
      expect(r.stderr).toMatch(
        /Fix: start it there \(`postfix start`, or `systemctl start postfix`\), or point --host at a mail host whose Postfix runs/,
      );
      expect(r.stderr).not.toMatch(/malformed showq|Mail system is down/);

      await expect(queueAction(ssh, 'delete', { recipient: 'stopped@domain.tld' }, { dryRun: true })).rejects.toThrow(
        PostfixNotRunningError,
      );
      await expect(queueAction(ssh, 'delete', { recipient: 'stopped@domain.tld' })).rejects.toThrow(
        `${host.address}: Postfix is not running`,
      );
    } finally {
      expect((await host.exec(['postfix', 'start'])).code).toBe(0);
    }
    // Nothing was touched while Postfix was down, and the queue answers again once it runs.
    expect(recipientsOf(await hostQueue())).toEqual(['stopped@domain.tld']);
    expect((await local('list', '--json')).code).toBe(0);
  });
});
