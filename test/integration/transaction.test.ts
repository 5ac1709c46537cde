/**
 * The remote transaction's promises on real lab hosts: a no-op apply writes nothing under the
 * configuration directory, a held apply that is not told to go changes nothing, and a reload is
 * acknowledged on a host without any mail log.
 */
import { Lab, LabHost, startLab } from '../lab';
import { PostfixHost, Submission } from '../../index';
import { applyStack, labConnection, synthStack } from '../helpers/deploy';
import { smtpGreeting } from '../helpers/smtp-client';
import { masterReloads } from '../helpers/mail-log';
import { loadBundle, runHostOperation } from '../../lib/apply/apply';
import { readStackHosts } from '../../lib/apply/stack';
import { buildStage } from '../../lib/apply/stage';
import { TRANSACTION_COMMAND } from '../../lib/apply/remote-script';
import { resolveConnection } from '../../lib/transport/connection';
import { SshSession } from '../../lib/transport/ssh';
import { PassThrough } from 'stream';
import { join } from 'path';

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

test('status, diff and destroy on a host where nothing was ever applied create nothing under the config directory', async () => {
  const h = lab.hosts[1];
  const before = await statTree(h);
  const host = readStackHosts(stack(h, { smtpd_banner: '$myhostname ESMTP never' }))[0];
  const bundle = loadBundle(host.bundlePath);
  for (const action of ['status', 'check', 'destroy'] as const) {
    const r = await runHostOperation({ connection: host.connection, bundle, action, env: { ...process.env, ...host.env } });
    expect(r.error).toBeUndefined();
    expect(r.result).toBe(action === 'destroy' ? 'unchanged' : action === 'check' ? 'changes' : 'status');
  }
  expect(await statTree(h)).toEqual(before);
});

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

const RECORD = '/etc/postfix/.cdktf-postfix';
/** The transactions' staging directories in the host's /tmp (other tests' killed runs may have left some). */
async function stagingDirs(h: LabHost): Promise<string[]> {
  return (await h.exec(['sh', '-c', 'ls -d /tmp/cdktf-postfix.* 2>/dev/null || :'])).stdout.split('\n').filter(Boolean).sort();
}
/** A statTree without the managed record and the config directory's own entry (whose times the record's creation changes). */
const withoutRecord = (tree: string[]) =>
  tree.filter((l) => !l.startsWith(`${RECORD} `) && !l.startsWith(`${RECORD}/`) && !l.startsWith('/etc/postfix d '));

test('a held apply changes nothing but its lock (an empty managed record) when the runner goes away (end of input), answers stop, or cuts its payloads short', async () => {
  const h = lab.hosts[1];
  const host = readStackHosts(stack(h, { smtpd_banner: '$myhostname ESMTP held' }, 'held@bad.example REJECT\n'))[0];
  const bundle = loadBundle(host.bundlePath);
  const env = { ...process.env, ...host.env };
  const session = await SshSession.connect(resolveConnection(host.connection, env));
  try {
    const before = await statTree(h);
    const staged = await stagingDirs(h);
    for (const answer of ['', 'stop\n', 'go\n100\nnot a tar']) {
      const stdin = new PassThrough();
      const stage = buildStage(
        { action: 'apply', bundle: bundle.bundle, bundleSha256: bundle.sha256, bundleDir: bundle.dir, envContents: new Map(), hold: true },
        (p) => bundle.bundle.files[p].sha256 ?? '',
      );
      stage.pipe(stdin, { end: false });
      const r = await session.exec(TRANSACTION_COMMAND, stdin, (line) => {
        if (line === 'result\thold') stdin.end(answer);
      });
      expect(r.stdout).toContain('result\thold');
      expect(r.stdout).toMatch(/^need\t[0-9a-f]{64}$/m); // the table, which the host lacks
      if (answer.startsWith('go')) {
        expect([r.code, r.stdout]).toEqual([1, expect.stringMatching(/error\tthe payloads did not arrive whole.*\nresult\tfailed\n$/s)]);
      } else {
        expect([r.code, r.stdout.trimEnd().split('\n').pop()]).toEqual([3, 'result\thold']);
      }
      // Only the apply's lock was taken: an empty managed record holds it on a host never applied to.
      const after = await statTree(h);
      expect(withoutRecord(after)).toEqual(withoutRecord(before));
      expect(after.filter((l) => l.startsWith(`${RECORD}/`) && / f /.test(l) && !/ f 0 /.test(l))).toEqual([]);
      // Nothing is left in the staging area either.
      expect(await stagingDirs(h)).toEqual(staged);
    }
  } finally {
    session.close();
  }
});

