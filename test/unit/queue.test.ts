/** Pure parts of the queue tool: postqueue -j parsing, exact selection, postsuper output, flags. */
import { Command } from 'commander';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  actionApplies,
  addressKey,
  CommandResult,
  isEmptySelector,
  parseAge,
  parsePostqueueJson,
  parsePostsuperOutput,
  QueueCommand,
  QueueExecutor,
  QueueMessage,
  queueAction,
  QUEUE_COMMANDS,
  selectMessages,
  sharedMessages,
  sortMessages,
} from '../../lib/ops/queue';
import { addConnectionOptions, connectionFromOptions } from '../../bin/connection-flags';
import { formatAge, formatTable, registerQueueCommand } from '../../bin/commands/queue';

const NOW = 1_800_000_000;

function line(id: string, queue: string, ageSeconds: number, sender: string, recipients: string[]): string {
  return JSON.stringify({
    queue_name: queue,
    queue_id: id,
    arrival_time: NOW - ageSeconds,
    message_size: 400,
    forced_expire: false,
    sender,
    recipients: recipients.map((address) => ({ address, delay_reason: 'deferred transport' })),
  });
}

// Shaped exactly like Postfix 3.7's `postqueue -j` (one object a line, trailing newline).
const QUEUE =
  [
    line('A1B2C3D4E5', 'deferred', 7200 + 5, 'alice@example.org', ['hill@domain.tld']),
    line('B1B2C3D4E5', 'deferred', 60, 'alice@example.org', ['bill@domain.tld']),
    line('C1B2C3D4E5', 'deferred', 3 * 86400, 'Alice@Example.ORG', ['hill@domain.tld.example']),
    line('D1B2C3D4E5', 'hold', 30, '', ['HILL@domain.tld']),
    line('E1B2C3D4E5', 'active', 10, 'bob@example.net', ['hill@DOMAIN.TLD', 'carol@other.example']),
    line('F1B2C3D4E5', 'incoming', 1, 'bob@example.net', ['xhill@domain.tld']),
  ].join('\n') + '\n';

const ids = (ms: QueueMessage[]) => ms.map((m) => m.queue_id).sort();

describe('parsePostqueueJson', () => {
  it('reads every field of every line', () => {
    const ms = parsePostqueueJson(QUEUE);
    expect(ms).toHaveLength(6);
    expect(ms[0]).toEqual({
      queue_name: 'deferred',
      queue_id: 'A1B2C3D4E5',
      arrival_time: NOW - 7205,
      message_size: 400,
      forced_expire: false,
      sender: 'alice@example.org',
      recipients: [{ address: 'hill@domain.tld', delay_reason: 'deferred transport' }],
    });
    expect(ms[3].sender).toBe('');
  });

  it('accepts an empty queue and recipients without a delay reason', () => {
    expect(parsePostqueueJson('')).toEqual([]);
    const [m] = parsePostqueueJson(
      '{"queue_name": "maildrop", "queue_id": "88E6F20C2E4", "arrival_time": 1795979514, "message_size": 77, "forced_expire": false, "sender": "root", "recipients": [{"address": "x@y.example"}]}\n',
    );
    expect(m.recipients).toEqual([{ address: 'x@y.example' }]);
  });

  it('refuses mailq text and ids that could smuggle anything to postsuper', () => {
    expect(() => parsePostqueueJson('-Queue ID-  --Size-- ----Arrival Time----\n')).toThrow(/line 1.*not JSON/);
    expect(() => parsePostqueueJson(JSON.stringify({ queue_name: 'deferred', queue_id: 'ALL\nX', recipients: [] }))).toThrow(/queue_id/);
  });
});

