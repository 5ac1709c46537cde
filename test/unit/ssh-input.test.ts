/** Bad SSH connection input and bad names in a hand-edited bundle: refused with the field, value and fix. */
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, TerraformStack, TerraformVariable } from 'cdktf';
import { buildStage } from '../../lib/apply/stage';
import { Bundle, BUNDLE_FORMAT } from '../../lib/model/bundle';
import { connectionFromEnv, connectionToEnv, parseOpenSshPublicKey } from '../../lib/model/connection';
import { resolveConnection } from '../../lib/transport/connection';
import { backoffMs, withSshWait } from '../../lib/transport/ssh-wait';
import { PostfixHost } from '../../index';

const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl root@mx1';

describe('names in the bundle never reach postconf as options', () => {
  const bundle: Bundle = {
    format: BUNDLE_FORMAT,
    host: 'mail/mx',
    configDirectory: '/etc/postfix',
    mainCf: { set: { myhostname: 'mx.example.org' }, remove: [] },
    masterCf: {
      set: {
        'submission/inet': 'submission inet n - - - - smtpd',
        '127.0.0.1:2525/inet': '127.0.0.1:2525 inet n - - - - smtpd',
        '[::1]:26/inet': '[::1]:26 inet n - - - - smtpd',
      },
      remove: ['msa_cleanup/unix'],
    },
    files: {},
    tableTypes: [],
    installPackages: [],
    hooks: [],
  };
  const stage = (b: Bundle) =>
    buildStage({ action: 'apply', bundle: b, bundleSha256: '', bundleDir: '/tmp', envContents: new Map() }, () => '');

  test('valid parameter and service names pass', () => {
    expect(() => stage(bundle)).not.toThrow();
  });

  test.each([
    [
      'mainCf.set',
      { ...bundle, mainCf: { set: { '-c/tmp/evil': 'x' }, remove: [] } },
      /mainCf.set = "-c\/tmp\/evil": is not a valid Postfix name.*Fix: use a main.cf parameter name/,
    ],
    ['mainCf.remove', { ...bundle, mainCf: { set: {}, remove: ['-n'] } }, /mainCf.remove = "-n"/],
    ['mainCf.set with $', { ...bundle, mainCf: { set: { a$b: 'x' }, remove: [] } }, /mainCf.set = "a\$b"/],
    [
      'masterCf.set',
      { ...bundle, masterCf: { set: { '-o/inet': 'x' }, remove: [] } },
      /masterCf.set = "-o\/inet".*regenerate it with cdktf synth/,
    ],
    ['masterCf.remove', { ...bundle, masterCf: { set: {}, remove: ['-MX'] } }, /masterCf.remove = "-MX"/],
    ['masterCf type', { ...bundle, masterCf: { set: { 'smtp/tcp': 'x' }, remove: [] } }, /masterCf.set = "smtp\/tcp"/],
  ])('a hand-edited %s is refused', (_field, b, message) => {
    expect(() => stage(b)).toThrow(message);
  });
});

