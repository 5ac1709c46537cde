/**
 * A crash-safe transaction on a real lab host. Lab-only fault injection (CDKTF_POSTFIX_FAULT in the
 * runner's environment AND a marker file the lab creates on the host; either alone does nothing):
 * the remote script is SIGKILLed right after each step, the connection is cut in the middle of the
 * swap, and the configuration directory (a small tmpfs over /etc/postfix) fills up. After each
 * fault, the next connection finishes or undoes the interrupted transaction before anything else:
 * the host's managed files are entirely old or entirely new, Postfix answers SMTP with the matching
 * banner, the queued message is still queued, and the next apply converges.
 */
import { Lab, LabHost, startLab } from '../lab';
import { PostfixConnection, PostfixHost } from '../../index';
import { applyStack, diffStack, labConnection, synthStack } from '../helpers/deploy';
import { smtpGreeting } from '../helpers/smtp-client';
import { startCutProxy } from '../helpers/cut-proxy';

jest.setTimeout(300_000);

let lab: Lab;
let h: LabHost;
const S = '/etc/postfix/.cdktf-postfix';

type Version = 'old' | 'new';
function stack(version: Version, connection?: PostfixConnection): string {
  return synthStack((s) => {
    const host = new PostfixHost(s, 'mx', {
      connection: connection ?? labConnection(h),
      // The smtp transport is deferred: a message to a remote domain stays in the queue, untried.
      settings: {
        smtpd_banner: `$myhostname ESMTP ${version}`,
        default_transport: 'smtp',
        relay_transport: 'smtp',
        defer_transports: 'smtp',
      },
    });
    host.state.addFile({ path: '/etc/postfix/senders', content: `${version}@bad.example REJECT\n`, postmap: 'hash' }, 'test');
    host.state.addFile({ path: '/etc/postfix/extra', content: `${version}\n` }, 'test');
    if (version === 'new') host.state.addFile({ path: '/etc/postfix/only-new', content: 'new\n' }, 'test');
  });
}

/** The host's managed state: file hashes (or "absent"), the index's answers, the applied bundle hash. */
async function snapshot(): Promise<string> {
  const script = [
    'cd /etc/postfix || exit 1',
    'for f in main.cf master.cf senders senders.db extra only-new .cdktf-postfix/applied_sha256; do',
    // A Berkeley DB file differs byte for byte between two postmap runs of one table: compare its
    // presence here and its answers below.
    '  if [ ! -f "$f" ]; then echo "absent $f"; elif [ "$f" = senders.db ]; then echo "present $f"; else sha256sum "$f"; fi',
    'done',
    // The record lists the same files, in the order they were first managed.
    'sort .cdktf-postfix/files.orig | sha256sum',
    'for v in old new; do postmap -q $v@bad.example hash:/etc/postfix/senders || echo none; done',
  ].join('\n');
  const r = await h.exec(['sh', '-c', script]);
  expect(r.code).toBe(0);
  return r.stdout;
}

/** Staging copies, restore copies or a journal left anywhere under the config directory. */
async function leftovers(): Promise<string> {
  return (
    await h.exec([
      'sh',
      '-c',
      `find /etc/postfix \\( -name '*.cdktf-new*' -o -name '*.cdktf-restore' -o -name '*.new' \\) -print; ls -d ${S}/journal ${S}/fault-paused 2>/dev/null; true`,
    ])
  ).stdout;
}

/** Every message in the host's queue, by queue id (mailq's first column). */
async function queueIds(): Promise<string[]> {
  const r = await h.exec([
    'sh',
    '-c',
    'find /var/spool/postfix/deferred /var/spool/postfix/active /var/spool/postfix/incoming -type f -printf "%f\\n" | sort',
  ]);
  return r.stdout.split('\n').filter(Boolean);
}

async function withFault<T>(fault: string, f: () => Promise<T>): Promise<T> {
  process.env.CDKTF_POSTFIX_FAULT = fault;
  try {
    return await f();
  } finally {
    delete process.env.CDKTF_POSTFIX_FAULT;
  }
}

let OLD = '';
let NEW = '';
let queued: string[] = [];

beforeAll(async () => {
  lab = await startLab({ count: 1 });
  h = lab.hosts[0];
  const first = (await applyStack(stack('new')))[0];
  expect(first.error).toBeUndefined();
  NEW = await snapshot();
  expect((await applyStack(stack('old')))[0].result).toBe('applied');
  OLD = await snapshot();
  expect(OLD).not.toBe(NEW);
  const sent = await h.exec(['sendmail', '-f', 'a@lab.test', '--', 'b@remote.example'], { input: 'Subject: keep me\n\nqueued\n' });
  expect(sent.stderr).toBe('');
  expect(sent.code).toBe(0);
  for (let i = 0; i < 100 && queued.length === 0; i++) {
    queued = (await h.exec(['sh', '-c', 'find /var/spool/postfix/deferred -type f -printf "%f\\n" | sort'])).stdout
      .split('\n')
      .filter(Boolean);
    if (queued.length === 0) await new Promise((r) => setTimeout(r, 200));
  }
  expect(queued.length).toBe(1);
}, 240_000);
afterAll(async () => {
  await lab?.stop();
});