describe('exact recipient selection', () => {
  const ms = parsePostqueueJson(QUEUE);
  const byRcpt = (r: string) => ids(selectMessages(ms, { recipient: r }, NOW));

  it('hill@domain.tld: not bill@, not hill@domain.tld.example, not HILL@ (other local part), not xhill@', () => {
    expect(byRcpt('hill@domain.tld')).toEqual(['A1B2C3D4E5', 'E1B2C3D4E5']);
  });
  it('the domain matches in any case: hill@DOMAIN.TLD is the same recipient', () => {
    expect(byRcpt('hill@DOMAIN.TLD')).toEqual(['A1B2C3D4E5', 'E1B2C3D4E5']);
    expect(byRcpt('<hill@Domain.Tld>')).toEqual(['A1B2C3D4E5', 'E1B2C3D4E5']);
  });
  it('the local part matches only as written', () => {
    expect(byRcpt('HILL@domain.tld')).toEqual(['D1B2C3D4E5']);
    expect(byRcpt('Hill@domain.tld')).toEqual([]);
  });
  it('no substring or suffix matches', () => {
    expect(byRcpt('domain.tld')).toEqual([]);
    expect(byRcpt('ill@domain.tld')).toEqual([]);
    expect(byRcpt('hill@domain.tld.example')).toEqual(['C1B2C3D4E5']);
  });
  it('addressKey lowercases the domain only, at the last @', () => {
    expect(addressKey('"a@b"@EX.org')).toBe('"a@b"@ex.org');
    expect(addressKey('Root')).toBe('Root');
  });
});

describe('other selectors', () => {
  const ms = parsePostqueueJson(QUEUE);

  it('sender: exact, domain case-insensitive; "<>" and "" are the null sender', () => {
    expect(ids(selectMessages(ms, { sender: 'alice@EXAMPLE.org' }, NOW))).toEqual(['A1B2C3D4E5', 'B1B2C3D4E5']);
    expect(ids(selectMessages(ms, { sender: 'Alice@example.org' }, NOW))).toEqual(['C1B2C3D4E5']);
    expect(ids(selectMessages(ms, { sender: '<>' }, NOW))).toEqual(['D1B2C3D4E5']);
    expect(ids(selectMessages(ms, { sender: '' }, NOW))).toEqual(['D1B2C3D4E5']);
  });

  it('ids, queue and age, ANDed', () => {
    expect(ids(selectMessages(ms, { ids: ['B1B2C3D4E5', 'D1B2C3D4E5', 'NOTQUEUED12'] }, NOW))).toEqual(['B1B2C3D4E5', 'D1B2C3D4E5']);
    expect(ids(selectMessages(ms, { queue: 'deferred' }, NOW))).toEqual(['A1B2C3D4E5', 'B1B2C3D4E5', 'C1B2C3D4E5']);
    expect(ids(selectMessages(ms, { olderThan: parseAge('2h') }, NOW))).toEqual(['A1B2C3D4E5', 'C1B2C3D4E5']);
    expect(ids(selectMessages(ms, { newerThan: parseAge('1m') }, NOW))).toEqual(['D1B2C3D4E5', 'E1B2C3D4E5', 'F1B2C3D4E5']);
    expect(ids(selectMessages(ms, { olderThan: 3600, newerThan: 86400 }, NOW))).toEqual(['A1B2C3D4E5']);
    expect(ids(selectMessages(ms, { queue: 'deferred', recipient: 'hill@domain.tld' }, NOW))).toEqual(['A1B2C3D4E5']);
  });

  it('an empty selector selects everything, and is recognised as empty', () => {
    expect(selectMessages(ms, {}, NOW)).toHaveLength(6);
    expect(isEmptySelector({})).toBe(true);
    expect(isEmptySelector({ ids: [] })).toBe(true);
    expect(isEmptySelector({ sender: '' })).toBe(false);
  });

  it('release applies to held mail only, hold to mail not yet held', () => {
    const held = ms.find((m) => m.queue_name === 'hold')!;
    const deferred = ms[0];
    expect([actionApplies('release', held), actionApplies('release', deferred)]).toEqual([true, false]);
    expect([actionApplies('hold', held), actionApplies('hold', deferred)]).toEqual([false, true]);
  });

  it('names messages that also go to other recipients (postsuper acts on whole messages)', () => {
    const sel = { recipient: 'hill@domain.tld' };
    expect(sharedMessages(selectMessages(ms, sel, NOW), sel)).toEqual(['E1B2C3D4E5']);
  });

  it('sorts oldest first', () => {
    expect(sortMessages(ms).map((m) => m.queue_id)[0]).toBe('C1B2C3D4E5');
  });
});