describe('connection.hostKey and the time limits', () => {
  test('an OpenSSH public key line parses to its blob', () => {
    const { type, blob } = parseOpenSshPublicKey('', 'connection.hostKey', ED25519);
    expect(type).toBe('ssh-ed25519');
    expect(blob.length).toBe(51);
  });

  test.each([
    ['a fingerprint instead of a key', 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s', /does not start with a host key type/],
    ['broken base64', 'ssh-ed25519 AAAA%%%', /not base64/],
    ['a key of another type', 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl', /not a ssh-rsa key/],
    ['a truncated key', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoq', /wrong length|not a ssh-ed25519/],
  ])('synth refuses %s, naming the field, the value (truncated) and the fix', (_what, value, problem) => {
    const app = new App({ outdir: '/tmp/unused' });
    const stack = new TerraformStack(app, 's');
    let err: Error | undefined;
    try {
      new PostfixHost(stack, 'mx', { connection: { host: 'mx1.example.org', hostKey: value } });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(/mx: connection.hostKey = ".*": /);
    expect(err?.message).toMatch(problem);
    expect(err?.message).toMatch(/Fix: give the host's public key line/);
    expect(err!.message.length).toBeLessThan(400);
  });

  test('a long bad value is shown truncated', () => {
    expect(() => parseOpenSshPublicKey('', 'connection.hostKey', `ssh-dss ${'A'.repeat(400)}`)).toThrow(/"ssh-dss AAAA[A]*\.\.\."/);
  });

  test.each([
    ['connectTimeoutSeconds', 0],
    ['commandTimeoutSeconds', -1],
    ['waitTimeoutSeconds', 1.5],
    ['keepaliveSeconds', 'soon'],
  ])('synth refuses %s = %s', (field, value) => {
    const stack = new TerraformStack(new App({ outdir: '/tmp/unused' }), 's');
    expect(() => new PostfixHost(stack, 'mx', { connection: { host: 'mx1', [field]: value } })).toThrow(
      new RegExp(`connection.${field} = "${value}": not a number of seconds. Fix: use a whole number`),
    );
  });

  test('hostKey and the time limits travel to the runner as environment variables; bad values from the environment are refused', () => {
    const env = connectionToEnv({ host: 'mx1', hostKey: ED25519, waitTimeoutSeconds: 30, connectTimeoutSeconds: 5 });
    expect(env).toMatchObject({
      CDKTF_POSTFIX_HOST_PUBLIC_KEY: ED25519,
      CDKTF_POSTFIX_SSH_WAIT: '30',
      CDKTF_POSTFIX_SSH_CONNECT_TIMEOUT: '5',
    });
    const resolved = resolveConnection(connectionFromEnv(env), {}, '/nonexistent');
    expect(resolved).toMatchObject({
      hostKey: ED25519,
      waitTimeoutMs: 30000,
      connectTimeoutMs: 5000,
      commandTimeoutMs: 1800000,
      keepaliveMs: 15000,
    });
    expect(() =>
      resolveConnection(connectionFromEnv({ CDKTF_POSTFIX_HOST: 'mx1', CDKTF_POSTFIX_SSH_WAIT: 'forever' }), {}, '/nonexistent'),
    ).toThrow(/CDKTF_POSTFIX_SSH_WAIT.*"forever": not a number of seconds/);
  });

  test('IPv6 literals: the known_hosts name keeps every colon; the label brackets it only with a port', () => {
    expect(resolveConnection({ host: '2001:db8::1' }, {}, '/nonexistent')).toMatchObject({
      name: '2001:db8::1',
      hostName: '2001:db8::1',
      label: '2001:db8::1',
      port: 22,
    });
    expect(resolveConnection({ host: '[2001:db8::1]', port: 2222 }, {}, '/nonexistent')).toMatchObject({
      name: '2001:db8::1',
      hostName: '2001:db8::1',
      label: '[2001:db8::1]:2222',
    });
  });
});

describe('wait-for-SSH', () => {
  const target = { label: 'mx', hostName: '127.0.0.99', port: 22, waitTimeoutMs: 30000 };
  test('backoff doubles from 1 s and stays at 10 s', () => {
    expect([0, 1, 2, 3, 4, 9].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 10000, 10000]);
  });

  test('retries retryable errors with one progress line each, then succeeds', async () => {
    const lines: string[] = [];
    let n = 0;
    const slept: number[] = [];
    const result = await withSshWait(
      target,
      async () => {
        if (++n < 3) throw new Error('refused');
        return 'up';
      },
      () => 'connection refused',
      (l) => lines.push(l),
      async (ms) => void slept.push(ms),
    );
    expect(result).toBe('up');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^waiting for ssh on 127.0.0.99:22 \(connection refused\), \d+ s of 30 s$/);
    expect(slept).toEqual([1000, 2000]);
  });

  test('a non-retryable error (a host key refusal) fails at once', async () => {
    let n = 0;
    await expect(
      withSshWait(
        target,
        async () => {
          n++;
          throw new Error('host key refused');
        },
        () => undefined,
        () => undefined,
        async () => undefined,
      ),
    ).rejects.toThrow('host key refused');
    expect(n).toBe(1);
  });

  test('gives up after the limit with the last error', async () => {
    let n = 0;
    await expect(
      withSshWait(
        { ...target, waitTimeoutMs: 1500 },
        async () => {
          throw new Error(`refused #${++n}`);
        },
        () => 'connection refused',
        () => undefined,
        (ms) => new Promise((r) => setTimeout(r, ms)),
      ),
    ).rejects.toThrow(/refused #3 \(gave up after 3 attempts.*raise connection.waitTimeoutSeconds or CDKTF_POSTFIX_SSH_WAIT/);
  });
});

test('connection.hostKey may be a token: synth passes it through to the runner environment unchecked', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'hostkey-token-'));
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 's');
  const key = new TerraformVariable(stack, 'host_public_key', { type: 'string' });
  new PostfixHost(stack, 'mx', { connection: { host: 'mx1.example.org', hostKey: key.stringValue, waitTimeoutSeconds: 600 } });
  app.synth();
  const json = readFileSync(join(outdir, 'stacks', 's', 'cdk.tf.json'), 'utf8');
  expect(json).toContain('"CDKTF_POSTFIX_HOST_PUBLIC_KEY": "${var.host_public_key}"');
  expect(json).toContain('"CDKTF_POSTFIX_SSH_WAIT": "600"');
});
