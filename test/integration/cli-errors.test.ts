/**
 * The CLI's exit statuses and error messages as a user meets them (the built CLI, spawned):
 * 0 success, 1 a real failure or failed check, 2 a usage error with one line and a --help pointer;
 * files named in errors instead of a raw ENOENT; diff --json; an apply that fails `postfix check`
 * on a lab host as an ApplyError naming host, step and Postfix's words.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { Lab, startLab } from '../lab';
import { ApplyError, applyErrorOf, PostfixHost } from '../../index';
import { applyStack, labConnection, synthStack } from '../helpers/deploy';

const CLI = join(__dirname, '..', '..', 'dist', 'bin', 'cdktf-postfix.js');
const LOG = join(__dirname, '..', 'fixtures', 'logs', 'mail.log');
let lab: Lab;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  lab = await startLab({ count: 1 });
}, 120000);
afterAll(async () => {
  await lab?.stop();
});

function cli(args: string[], opts: { cwd?: string } = {}) {
  const r = spawnSync('node', [CLI, ...args], { encoding: 'utf8', timeout: 120000, cwd: opts.cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A usage error: exit 2, a short message and where the help is, not the help itself. */
function expectUsageError(r: ReturnType<typeof cli>, command: string, message: RegExp) {
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toContain(`see \`${['cdktf-postfix', command].filter(Boolean).join(' ')} --help\``);
  expect(r.stderr).not.toContain('Options:');
  expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(3);
}

/** No raw system error for a missing file: the path, a plain reason and the fix. */
function expectFileError(r: ReturnType<typeof cli>, path: string) {
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(path);
  expect(r.stderr).toContain('Fix:');
  expect(r.stderr).not.toMatch(/ENOENT|\n\s+at /);
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

test('--help documents the exit statuses and exits 0, for the program and each command', () => {
  for (const args of [['--help'], ['apply', '--help'], ['tls-check', '--help'], ['logs', 'report', '--help']]) {
    const r = cli(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Exit status:\n\s+0 .*\n\s+1 .*failed check.*\n\s+2 .*usage error/);
    expect(r.stdout).toContain('NO_COLOR');
  }
});

test('usage errors exit 2 with one line and a pointer to --help', () => {
  expectUsageError(cli(['tls-check']), 'tls-check', /missing required argument 'host:port'/);
  expectUsageError(cli(['tls-check', 'mx1.example.org']), 'tls-check', /<host:port> = "mx1.example.org": names no port/);
  expectUsageError(cli(['tls-check', '127.0.0.1:25', '--timeout', 'soon']), 'tls-check', /--timeout soon: not a positive number/);
  expectUsageError(cli(['apply']), 'apply', /no stack given/);
  expectUsageError(cli(['diff', '--bogus']), 'diff', /unknown option '--bogus'/);
  expectUsageError(cli(['logs', 'report', '--since', 'last week', LOG]), 'logs report', /--since = "last week": is not a time/);
  expectUsageError(cli(['queue', 'delete']), 'queue delete', /no selector given/);
  expectUsageError(cli(['queue', 'list', '--target', 'mx1']), 'queue list', /--target = "mx1": needs --stack/);
  expectUsageError(cli(['nonsense']), '', /unknown command 'nonsense'/);
});

test('a failed check exits 1: tls-check of a port where nothing listens', async () => {
  const r = cli(['tls-check', `127.0.0.1:${await closedPort()}`, '--implicit', '--timeout', '5']);
  expect(r.code).toBe(1);
});

test('missing files name the path and the fix: stack dir, bundle-less stack, log file, key file', () => {
  const missing = join(tmpdir(), 'cdktf-postfix-missing', 'stacks', 'mail');
  expectFileError(cli(['apply', missing]), missing);
  expectFileError(cli(['diff', '--stack', missing]), missing);
  expectFileError(cli(['logs', 'report', '/nonexistent/mail.log']), '/nonexistent/mail.log');
  const key = cli([
    'queue',
    'list',
    '--host',
    lab.hosts[0].address,
    '--identity',
    '/nonexistent/id_ed25519',
    '--known-hosts',
    lab.hosts[0].knownHostsPath,
  ]);
  expectFileError(key, '/nonexistent/id_ed25519');
  expect(key.stderr).toContain('no such file');
});

test('--host-key pins the host by its public key line (as in ssh_host_ed25519_key.pub) or its fingerprint', () => {
  const h = lab.hosts[0];
  const line = readFileSync(h.knownHostsPath, 'utf8').trim().split('\n')[0].split(/\s+/).slice(1, 3).join(' ');
  const empty = join(mkdtempSync(join(tmpdir(), 'cli-kh-')), 'known_hosts');
  writeFileSync(empty, '');
  const base = ['queue', 'list', '--json', '--host', h.address, '--identity', h.privateKeyPath, '--known-hosts', empty];
  for (const pin of [`${line} root@host`, h.hostKeyFingerprint]) {
    const r = cli([...base, '--host-key', pin]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ where: h.address, messages: [] });
  }
  // Without a pin, the empty known_hosts file trusts nothing: the pin above is what let us in.
  const unpinned = cli(base);
  expect(unpinned.code).toBe(1);
  expect(unpinned.stderr).toMatch(/host key/i);
  // The lab's host keys are ed25519: the same key under another type is refused before connecting.
  expectUsageError(
    cli([...base, '--host-key', `ssh-rsa ${line.split(' ')[1]}`]),
    'queue list',
    /--host-key = ".*": the base64 key is not a ssh-rsa key/,
  );
});