describe('parseAge', () => {
  it.each([
    ['30s', 30],
    ['15m', 900],
    ['2h', 7200],
    ['3d', 259200],
    ['1w', 604800],
    ['1d12h', 129600],
    ['2H', 7200],
  ])('%s = %i s', (t, s) => {
    expect(parseAge(t)).toBe(s);
  });
  it.each(['', '2', 'h', '2x', '-1h', '1.5h', '2 h'])('refuses %j', (t) => {
    expect(() => parseAge(t)).toThrow(/not an age/);
  });
});

describe('parsePostsuperOutput', () => {
  it('reads per-message lines, the summary and warnings', () => {
    const r = parsePostsuperOutput(
      'postsuper: A1B2C3D4E5: removed\npostsuper: B1B2C3D4E5: removed\npostsuper: warning: invalid mail queue id: x!\npostsuper: Deleted: 2 messages\n',
    );
    expect(r).toEqual({
      done: ['A1B2C3D4E5', 'B1B2C3D4E5'],
      count: 2,
      summary: 'Deleted: 2 messages',
      warnings: ['warning: invalid mail queue id: x!'],
    });
    expect(parsePostsuperOutput('postsuper: A1B2C3D4E5: placed on hold\npostsuper: Placed on hold: 1 message\n').count).toBe(1);
    expect(parsePostsuperOutput('postsuper: Released from hold: 0 messages\n')).toMatchObject({ done: [], count: 0 });
    expect(parsePostsuperOutput('postsuper: A1B2C3D4E5: requeued\n')).toMatchObject({ done: ['A1B2C3D4E5'], count: 1 });
  });
});

/** An executor that records what it is asked to run and answers from a fixed queue. */
class FakeExecutor implements QueueExecutor {
  readonly where = 'fake';
  readonly calls: { command: QueueCommand; stdin?: string }[] = [];
  constructor(
    private readonly queue: string,
    private readonly gone: string[] = [],
  ) {}
  async run(command: QueueCommand, stdin?: string): Promise<CommandResult> {
    this.calls.push({ command, stdin });
    if (command === 'list') return { code: 0, stdout: this.queue, stderr: '' };
    if (command === 'clock') return { code: 0, stdout: `${NOW}\n`, stderr: '' };
    const done = (stdin ?? '').split('\n').filter((id) => id && !this.gone.includes(id));
    return {
      code: 0,
      stdout: '',
      stderr: done.map((id) => `postsuper: ${id}: removed\n`).join('') + `postsuper: Deleted: ${done.length} messages\n`,
    };
  }
  close(): void {}
}