test('a reload is acknowledged on a host with no mail log at all, and the new settings answer right after apply returns', async () => {
  const h = lab.hosts[1];
  // Journald-only hosts look like this to Postfix: no maillog_file, and here no syslog socket either.
  expect((await h.exec(['postconf', '-X', 'maillog_file'])).code).toBe(0);
  expect((await h.exec(['postfix', 'reload'])).code).toBe(0);
  await new Promise((r) => setTimeout(r, 1000));
  await h.exec(['rm', '-f', '/var/log/mail.log']);
  const noLog = async () =>
    (
      await h.exec([
        'sh',
        '-c',
        'test ! -e /dev/log && test -z "$(postconf -h maillog_file)" && ! find /var/log /var/spool/postfix -name "mail.log*" | grep -q .',
      ])
    ).code === 0;
  expect(await noLog()).toBe(true);

  for (const banner of ['quiet one', 'quiet two']) {
    const dir = synthStack((s) => {
      const host = new PostfixHost(s, 'mx', { connection: labConnection(h), settings: { smtpd_banner: `$myhostname ESMTP ${banner}` } });
      if (banner === 'quiet two') host.addService(Submission.starttls());
    });
    const [r] = await applyStack(dir);
    expect(r.error).toBeUndefined();
    expect(r.result).toBe('applied');
    // The barrier saw master finish re-reading (not a blind wait).
    expect(typeof r.steps.ack).toBe('number');
    expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP ${banner}`);
  }
  // master re-read master.cf too: the new submission listener answers at once.
  expect(await smtpGreeting(h.address, 587)).toBe(`220 ${h.hostname} ESMTP quiet two`);
  expect(await noLog()).toBe(true);
});

test('where the idle look does not work the reload barrier sends a second SIGHUP and still waits for master to finish', async () => {
  const h = lab.hosts[0];
  // The transaction's own reload functions, on the host, with the idle look refused as on a host
  // whose /proc/PID/syscall cannot be read.
  const remote = join(__dirname, '../../lib/apply/remote');
  const harness = [
    'set -u',
    "TAB=$(printf '\\t'); C=/etc/postfix; D=$(mktemp -d); ACTION=apply; WAS_RUNNING=yes",
    `. '${remote}/common.sh'; . '${remote}/reload.sh'`,
    'needs_full_check() { return 1; }',
    'rollback() { echo "rollback: $*"; exit 1; }',
    'idle_look_works() { return 1; }',
    'postconf -e "smtpd_banner = \\$myhostname ESMTP fallback"',
    'master_running || exit 2',
    'reload_or_start',
    'echo "idle look: $IDLE_LOOK"; rm -rf "$D"',
  ].join('\n');
  const banner = (await h.exec(['postconf', '-n', 'smtpd_banner'])).stdout.trim();
  const before = masterReloads(h);
  const r = await h.exec(['sh', '-c', harness]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^step\tack$/m);
  expect(r.stdout).toMatch(/^idle look: no$/m);
  expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP fallback`);
  const end = Date.now() + 10_000;
  while (masterReloads(h) < before + 2 && Date.now() < end) await new Promise((res) => setTimeout(res, 100));
  expect(masterReloads(h)).toBe(before + 2);
  // Put the banner back as it was (a later test on this host may have it managed).
  expect((await h.exec(banner ? ['postconf', '-e', banner] : ['postconf', '-X', 'smtpd_banner'])).code).toBe(0);
  expect((await h.exec(['postfix', 'reload'])).code).toBe(0);
});