test('fault injection is off unless the host carries the lab marker', async () => {
  const [r] = await withFault('kill-after:stage', () => applyStack(stack('new')));
  expect(r.error).toBeUndefined();
  expect(r.result).toBe('applied');
  expect(await snapshot()).toBe(NEW);
  expect((await applyStack(stack('old')))[0].result).toBe('applied');
  expect((await h.exec(['touch', `${S}/fault-injection-allowed`])).code).toBe(0);
});

/**
 * After a fault: the next connection (a diff) settles the host; check it is entirely `expected`
 * and serving; apply converges; then back to old for the next case.
 */
async function settleAndConverge(expected: Version): Promise<void> {
  const [d] = await diffStack(stack('new'));
  expect(d).toBeDefined();
  expect(await snapshot()).toBe(expected === 'old' ? OLD : NEW);
  expect(await leftovers()).toBe('');
  expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP ${expected}`);
  expect(await queueIds()).toEqual(queued);
  const [again] = await applyStack(stack('new'));
  expect(again.error).toBeUndefined();
  expect(again.result).toBe(expected === 'old' ? 'applied' : 'unchanged');
  expect((await applyStack(stack('new')))[0].result).toBe('unchanged');
  expect(await snapshot()).toBe(NEW);
  expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP new`);
  expect((await applyStack(stack('old')))[0].result).toBe('applied');
  expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP old`);
  expect(await queueIds()).toEqual(queued);
}

// Before the journal is committed nothing live changed (old); once it is, every staged copy is
// verified, so the interrupted transaction is rolled forward (new).
test.each([
  ['backup', 'old'],
  ['validate', 'old'],
  ['stage', 'new'],
  ['rename1', 'new'],
  ['swap', 'new'],
  ['reload', 'new'],
] as const)('SIGKILL right after %s: the host ends up entirely %s', async (step, expected) => {
  const [r] = await withFault(`kill-after:${step}`, () => applyStack(stack('new')));
  expect(r.result).toBe('failed');
  if (step === 'rename1') {
    // Really killed midway: the first rename happened, the others did not.
    const mixed = await snapshot();
    expect(mixed).not.toBe(OLD);
    expect(mixed).not.toBe(NEW);
    expect((await h.exec(['test', '-f', `${S}/journal/journal`])).code).toBe(0);
  }
  await settleAndConverge(expected);
});

test('a connection cut in the middle of the swap: the host finishes the transaction on its own', async () => {
  const proxy = await startCutProxy({ host: h.address, port: 22 }, Number.MAX_SAFE_INTEGER);
  const connection = { host: '127.0.0.1', port: proxy.port, privateKeyPath: h.privateKeyPath, hostKeyFingerprint: h.hostKeyFingerprint };
  const applying = withFault('pause-after:rename1', () => applyStack(stack('new', connection)));
  try {
    for (let i = 0; i < 600 && (await h.exec(['test', '-f', `${S}/fault-paused`])).code !== 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await h.exec(['test', '-f', `${S}/fault-paused`])).code).toBe(0);
  } finally {
    await proxy.close();
  }
  const [r] = await applying;
  expect(r.result).toBe('failed');
  // The remote script goes on without its connection; let it, and wait until it let go of the lock.
  expect((await h.exec(['rm', '-f', `${S}/fault-paused`])).code).toBe(0);
  expect((await h.exec(['flock', '-w', '60', `${S}/lock`, 'true'])).code).toBe(0);
  await settleAndConverge('new');
});

test('a full filesystem under /etc/postfix fails the staging copy and changes nothing', async () => {
  // A small tmpfs over the host's /etc/postfix (its own mount namespace) holding a copy of the
  // configuration, then filled up.
  const setup = [
    'set -e',
    'rm -rf /tmp/etc-postfix-copy && cp -a /etc/postfix /tmp/etc-postfix-copy',
    'mount -t tmpfs -o size=2m,mode=0755 tmpfs /etc/postfix',
    'cp -a /tmp/etc-postfix-copy/. /etc/postfix/',
    'dd if=/dev/zero of=/etc/postfix/filler bs=4k 2>/dev/null || true',
  ].join('\n');
  expect((await h.exec(['sh', '-c', setup])).code).toBe(0);
  try {
    expect(await snapshot()).toBe(OLD);
    const [r] = await applyStack(stack('new'));
    expect(r.result).toBe('failed');
    expect(r.error).toMatch(/filesystem full|No space/);
    expect(await snapshot()).toBe(OLD);
    expect(await leftovers()).toBe('');
    expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP old`);
    expect(await queueIds()).toEqual(queued);
    expect((await h.exec(['rm', '-f', '/etc/postfix/filler'])).code).toBe(0);
    await settleAndConverge('old');
  } finally {
    await h.exec(['sh', '-c', 'umount /etc/postfix; postfix reload']);
  }
});