describe('queueAction', () => {
  it('runs one postsuper call with the selected ids on stdin, and only constant commands', async () => {
    const ex = new FakeExecutor(QUEUE);
    const r = await queueAction(ex, 'delete', { recipient: 'hill@domain.tld' });
    const postsuper = ex.calls.filter((c) => c.command === 'delete');
    expect(postsuper).toEqual([{ command: 'delete', stdin: 'A1B2C3D4E5\nE1B2C3D4E5\n' }]);
    expect(r).toMatchObject({ count: 2, done: ['A1B2C3D4E5', 'E1B2C3D4E5'], missed: [], shared: ['E1B2C3D4E5'], dryRun: false });
    expect(QUEUE_COMMANDS.delete.join(' ')).toBe('postsuper -d -');
  });

  it('dry run lists only', async () => {
    const ex = new FakeExecutor(QUEUE);
    const r = await queueAction(ex, 'delete', { recipient: 'hill@domain.tld' }, { dryRun: true });
    expect(ex.calls.map((c) => c.command).sort()).toEqual(['clock', 'list']);
    expect(r.selected.map((m) => m.queue_id)).toEqual(['A1B2C3D4E5', 'E1B2C3D4E5']);
  });

  it('reports messages that left the queue between the list and postsuper', async () => {
    const r = await queueAction(new FakeExecutor(QUEUE, ['A1B2C3D4E5']), 'delete', { recipient: 'hill@domain.tld' });
    expect(r).toMatchObject({ count: 1, missed: ['A1B2C3D4E5'] });
  });

  it('makes no postsuper call when nothing matches', async () => {
    const ex = new FakeExecutor(QUEUE);
    const r = await queueAction(ex, 'delete', { recipient: 'nobody@domain.tld' });
    expect(ex.calls.some((c) => c.command === 'delete')).toBe(false);
    expect(r.count).toBe(0);
  });
});

