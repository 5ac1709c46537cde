/**
 * The remote transaction's promises on real lab hosts: a no-op apply writes nothing under the
 * configuration directory, and a reload is acknowledged on a host without any mail log.
 */
import { Lab, LabHost, startLab } from '../../lib/lab';
import { PostfixHost } from '../../index';
import { applyStack, labConnection, synthStack } from '../helpers/deploy';
import { smtpGreeting } from '../helpers/smtp-client';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab({ count: 2 });
}, 120000);
afterAll(async () => {
  await lab?.stop();
});

function stack(h: LabHost, settings: Record<string, string | number>, table?: string): string {
  return synthStack((s) => {
    const host = new PostfixHost(s, 'mx', { connection: labConnection(h), settings });
    if (table !== undefined) host.state.addFile({ path: '/etc/postfix/senders', content: table, postmap: 'hash' }, 'test');
  });
}

/** Size, mtime and ctime (ns) of every path under the host's /etc/postfix, as the host sees them. */
async function statTree(h: LabHost): Promise<string[]> {
  const r = await h.exec(['find', '/etc/postfix', '-printf', '%p %y %s %T@ %C@\n']);
  expect(r.code).toBe(0);
  return r.stdout.split('\n').filter(Boolean).sort();
}

test('a no-op apply leaves every path under the config directory, the managed record too, with the same size, mtime and ctime', async () => {
  const h = lab.hosts[0];
  const dir = stack(h, { smtpd_banner: '$myhostname ESMTP still', delay_warning_time: '3h' }, 'spam@bad.example REJECT\n');
  const [first] = await applyStack(dir);
  expect(first.error).toBeUndefined();
  expect(first.result).toBe('applied');
  const before = await statTree(h);
  expect(before.some((l) => l.startsWith('/etc/postfix/.cdktf-postfix/'))).toBe(true);
  expect(before.some((l) => l.startsWith('/etc/postfix/senders.db '))).toBe(true);
  // ctime has nanosecond resolution, but give a careless write a clock tick to show.
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 2; i++) {
    const [again] = await applyStack(dir);
    expect(again.result).toBe('unchanged');
    expect(await statTree(h)).toEqual(before);
  }
});
