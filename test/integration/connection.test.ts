/** The ways of reaching a host: sudo for a non-root user, a jump host, ~/.ssh/config aliases, ssh-agent. */
import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Lab, startLab } from '../lab';
import { PostfixHost } from '../../index';
import { applyStack, synthStack } from '../helpers/deploy';
import { signalPid } from '../helpers/signal';
import { resolveConnection } from '../../lib/transport/connection';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab({ count: 2, nonRootUser: true });
}, 120000);
afterAll(async () => {
  await lab?.stop();
});

async function banner(i: number): Promise<string> {
  return (await lab.hosts[i].exec(['postconf', '-h', 'smtpd_banner'])).stdout.trim();
}

test('a non-root user applies through sudo -n', async () => {
  const h = lab.hosts[0];
  expect(h.sudoUser).toBe('mailops');
  const dir = synthStack(
    (stack) =>
      new PostfixHost(stack, 'mx', {
        connection: { host: h.address, user: 'mailops', privateKeyPath: h.privateKeyPath, knownHostsPath: h.knownHostsPath },
        settings: { smtpd_banner: '$myhostname ESMTP via sudo' },
      }),
  );
  const [r] = await applyStack(dir);
  expect(r.error).toBeUndefined();
  expect(r.result).toBe('applied');
  expect(await banner(0)).toBe('$myhostname ESMTP via sudo');
});

test('a non-root user whose sudo wants a password: the apply fails before changing anything, and says how to fix it', async () => {
  const h = lab.hosts[0];
  const grant = '/etc/sudoers.d/cdktf-postfix-lab';
  const saved = h.readFile(grant);
  await h.exec(['rm', '-f', grant]);
  try {
    const before = await banner(0);
    const dir = synthStack(
      (stack) =>
        new PostfixHost(stack, 'mx', {
          connection: { host: h.address, user: 'mailops', privateKeyPath: h.privateKeyPath, knownHostsPath: h.knownHostsPath },
          settings: { smtpd_banner: '$myhostname ESMTP sudo wants a password' },
        }),
    );
    const [r] = await applyStack(dir);
    expect(r.result).toBe('failed');
    expect(r.error).toContain(`${h.address}: sudo refused to run commands for mailops without a password ("sudo: a password is required")`);
    expect(r.error).toContain("Fix: allow it on the host (echo 'mailops ALL=(root) NOPASSWD: ALL' > /etc/sudoers.d/mailops;");
    expect(await banner(0)).toBe(before);
  } finally {
    await h.exec(['sh', '-c', `umask 0337 && cat > ${grant}`], { input: saved });
  }
});

test('a host reached through a jump host', async () => {
  const [target, jump] = lab.hosts;
  const dir = synthStack(
    (stack) =>
      new PostfixHost(stack, 'mx', {
        connection: {
          host: target.address,
          privateKeyPath: target.privateKeyPath,
          knownHostsPath: lab.knownHostsPath,
          jumpHost: { host: jump.address, privateKeyPath: jump.privateKeyPath, hostKeyFingerprint: jump.hostKeyFingerprint },
        },
        settings: { smtpd_banner: '$myhostname ESMTP via jump' },
      }),
  );
  const [r] = await applyStack(dir);
  expect(r.error).toBeUndefined();
  expect(r.result).toBe('applied');
  expect(await banner(0)).toBe('$myhostname ESMTP via jump');
});

test('an ~/.ssh/config alias gives the address, user and key; known_hosts is checked under the real name', async () => {
  const h = lab.hosts[1];
  const config = join(mkdtempSync(join(tmpdir(), 'sshcfg-')), 'config');
  writeFileSync(
    config,
    `Host mx-alias\n  HostName ${h.address}\n  User root\n  IdentityFile ${h.privateKeyPath}\n  UserKnownHostsFile ${h.knownHostsPath}\n`,
  );
  const resolved = resolveConnection({ host: 'mx-alias' }, { CDKTF_POSTFIX_SSH_CONFIG: config });
  expect(resolved).toMatchObject({ hostName: h.address, user: 'root', privateKeyPath: h.privateKeyPath, knownHostsPath: h.knownHostsPath });
  const prev = process.env.CDKTF_POSTFIX_SSH_CONFIG;
  process.env.CDKTF_POSTFIX_SSH_CONFIG = config;
  try {
    const dir = synthStack(
      (stack) =>
        new PostfixHost(stack, 'mx', { connection: { host: 'mx-alias' }, settings: { smtpd_banner: '$myhostname ESMTP via alias' } }),
    );
    const [r] = await applyStack(dir);
    expect(r.error).toBeUndefined();
    expect(await banner(1)).toBe('$myhostname ESMTP via alias');
  } finally {
    if (prev === undefined) delete process.env.CDKTF_POSTFIX_SSH_CONFIG;
    else process.env.CDKTF_POSTFIX_SSH_CONFIG = prev;
  }
});

test('ssh-agent is used when no key file is given', async () => {
  const h = lab.hosts[1];
  const out = execFileSync('ssh-agent', ['-s'], { encoding: 'utf8' });
  const sock = /SSH_AUTH_SOCK=([^;]+);/.exec(out)![1];
  const pid = /SSH_AGENT_PID=(\d+);/.exec(out)![1];
  const prev = process.env.SSH_AUTH_SOCK;
  try {
    spawnSync('ssh-add', [h.privateKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
    process.env.SSH_AUTH_SOCK = sock;
    const dir = synthStack(
      (stack) =>
        new PostfixHost(stack, 'mx', {
          connection: { host: h.address, knownHostsPath: h.knownHostsPath },
          settings: { smtpd_banner: '$myhostname ESMTP via agent' },
        }),
    );
    const [r] = await applyStack(dir);
    expect(r.error).toBeUndefined();
    expect(await banner(1)).toBe('$myhostname ESMTP via agent');
  } finally {
    if (prev === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = prev;
    signalPid(Number(pid));
  }
});

test('no key and no agent: a clear error before connecting', async () => {
  const h = lab.hosts[1];
  const prev = process.env.SSH_AUTH_SOCK;
  delete process.env.SSH_AUTH_SOCK;
  try {
    const dir = synthStack(
      (stack) =>
        new PostfixHost(stack, 'mx', {
          connection: { host: h.address, knownHostsPath: h.knownHostsPath },
          settings: { smtpd_banner: 'x' },
        }),
    );
    const [r] = await applyStack(dir);
    expect(r.result).toBe('failed');
    expect(r.error).toMatch(/no private key and no ssh-agent.*Fix: set privateKeyPath/);
  } finally {
    if (prev !== undefined) process.env.SSH_AUTH_SOCK = prev;
  }
});