test('a symbolic link at a target path is refused, and one at a staging path is never written through', async () => {
  const h = lab.hosts[0];
  const withFile = (path: string, content: string) =>
    synthStack((s) => {
      const host = new PostfixHost(s, 'mx', { connection: labConnection(h), settings: {} });
      host.state.addFile({ path, content }, 'test');
    });
  expect(
    (
      await h.exec([
        'sh',
        '-c',
        'echo original > /etc/postfix/victim && ln -s /etc/postfix/victim /etc/postfix/linked && ln -s /etc/postfix/victim /etc/postfix/staged.cdktf-new',
      ])
    ).code,
  ).toBe(0);

  const [refused] = await applyStack(withFile('/etc/postfix/linked', 'a REJECT\n'));
  expect(refused.result).toBe('failed');
  expect(refused.error).toMatch(/refusing \/etc\/postfix\/linked: it is a symbolic link or not a regular file/);
  expect((await h.exec(['test', '-L', '/etc/postfix/linked'])).code).toBe(0);

  const [placed] = await applyStack(withFile('/etc/postfix/staged', 'b REJECT\n'));
  expect(placed.error).toBeUndefined();
  expect(placed.result).toBe('applied');
  expect(h.readFile('/etc/postfix/victim')).toBe('original\n');
  expect(h.readFile('/etc/postfix/staged')).toBe('b REJECT\n');
  expect((await h.exec(['test', '-L', '/etc/postfix/staged'])).code).not.toBe(0);
});

test('files go only under the config directory and declared roots: a declared root is written, anything else is refused at synth', async () => {
  const h = lab.hosts[1];
  // A scratch root private to this lab host: a tmpfs over /mnt in its own mount namespace.
  expect((await h.exec(['sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /mnt && mkdir -p /mnt/certs'])).code).toBe(0);
  try {
    const dir = synthStack((s) => {
      const host = new PostfixHost(s, 'mx', { connection: labConnection(h), settings: {}, fileRoots: ['/mnt/certs'] });
      host.state.addFile({ path: '/mnt/certs/extra.pem', content: 'not a secret\n' }, 'test');
    });
    const [r] = await applyStack(dir);
    expect(r.error).toBeUndefined();
    expect(r.result).toBe('applied');
    expect((await h.exec(['cat', '/mnt/certs/extra.pem'])).stdout).toBe('not a secret\n');
    expect(() =>
      synthStack((s) => {
        const host = new PostfixHost(s, 'mx', { connection: labConnection(h), settings: {} });
        host.state.addFile({ path: '/mnt/certs/extra.pem', content: 'x\n' }, 'test');
      }),
    ).toThrow(/file \/mnt\/certs\/extra\.pem.*outside the directories this host may write to \(\/etc\/postfix\).*fileRoots/s);
  } finally {
    await h.exec(['umount', '/mnt']);
  }
});

test('destroy leaves a file the host already had with the same content, and removes one the stack created', async () => {
  const h = lab.hosts[0];
  const kept = 'kept@example.org REJECT\n';
  const put = await h.exec(['sh', '-c', 'printf "%s" "$1" > /etc/postfix/kept && chmod 0644 /etc/postfix/kept', 'sh', kept]);
  expect(put.code).toBe(0);
  const dir = synthStack((s) => {
    const host = new PostfixHost(s, 'mx', { connection: labConnection(h), settings: { smtpd_banner: '$myhostname ESMTP kept' } });
    host.state.addFile({ path: '/etc/postfix/kept', content: kept }, 'test');
    host.state.addFile({ path: '/etc/postfix/created', content: 'new\n' }, 'test');
  });
  const [applied] = await applyStack(dir);
  expect(applied.error).toBeUndefined();
  expect(applied.changed).not.toContainEqual(expect.stringContaining('/etc/postfix/kept'));
  const host = readStackHosts(dir)[0];
  const bundle = loadBundle(host.bundlePath);
  const r = await runHostOperation({ connection: host.connection, bundle, action: 'destroy', env: { ...process.env, ...host.env } });
  expect(r.error).toBeUndefined();
  expect(r.result).toBe('removed');
  expect(h.readFile('/etc/postfix/kept')).toBe(kept);
  expect((await h.exec(['test', '-e', '/etc/postfix/created'])).code).not.toBe(0);
});