describe('connection flags', () => {
  it('--host goes through the endpoint parser (test/unit/endpoint.test.ts has every form)', () => {
    expect(connectionFromOptions({ host: '[2001:db8::1]:2222' })).toEqual({ host: '2001:db8::1', port: 2222 });
    expect(connectionFromOptions({ host: '2001:db8::1' })).toEqual({ host: '2001:db8::1' });
    expect(() => connectionFromOptions({ host: 'mx1:0' })).toThrow(/--host = "mx1:0": port "0" is not a TCP port/);
  });

  it('maps flags to a ConnectionSpec; none means this machine', () => {
    expect(connectionFromOptions({})).toBeUndefined();
    expect(connectionFromOptions({ host: 'mx1:2200', user: 'deploy', identity: '/k', knownHosts: '/kh' })).toEqual({
      host: 'mx1',
      port: 2200,
      user: 'deploy',
      privateKeyPath: '/k',
      knownHostsPath: '/kh',
    });
  });

  it('refuses flags that make no sense together', () => {
    expect(() => connectionFromOptions({ user: 'root' })).toThrow(/--user.*no host/);
    expect(() => connectionFromOptions({ host: 'a', stack: 'b' })).toThrow(/cannot be combined/);
    expect(() => connectionFromOptions({ target: 'mx1' })).toThrow(/needs --stack/);
    expect(() => connectionFromOptions({ host: 'a', hostKey: 'MD5:xx' })).toThrow(
      /--host-key = "MD5:xx": is neither a SHA256 fingerprint nor an OpenSSH public key line/,
    );
    expect(() => connectionFromOptions({ host: 'a', hostKey: 'SHA256:short' })).toThrow(
      /--host-key = "SHA256:short": not a SHA256 host key fingerprint/,
    );
    expect(() => connectionFromOptions({ host: 'a', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5' })).toThrow(
      /--host-key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5": .*truncated/,
    );
  });

  it("--host-key takes a fingerprint or an OpenSSH public key line; with --stack it replaces both of the stack's pins", () => {
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]);
    const line = `ssh-ed25519 ${blob.toString('base64')} root@mx1`;
    const fingerprint = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
    expect(connectionFromOptions({ host: 'mx1', hostKey: line })).toEqual({ host: 'mx1', hostKey: line });
    expect(connectionFromOptions({ host: 'mx1', hostKey: fingerprint })).toEqual({ host: 'mx1', hostKeyFingerprint: fingerprint });
    expect(() => connectionFromOptions({ hostKey: line })).toThrow(/--host-key.*no host to connect to/);
    const dir = mkdtempSync(join(tmpdir(), 'queue-pin-'));
    try {
      writeFileSync(
        join(dir, 'cdk.tf.json'),
        JSON.stringify({
          resource: {
            terraform_data: {
              mx1_apply: {
                '//': { metadata: { path: 'mail/mx1/apply' } },
                provisioner: [
                  {
                    'local-exec': {
                      interpreter: ['node', 'assets/cdktf-postfix-runner.js'],
                      command: 'assets/mx1.json',
                      environment: { CDKTF_POSTFIX_HOST: '192.0.2.1', CDKTF_POSTFIX_HOST_KEY: fingerprint },
                    },
                  },
                ],
              },
            },
          },
        }),
      );
      expect(connectionFromOptions({ stack: dir })).toEqual({ host: '192.0.2.1', hostKeyFingerprint: fingerprint });
      expect(connectionFromOptions({ stack: dir, hostKey: line })).toEqual({ host: '192.0.2.1', hostKey: line });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--stack reuses the connection of a host; --target picks one; flags refine it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'queue-stack-'));
    try {
      const host = (name: string, address: string) => ({
        '//': { metadata: { path: `mail/${name}/apply` } },
        provisioner: [
          {
            'local-exec': {
              interpreter: ['node', 'assets/cdktf-postfix-runner.js'],
              command: `assets/${name}.json`,
              environment: { CDKTF_POSTFIX_HOST: address, CDKTF_POSTFIX_PORT: '2222', CDKTF_POSTFIX_USER: 'deploy' },
            },
          },
        ],
      });
      writeFileSync(
        join(dir, 'cdk.tf.json'),
        JSON.stringify({ resource: { terraform_data: { mx1_apply: host('mx1', '192.0.2.1'), mx2_apply: host('mx2', '192.0.2.2') } } }),
      );
      expect(connectionFromOptions({ stack: dir, target: 'mx2' })).toEqual({ host: '192.0.2.2', port: '2222', user: 'deploy' });
      expect(connectionFromOptions({ stack: dir, target: 'mx1', identity: '/k' })).toMatchObject({
        host: '192.0.2.1',
        privateKeyPath: '/k',
      });
      expect(() => connectionFromOptions({ stack: dir })).toThrow(/has 2 hosts.*--target mx1/);
      expect(() => connectionFromOptions({ stack: dir, target: 'mx9' })).toThrow(/no host in the stack/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('registers the same flags on any command', () => {
    const names = addConnectionOptions(new Command('x')).options.map((o) => o.long);
    expect(names).toEqual(['--host', '--user', '--identity', '--known-hosts', '--host-key', '--stack', '--target']);
  });
});

describe('queue command', () => {
  function program(): Command {
    const p = new Command().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    registerQueueCommand(p);
    return p;
  }

  it('delete without a selector refuses and says how to delete all on purpose', async () => {
    await expect(program().parseAsync(['node', 'x', 'queue', 'delete'])).rejects.toThrow(/--all/);
  });

  it('refuses an unknown queue name and a bad age before connecting', async () => {
    await expect(program().parseAsync(['node', 'x', 'queue', 'list', '--queue', 'bogus'])).rejects.toThrow(/Allowed choices/);
    await expect(program().parseAsync(['node', 'x', 'queue', 'list', '--older-than', '2'])).rejects.toThrow(/not an age/);
  });

  it('formats ages and a table', () => {
    expect([formatAge(5), formatAge(125), formatAge(3 * 3600 + 300), formatAge(2 * 86400 + 4 * 3600)]).toEqual([
      '5s',
      '2m',
      '3h05m',
      '2d4h',
    ]);
    const t = formatTable(parsePostqueueJson(QUEUE).slice(3, 5), NOW);
    expect(t.split('\n')[0]).toMatch(/^ID\s+QUEUE\s+AGE\s+SIZE\s+SENDER\s+RECIPIENTS$/);
    expect(t).toContain('<>');
    expect(t).toContain('hill@DOMAIN.TLD, carol@other.example');
  });
});
