/**
 * The apply engine against real lab hosts: Postfix and sshd on loopback addresses, reached over
 * real SSH, through the same code path as `cdktf-postfix apply` and the Terraform runner.
 */
import { createHash } from 'crypto';
import { readdirSync, readFileSync, statSync, writeFileSync, mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Lab, LabHost, startLab } from '../lab';
import { loadBundle, runHostOperation } from '../../lib/apply/apply';
import { PostfixHost, ServiceType, Submission } from '../../index';
import { applyStack, diffStack, labConnection, synthStack } from '../helpers/deploy';
import { startCutProxy } from '../helpers/cut-proxy';
import { masterReloads } from '../helpers/mail-log';
import { sendMail, smtpGreeting } from '../helpers/smtp-client';
import { readStackHosts } from '../../lib/apply/stack';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab({ count: 4 });
}, 120000);
afterAll(async () => {
  await lab?.stop();
});

/**
 * sha256 of every file under the host's /etc/postfix: "identical to before" means equal maps. The
 * engine's own record (.cdktf-postfix/, created with the lock on first contact) is left out unless asked for.
 */
function configSnapshot(h: LabHost, withRecord = false): Record<string, string> {
  const root = h.realPath('/etc/postfix');
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (withRecord || !p.slice(root.length).startsWith('/.cdktf-postfix/'))
        out[p.slice(root.length)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(root);
  return out;
}

async function postconf(h: LabHost, ...names: string[]): Promise<string> {
  return (await h.exec(['postconf', '-h', ...names])).stdout.trim();
}

function mailHostStack(h: LabHost, settings: Record<string, string | number>, extra?: (host: PostfixHost) => void): string {
  return synthStack((stack) => {
    const host = new PostfixHost(stack, 'mx', { connection: labConnection(h), settings });
    extra?.(host);
  });
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 20000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting');
}

describe('apply', () => {
  test('applies settings and a service, answers SMTP with the new banner, and a re-apply is a no-op', async () => {
    const h = lab.hosts[0];
    const dir = mailHostStack(h, { smtpd_banner: '$myhostname ESMTP managed', message_size_limit: 20_000_000 }, (host) =>
      host.addService(Submission.starttls()),
    );
    const reloadsAtStart = masterReloads(h);
    const [first] = await applyStack(dir);
    expect(first.error).toBeUndefined();
    expect(first.result).toBe('applied');
    expect(first.changed).toEqual(
      expect.arrayContaining([
        { kind: 'main', name: 'smtpd_banner' },
        { kind: 'main', name: 'message_size_limit' },
        { kind: 'master', name: 'submission/inet' },
      ]),
    );
    expect(first.ran).toContain('postfix reload');
    expect(await postconf(h, 'message_size_limit')).toBe('20000000');
    expect((await h.exec(['postconf', '-M', 'submission/inet'])).stdout).toMatch(/smtpd_tls_security_level=encrypt/);
    expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP managed`);

    // One SIGHUP: the barrier saw master back in its event loop after one refresh (a second SIGHUP
    // right after the first made SMTP clients wait about a second for their greeting).
    await waitFor(() => masterReloads(h) > reloadsAtStart);
    await new Promise((r) => setTimeout(r, 500));
    expect(masterReloads(h)).toBe(reloadsAtStart + 1);
    const reloadsBefore = masterReloads(h);
    const before = configSnapshot(h, true);
    const [second] = await applyStack(dir);
    expect(second.result).toBe('unchanged');
    expect(second.changed).toEqual([]);
    expect(second.ran).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect(masterReloads(h)).toBe(reloadsBefore);
    expect(configSnapshot(h, true)).toEqual(before);

    const [diff] = await diffStack(dir);
    expect(diff.error).toBeUndefined();
    expect(diff.different).toBe(false);
  });

  test('a setting removed from code returns to what the host had before; diff shows it first', async () => {
    const h = lab.hosts[1];
    const original = (await h.exec(['postconf', '-n', 'smtpd_banner'])).stdout.trim();
    expect(original).toMatch(/^smtpd_banner = /);
    const withBoth = mailHostStack(h, { smtpd_banner: '$myhostname ESMTP two', delay_warning_time: '4h' });
    expect((await applyStack(withBoth))[0].result).toBe('applied');
    expect(await postconf(h, 'delay_warning_time')).toBe('4h');

    const withNone = mailHostStack(h, {});
    const [diff] = await diffStack(withNone);
    expect(diff.different).toBe(true);
    expect(diff.text).toContain('-delay_warning_time = 4h');
    expect(diff.text).toContain('-smtpd_banner = $myhostname ESMTP two');
    expect(diff.text).toContain(`+${original}`);

    const [r] = await applyStack(withNone);
    expect(r.result).toBe('applied');
    expect((await h.exec(['postconf', '-n', 'smtpd_banner'])).stdout.trim()).toBe(original);
    expect((await h.exec(['postconf', '-n', 'delay_warning_time'])).stdout.trim()).toBe('');
    expect((await diffStack(withNone))[0].different).toBe(false);
  });

  test('a change that fails postfix check leaves every file as it was and Postfix answering', async () => {
    const h = lab.hosts[2];
    const before = configSnapshot(h);
    const dir = mailHostStack(h, { queue_directory: '/nonexistent/queue', smtpd_banner: '$myhostname ESMTP broken' });
    const [r] = await applyStack(dir);
    expect(r.result).toBe('failed');
    expect(r.error).toMatch(/postfix check failed/);
    expect(r.error).toMatch(/nonexistent/);
    expect(configSnapshot(h)).toEqual(before);
    expect(await smtpGreeting(h.address)).toMatch(/^220 /);
  });

  test('a reload that kills the master is rolled back: files restored byte for byte, Postfix answering again', async () => {
    const h = lab.hosts[2];
    const before = configSnapshot(h);
    // Port 22 on this address belongs to the host's sshd: master cannot bind it and exits after the reload.
    const dir = mailHostStack(h, { smtpd_banner: '$myhostname ESMTP doomed' }, (host) =>
      host.addService({ name: `${h.address}:22`, type: ServiceType.INET, private: false, chroot: false, command: 'smtpd' }),
    );
    const [r] = await applyStack(dir);
    expect(r.result).toBe('failed');
    expect(r.error).toMatch(/stopped after the reload/);
    expect(r.ran).toContain('postfix reload (rollback)');
    expect(configSnapshot(h)).toEqual(before);
    await waitFor(async () => (await smtpGreeting(h.address).catch(() => '')).startsWith('220 '));
    expect(await smtpGreeting(h.address)).not.toContain('doomed');
  });

  test('the SSH connection cut during the transfer changes nothing', async () => {
    const h = lab.hosts[2];
    const before = configSnapshot(h);
    const stagingDirs = async () =>
      (await h.exec(['sh', '-c', 'ls -d /tmp/cdktf-postfix.* 2>/dev/null || true'])).stdout.trim().split('\n').filter(Boolean);
    const stagingBefore = await stagingDirs();
    const big = join(mkdtempSync(join(tmpdir(), 'cut-')), 'big-table');
    writeFileSync(big, Array.from({ length: 200000 }, (_, i) => `user${i}@example.org REJECT`).join('\n') + '\n');
    const proxy = await startCutProxy({ host: h.address, port: 22 }, 1_000_000);
    try {
      const dir = synthStack((stack) => {
        const host = new PostfixHost(stack, 'mx', {
          connection: { host: '127.0.0.1', port: proxy.port, privateKeyPath: h.privateKeyPath, hostKeyFingerprint: h.hostKeyFingerprint },
          settings: { smtpd_banner: '$myhostname ESMTP cut' },
        });
        host.state.addFile({ path: '/etc/postfix/big-table', sourcePath: big, postmap: 'hash' }, 'test');
      });
      const [r] = await applyStack(dir);
      expect(r.result).toBe('failed');
      expect(proxy.cuts()).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
    await new Promise((r) => setTimeout(r, 1000));
    expect(configSnapshot(h)).toEqual(before);
    expect(await smtpGreeting(h.address)).toMatch(/^220 /);
    // The half-received staging directory is gone too (it could have held a secret).
    expect((await stagingDirs()).filter((d) => !stagingBefore.includes(d))).toEqual([]);
  });

  test('two applies at once to one host run one after the other and leave one whole state', async () => {
    const h = lab.hosts[3];
    const a = mailHostStack(h, { smtpd_banner: '$myhostname ESMTP A', delay_warning_time: '1h', bounce_queue_lifetime: '1d' });
    const b = mailHostStack(h, { smtpd_banner: '$myhostname ESMTP B', delay_warning_time: '2h', maximal_queue_lifetime: '3d' });
    const [[ra], [rb]] = await Promise.all([applyStack(a), applyStack(b)]);
    expect([ra.result, rb.result].sort()).toEqual(['applied', 'applied']);
    const banner = await postconf(h, 'smtpd_banner');
    const winner = banner.endsWith(' A') ? a : b;
    // Whichever ran last owns every managed value; nothing of the other remains.
    const [diff] = await diffStack(winner);
    expect(diff.different).toBe(false);
    if (winner === a) {
      expect(await postconf(h, 'delay_warning_time')).toBe('1h');
      expect((await h.exec(['postconf', '-n', 'maximal_queue_lifetime'])).stdout.trim()).toBe('');
    } else {
      expect(await postconf(h, 'delay_warning_time')).toBe('2h');
      expect((await h.exec(['postconf', '-n', 'bounce_queue_lifetime'])).stdout.trim()).toBe('');
    }
  });

  test('a wrong host key is refused before anything is sent', async () => {
    const h = lab.hosts[3];
    const other = lab.hosts[0];
    // known_hosts claims this address has another host's key: exactly what a man-in-the-middle looks like.
    const wrongKnownHosts = join(mkdtempSync(join(tmpdir(), 'kh-')), 'known_hosts');
    const otherLine = readFileSync(other.knownHostsPath, 'utf8').trim().split(/\s+/).slice(1).join(' ');
    writeFileSync(wrongKnownHosts, `${h.address} ${otherLine}\n`);
    const before = configSnapshot(h);
    const dir = synthStack(
      (stack) =>
        new PostfixHost(stack, 'mx', {
          connection: { host: h.address, privateKeyPath: h.privateKeyPath, knownHostsPath: wrongKnownHosts },
          settings: { smtpd_banner: 'never' },
        }),
    );
    const [r] = await applyStack(dir);
    expect(r.result).toBe('failed');
    expect(r.error).toMatch(/HOST KEY CHANGED/);
    expect(r.error).toContain(h.hostKeyFingerprint);
    expect(r.error).toMatch(/hostKeyFingerprint/);

    const unknown = join(mkdtempSync(join(tmpdir(), 'kh-')), 'known_hosts');
    writeFileSync(unknown, '');
    const dir2 = synthStack(
      (stack) =>
        new PostfixHost(stack, 'mx', {
          connection: { host: h.address, privateKeyPath: h.privateKeyPath, knownHostsPath: unknown },
          settings: { smtpd_banner: 'never' },
        }),
    );
    const [r2] = await applyStack(dir2);
    expect(r2.error).toMatch(/never trusted on first use/);

    const pinnedWrong = synthStack(
      (stack) =>
        new PostfixHost(stack, 'mx', {
          connection: { host: h.address, privateKeyPath: h.privateKeyPath, hostKeyFingerprint: other.hostKeyFingerprint },
          settings: { smtpd_banner: 'never' },
        }),
    );
    expect((await applyStack(pinnedWrong))[0].error).toMatch(/pinned fingerprint/);
    expect(configSnapshot(h)).toEqual(before);
    expect(await postconf(h, 'smtpd_banner')).not.toBe('never');
  });

  test('mail keeps flowing while applies run: every message sent during ten applies is delivered', async () => {
    const h = lab.hosts[0];
    const mbox = h.mailboxPath('root');
    const countDelivered = () => {
      try {
        return (readFileSync(mbox, 'utf8').match(/^X-Flow-Test: /gm) ?? []).length;
      } catch {
        return 0;
      }
    };
    const start = countDelivered();
    let sending = true;
    let sent = 0;
    const failures: string[] = [];
    const sender = (async () => {
      while (sending) {
        const reply = await sendMail(h.address, 'flow@lab.test', `root@${h.hostname}`, `X-Flow-Test: ${sent}\n\nmessage ${sent}`).catch(
          (e: Error) => e.message,
        );
        if (reply.startsWith('250')) sent++;
        else failures.push(reply);
      }
    })();
    const stacks = [0, 1].map((i) =>
      mailHostStack(h, { smtpd_banner: `$myhostname ESMTP flow ${i}`, message_size_limit: 20_000_000 + i }, (host) =>
        host.addService(Submission.starttls()),
      ),
    );
    for (let i = 0; i < 10; i++) {
      const [r] = await applyStack(stacks[i % 2]);
      expect(r.result).toBe('applied');
    }
    sending = false;
    await sender;
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(10);
    await waitFor(() => countDelivered() - start >= sent, 30000);
    expect(countDelivered() - start).toBe(sent);
  });

  test('a lookup table type the host lacks fails the apply with the Debian package to install, changing nothing', async () => {
    const h = lab.hosts[1];
    // This host's own dynamicmaps.cf loses its lmdb line: to Postfix, postfix-lmdb is not installed.
    await h.exec(['sed', '-i', '/^lmdb[[:space:]]/d', '/etc/postfix/dynamicmaps.cf']);
    expect((await h.exec(['postconf', '-m'])).stdout).not.toMatch(/^lmdb$/m);
    const before = configSnapshot(h);
    const dir = mailHostStack(h, { smtpd_banner: '$myhostname ESMTP lmdb' }, (host) => {
      host.state.addFile({ path: '/etc/postfix/senders', content: 'spam@bad.example REJECT\n', postmap: 'lmdb' }, 'test');
      host.state.requireTableType('lmdb');
    });
    const [r] = await applyStack(dir);
    expect(r.result).toBe('failed');
    expect(r.error).toMatch(/lacks the lmdb lookup table type; install the Debian package postfix-lmdb/);
    expect(configSnapshot(h)).toEqual(before);
    expect(await postconf(h, 'smtpd_banner')).not.toContain('lmdb');
  });

  test('the JSON report names what changed, what ran and how long each step took', async () => {
    const h = lab.hosts[1];
    const dir = mailHostStack(h, { smtpd_banner: '$myhostname ESMTP report' });
    const [host] = readStackHosts(dir);
    const r = await runHostOperation({ connection: host.connection, bundle: loadBundle(host.bundlePath), action: 'apply' });
    expect(r).toMatchObject({ host: 'mail/mx', action: 'apply', result: 'applied', changed: [{ kind: 'main', name: 'smtpd_banner' }] });
    for (const step of ['lock', 'plan', 'backup', 'validate', 'swap', 'reload']) expect(typeof r.steps[step]).toBe('number');
    expect(r.durationMs).toBeGreaterThan(0);
  });
});
