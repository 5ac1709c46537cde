/** The error hierarchy users catch: classes, instanceof across it, exit codes, and `cause` chains. */
import { mkdtempSync, writeFileSync, mkdirSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  ApplyError,
  applyErrorOf,
  CdktfPostfixError,
  ConfigurationError,
  exitCodeOf,
  PostfixConfigError,
  PostfixNotRunningError,
  SshError,
  UsageError,
} from '../../index';
import { HostReport } from '../../lib/apply/apply';
import { failedStep, withCause } from '../../lib/apply/report';
import { checkReadableFile, readInputFile } from '../../lib/files';
import { parseTimeOption } from '../../lib/ops/logs';
import { sizeLimitSettings } from '../../lib/model/size';
import { asUsageError } from '../../bin/usage';
import { resolveStackDir, stackFrom } from '../../bin/stack-arg';
import { colourAllowed } from '../../bin/tty';
import { connectionFromOptions } from '../../bin/connection-flags';

describe('the hierarchy', () => {
  const config = new ConfigurationError('mail/mx', 'message_size_limit', '10 MB', 'is not a number of bytes', 'write 10485760');
  const usage = UsageError.of('--target', 'mx9', 'needs --stack', 'add --stack DIR');
  const apply = new ApplyError('mail/mx', 'validate', 'postfix check failed: fatal: bad queue_directory');
  const ssh = new SshError('mx: host key refused', 'hostkey');
  const down = new PostfixNotRunningError('mx');

  test('every class is a CdktfPostfixError and an Error, and says which it is', () => {
    for (const e of [config, usage, apply, ssh, down]) {
      expect(e).toBeInstanceOf(Error);
      expect(e).toBeInstanceOf(CdktfPostfixError);
    }
    expect([config, usage, apply, ssh, down].map((e) => e.name)).toEqual([
      'ConfigurationError',
      'UsageError',
      'ApplyError',
      'SshError',
      'PostfixNotRunningError',
    ]);
    expect(usage).not.toBeInstanceOf(ConfigurationError);
    expect(apply).not.toBeInstanceOf(UsageError);
    expect(config).not.toBeInstanceOf(ApplyError);
  });

  test('PostfixConfigError is ConfigurationError: old code and tests keep working', () => {
    expect(PostfixConfigError).toBe(ConfigurationError);
    expect(config).toBeInstanceOf(PostfixConfigError);
    expect(() => sizeLimitSettings({ message: 'lots' })).toThrow(ConfigurationError);
  });

  test('a ConfigurationError names where, field, value and fix', () => {
    expect(config.message).toBe('mail/mx: message_size_limit = "10 MB": is not a number of bytes. Fix: write 10485760');
    expect([config.where, config.field, config.value, config.fix]).toEqual(['mail/mx', 'message_size_limit', '10 MB', 'write 10485760']);
    expect(config.at('mail/other').message).toMatch(/^mail\/other: message_size_limit/);
  });

  test("an ApplyError names host, step and the host's own words", () => {
    expect(apply.message).toBe('mail/mx: validate failed: postfix check failed: fatal: bad queue_directory');
    expect([apply.host, apply.step, apply.detail]).toEqual(['mail/mx', 'validate', 'postfix check failed: fatal: bad queue_directory']);
  });

  test('exit codes: 2 for a usage error, 1 for everything else (ours or not)', () => {
    expect(exitCodeOf(usage)).toBe(2);
    expect([config, apply, ssh, down, new Error('x'), 'a string'].map(exitCodeOf)).toEqual([1, 1, 1, 1, 1, 1]);
  });
});

describe('cause chains', () => {
  test('a wrapped ConfigurationError keeps the original, also when re-attributed with at()', () => {
    let caught: unknown;
    try {
      sizeLimitSettings({ message: 'lots' }, 'mail/mx');
    } catch (e) {
      caught = e;
    }
    expect((caught as Error).message).toMatch(/^mail\/mx: message_size_limit = "lots"/);
    expect((caught as Error).cause).toBeInstanceOf(ConfigurationError);
    const usage = (() => {
      try {
        return asUsageError(() => {
          throw caught;
        });
      } catch (e) {
        return e;
      }
    })() as UsageError;
    expect(usage).toBeInstanceOf(UsageError);
    expect(usage.cause).toBe(caught);
    expect(usage.message).toBe((caught as Error).message);
    const withCauseErr = new ConfigurationError('', 'f', 'v', 'p', 'x', { cause: caught });
    expect(withCauseErr.at('mail/mx').cause).toBe(caught);
  });

  test('asUsageError lets other errors through unchanged', () => {
    const other = new Error('boom');
    expect(() =>
      asUsageError(() => {
        throw other;
      }),
    ).toThrow(other);
  });

  test('a missing or unreadable file names the path and the fix, with the system error as cause', () => {
    const path = join(tmpdir(), 'cdktf-postfix-no-such-bundle.json');
    let e: unknown;
    try {
      readInputFile(path, 'bundle', 'run cdktf synth');
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as Error).message).toBe(`${path}: bundle = "${path}": cannot be read (no such file). Fix: run cdktf synth`);
    expect(((e as Error).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(() => checkReadableFile(tmpdir(), 'log file', 'x')).not.toThrow();
    expect(() => checkReadableFile(path, 'log file', 'name a log')).toThrow(/log file .*no such file.*Fix: name a log/);
  });

  test("a CLI flag mistake is a UsageError whose cause is the library's ConfigurationError", () => {
    let e: unknown;
    try {
      connectionFromOptions({ host: 'mx1:0' });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).cause).toBeInstanceOf(ConfigurationError);
    expect(() => connectionFromOptions({ target: 'mx1' })).toThrow(UsageError);
  });
});

