/** The CLI as a user runs it: `cdktf-postfix diff` and `apply` on a synthesized stack, exit codes included. */
import { spawnSync } from 'child_process';
import { existsSync } from 'fs';
import { join } from 'path';
import { Lab, startLab } from '../lab';
import { PostfixHost } from '../../index';
import { labConnection, synthStack } from '../helpers/deploy';

const CLI = join(__dirname, '..', '..', 'dist', 'bin', 'cdktf-postfix.js');
let lab: Lab;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  lab = await startLab({ count: 2 });
}, 120000);
afterAll(async () => {
  await lab?.stop();
});

function cli(...args: string[]) {
  const r = spawnSync('node', [CLI, ...args], { encoding: 'utf8', timeout: 120000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('diff exits 1 with a unified diff, apply changes the hosts, then diff exits 0', () => {
  const dir = synthStack((stack) => {
    lab.hosts.forEach(
      (h, i) =>
        new PostfixHost(stack, `mx${i + 1}`, {
          connection: labConnection(h),
          settings: { smtpd_banner: `$myhostname ESMTP cli ${i + 1}` },
        }),
    );
  });
  const before = cli('diff', dir);
  expect(before.code).toBe(1);
  expect(before.stdout).toContain('+smtpd_banner = $myhostname ESMTP cli 1');
  expect(before.stdout).toContain('+smtpd_banner = $myhostname ESMTP cli 2');

  const one = cli('diff', dir, '--target', 'mx2');
  expect(one.code).toBe(1);
  expect(one.stdout).not.toContain('cli 1');

  const applied = cli('apply', dir, '--json', '--concurrency', '2');
  expect(applied.code).toBe(0);
  const reports = JSON.parse(applied.stdout) as { host: string; result: string; changed: unknown[] }[];
  expect(reports.map((r) => [r.host, r.result])).toEqual([
    ['mail/mx1', 'applied'],
    ['mail/mx2', 'applied'],
  ]);

  const after = cli('diff', dir);
  expect(after.code).toBe(0);
  expect(after.stderr).toContain('mail/mx1: no differences');

  const again = cli('apply', dir);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/mail\/mx1 \(127\.0\.0\.\d+\): unchanged in \d+ ms/);
});

test('an unknown target is a usage error (exit 2); a host that refuses the key exits 1 with the reason', () => {
  const dir = synthStack(
    (stack) =>
      new PostfixHost(stack, 'mx', {
        connection: { ...labConnection(lab.hosts[0]), hostKeyFingerprint: lab.hosts[1].hostKeyFingerprint },
        settings: { smtpd_banner: 'x' },
      }),
  );
  const target = cli('apply', dir, '--target', 'nope');
  expect(target.code).toBe(2);
  expect(target.stderr).toContain('--target = "nope"');
  const refused = cli('apply', dir);
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain('pinned fingerprint');
  const diff = cli('diff', dir);
  expect(diff.code).toBe(1);
});