test('logs report --since yesterday/1h and --until today are accepted', () => {
  expect(cli(['logs', 'report', '--since', 'yesterday', '--until', 'today', '--json', LOG]).code).toBe(0);
  expect(cli(['logs', 'report', '--since', '1h', LOG]).code).toBe(0);
});

test("diff --json lists each host's changes; the stack by name or --stack, as for apply; differences exit 1", () => {
  const h = lab.hosts[0];
  const dir = synthStack(
    (stack) => new PostfixHost(stack, 'mx', { connection: labConnection(h), settings: { smtpd_banner: '$myhostname ESMTP json' } }),
  );
  const cwd = mkdtempSync(join(tmpdir(), 'cli-cwd-'));
  symlinkSync(dirname(dirname(dir)), join(cwd, 'cdktf.out'));
  for (const args of [
    ['diff', 'mail', '--json'],
    ['diff', '--stack', 'mail', '--json'],
    ['diff', dir, '--json'],
  ]) {
    const r = cli(args, { cwd });
    expect(r.code).toBe(1);
    const [host] = JSON.parse(r.stdout) as { host: string; different: boolean; changes: { file: string; patch: string }[] }[];
    expect(host.host).toBe('mail/mx');
    expect(host.different).toBe(true);
    expect(host.changes.map((c) => c.file)).toContain('main.cf');
    expect(host.changes.find((c) => c.file === 'main.cf')!.patch).toContain('+smtpd_banner = $myhostname ESMTP json');
  }
  const applied = cli(['apply', 'mail', '--json'], { cwd });
  expect(applied.code).toBe(0);
  const same = cli(['diff', '--stack', 'mail', '--json'], { cwd });
  expect(same.code).toBe(0);
  expect(JSON.parse(same.stdout)).toEqual([{ host: 'mail/mx', different: false, changes: [] }]);
  expectUsageError(cli(['apply', 'mail', '--stack', 'other'], { cwd }), 'apply', /--stack = "other": names a different stack/);
  expectUsageError(cli(['apply', 'mail', '--target', 'nope'], { cwd }), 'apply', /--target = "nope": no host in the stack has that id/);
});

test("an apply that fails postfix check is an ApplyError naming host, step and Postfix's words; the CLI exits 1", async () => {
  const h = lab.hosts[0];
  const dir = synthStack(
    (stack) => new PostfixHost(stack, 'mx', { connection: labConnection(h), settings: { queue_directory: '/nonexistent/queue' } }),
  );
  const [report] = await applyStack(dir);
  const e = applyErrorOf(report);
  expect(e).toBeInstanceOf(ApplyError);
  expect(e!.host).toBe('mail/mx');
  expect(e!.step).toBe('validate');
  expect(e!.detail).toMatch(/postfix check failed.*nonexistent/);
  expect(e!.message).toMatch(/^mail\/mx: validate failed: postfix check failed/);

  const r = cli(['apply', dir]);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/failed.*\n.*postfix check failed/);
});