describe('a failed report as an ApplyError', () => {
  const report = (over: Partial<HostReport>): HostReport => ({
    host: 'mail/mx',
    target: 'root@127.0.0.20',
    action: 'apply',
    result: 'failed',
    changed: [],
    ran: [],
    steps: {},
    durationMs: 1,
    connectMs: 1,
    ...over,
  });

  test('the step is the first the transaction did not finish', () => {
    expect(failedStep(report({ steps: { lock: 1, plan: 2, backup: 3 }, error: 'postfix check failed' }))).toBe('validate');
    expect(
      failedStep(
        report({ steps: { lock: 1, plan: 2, backup: 3, validate: 4, files: 5, swap: 6, reload: 7 }, error: 'TLS check of port 25 failed' }),
      ),
    ).toBe('after-check');
    expect(failedStep(report({ error: 'refused before any change on the host: open relay' }))).toBe('relay-preflight');
  });

  test('what was thrown decides the step and becomes the cause', () => {
    const ssh = new SshError('mx: host key refused', 'hostkey');
    const e = applyErrorOf(withCause(report({ error: ssh.message }), ssh))!;
    expect(e).toBeInstanceOf(ApplyError);
    expect([e.host, e.step, e.detail]).toEqual(['mail/mx', 'connect', 'mx: host key refused']);
    expect(e.cause).toBe(ssh);
    expect(applyErrorOf(report({ result: 'applied' }))).toBeUndefined();
  });
});

describe('CLI pieces', () => {
  test('--since/--until take yesterday, today, now, 1h, 30m, 2d and dates', () => {
    const now = new Date(2026, 10, 29, 15, 30);
    expect(parseTimeOption('yesterday', '--since', now).getTime()).toBe(new Date(2026, 10, 28).getTime());
    expect(parseTimeOption('Today', '--until', now).getTime()).toBe(new Date(2026, 10, 29).getTime());
    expect(parseTimeOption('now', '--until', now).getTime()).toBe(now.getTime());
    expect(parseTimeOption('1h', '--since', now).getTime()).toBe(now.getTime() - 3600000);
    expect(parseTimeOption('30m', '--since', now).getTime()).toBe(now.getTime() - 1800000);
    expect(parseTimeOption('2d', '--since', now).getTime()).toBe(now.getTime() - 2 * 86400000);
    expect(() => parseTimeOption('the day before', '--since', now)).toThrow(/--since = "the day before".*Fix: give today, yesterday/);
  });

  test('NO_COLOR (any non-empty value) and a non-terminal turn colour and progress bars off', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    expect(colourAllowed(tty, {})).toBe(true);
    expect(colourAllowed(tty, { NO_COLOR: '1' })).toBe(false);
    expect(colourAllowed(tty, { NO_COLOR: '' })).toBe(true);
    expect(colourAllowed(tty, { TERM: 'dumb' })).toBe(false);
    expect(colourAllowed({ isTTY: false } as NodeJS.WriteStream, {})).toBe(false);
  });

  test('a stack is named by directory or by name, as argument or --stack, once', () => {
    const cwd = process.cwd();
    const dir = mkdtempSync(join(tmpdir(), 'stack-arg-'));
    mkdirSync(join(dir, 'cdktf.out', 'stacks', 'mail'), { recursive: true });
    writeFileSync(join(dir, 'cdktf.out', 'stacks', 'mail', 'cdk.tf.json'), '{}');
    process.chdir(dir);
    try {
      expect(resolveStackDir('mail')).toBe(join('cdktf.out', 'stacks', 'mail'));
      expect(resolveStackDir('cdktf.out/stacks/mail')).toBe('cdktf.out/stacks/mail');
      expect(resolveStackDir('other')).toBe('other');
      expect(stackFrom(undefined, 'mail')).toBe(join('cdktf.out', 'stacks', 'mail'));
      expect(stackFrom('mail', 'mail')).toBe(join('cdktf.out', 'stacks', 'mail'));
      expect(() => stackFrom('mail', 'other')).toThrow(UsageError);
      expect(() => stackFrom(undefined, undefined)).toThrow(/no stack given/);
    } finally {
      process.chdir(cwd);
    }
  });
});
