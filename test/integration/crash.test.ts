/**
 * A crash-safe transaction on a real lab host: the remote script is SIGKILLed after each step
 * (lab-only fault injection: CDKTF_POSTFIX_FAULT in the runner's environment AND a marker file on
 * the host), and the configuration directory fills up. After each fault, the next connection
 * finishes or undoes the interrupted transaction: the host's managed files are entirely old or
 * entirely new, Postfix answers SMTP with the matching banner, the deferred message is still
 * queued, and the next apply converges (applied or unchanged, then unchanged).
 */
import { Lab, LabHost, startLab } from '../lab';
import { PostfixHost } from '../../index';
import { applyStack, diffStack, labConnection, synthStack } from '../helpers/deploy';
import { smtpGreeting } from '../helpers/smtp-client';

jest.setTimeout(300_000);

let lab: Lab;
let h: LabHost;
const S = '/etc/postfix/.cdktf-postfix';

function stack(version: 'old' | 'new'): string {
  return synthStack((s) => {
    const host = new PostfixHost(s, 'mx', { connection: labConnection(h), settings: { smtpd_banner: `$myhostname ESMTP ${version}`, default_transport: 'smtp', relay_transport: 'smtp', defer_transports: 'smtp' } });
    host.state.addFile({ path: '/etc/postfix/senders', content: `${version}@bad.example REJECT\n`, postmap: 'hash' }, 'test');
    host.state.addFile({ path: '/etc/postfix/extra', content: `${version}\n` }, 'test');
  });
}

/** The host's managed state: hashes of the files, the index answers, the applied bundle hash. */
async function snapshot(): Promise<string> {
  const r = await h.exec(['sh', '-c', 'cd /etc/postfix && sha256sum main.cf master.cf senders extra .cdktf-postfix/applied_sha256 && for v in old new; do postmap -q $v@bad.example hash:/etc/postfix/senders || echo none; done']);
  expect(r.code).toBe(0);
  return r.stdout;
}

async function leftovers(): Promise<string> {
  return (await h.exec(['sh', '-c', `find /etc/postfix -name '*.cdktf-new' -o -name '*.cdktf-restore'; ls ${S}/journal 2>/dev/null; true`])).stdout;
}

async function deferredIds(): Promise<string[]> {
  const r = await h.exec(['sh', '-c', 'find /var/spool/postfix/deferred -type f -printf "%f\\n" | sort']);
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
  expect((await applyStack(stack('new')))[0].result).toBe('applied');
  NEW = await snapshot();
  expect((await applyStack(stack('old')))[0].result).toBe('applied');
  OLD = await snapshot();
  expect(OLD).not.toBe(NEW);
  // One message in the deferred queue (the smtp transport deferred: never attempted, no network).
  const sent = await h.exec(['sendmail', '-f', 'a@lab.test', '--', 'b@remote.example'], { input: 'Subject: keep me\n\nqueued\n' });
  expect(sent.stderr).toBe('');
  expect(sent.code).toBe(0);
  for (let i = 0; i < 300 && queued.length === 0; i++) {
    queued = await deferredIds();
    if (queued.length === 0) await new Promise((r) => setTimeout(r, 100));
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

/** After a fault: settle (a diff is the next connection), check the host, converge, go back to old. */
async function settleAndConverge(expected: 'old' | 'new'): Promise<void> {
  const [d] = await diffStack(stack('new'));
  expect(d).toBeDefined();
  expect(await snapshot()).toBe(expected === 'old' ? OLD : NEW);
  expect(await leftovers()).toBe('');
  expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP ${expected}`);
  expect(await deferredIds()).toEqual(queued);
  const [again] = await applyStack(stack('new'));
  expect(again.error).toBeUndefined();
  expect(again.result).toBe(expected === 'old' ? 'applied' : 'unchanged');
  expect((await applyStack(stack('new')))[0].result).toBe('unchanged');
  expect(await snapshot()).toBe(NEW);
  expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP new`);
  expect((await applyStack(stack('old')))[0].result).toBe('applied');
  expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP old`);
}

// Before the journal is committed nothing live changed (old); after it every staged file is
// verified, so the interrupted transaction is rolled forward (new).
test.each([
  ['backup', 'old'],
  ['validate', 'old'],
  ['stage', 'new'],
  ['rename1', 'new'],
  ['swap', 'new'],
  ['reload', 'new'],
] as const)('SIGKILL after %s: the host ends up entirely %s', async (step, expected) => {
  const [r] = await withFault(`kill-after:${step}`, () => applyStack(stack('new')));
  expect(r.result).not.toBe('applied');
  if (step === 'rename1') {
    // Really killed midway: the first rename happened, the rest did not.
    expect(await snapshot()).not.toBe(OLD);
    expect(await snapshot()).not.toBe(NEW);
  }
  await settleAndConverge(expected);
});

test('a full filesystem under /etc/postfix fails the staging copy and changes nothing', async () => {
  // A small tmpfs over the host's /etc/postfix (its own mount namespace), holding a copy of the config.
  const setup = [
    'set -e',
    'rm -rf /tmp/etc-postfix-copy && cp -a /etc/postfix /tmp/etc-postfix-copy',
    'mount -t tmpfs -o size=4m,mode=0755 tmpfs /etc/postfix',
    'cp -a /tmp/etc-postfix-copy/. /etc/postfix/',
    'dd if=/dev/zero of=/etc/postfix/filler bs=64k 2>/dev/null || true',
  ].join('\n');
  expect((await h.exec(['sh', '-c', setup])).code).toBe(0);
  try {
    expect(await snapshot()).toBe(OLD);
    const [r] = await applyStack(stack('new'));
    expect(r.result).toBe('failed');
    expect(r.error).toMatch(/filesystem full|cannot write|No space/);
    expect(await snapshot()).toBe(OLD);
    expect(await leftovers()).toBe('');
    expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP old`);
    expect(await deferredIds()).toEqual(queued);
    expect((await h.exec(['rm', '-f', '/etc/postfix/filler'])).code).toBe(0);
    await settleAndConverge('old');
  } finally {
    await h.exec(['sh', '-c', 'umount /etc/postfix; postfix reload']);
  }
});
