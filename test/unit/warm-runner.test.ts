/**
 * The warm runner's parts that need no lab host: the frame format (cut anywhere, bad lengths and
 * types), the socket directory checks (wrong mode, wrong owner, a symbolic link, a relative or too
 * long path), the idle setting, and the built client (dist/runner) against real sockets: a runner of
 * another build, a runner that breaks the protocol, and the switch that turns it off. In each of
 * those the client applies in-process, so the bundle error of an unknown schema (which needs no
 * connection) is what it prints, as the runner always did.
 */
import { spawn } from 'child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { createServer, Server } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  encodeFrame,
  FrameDecoder,
  jsonFrame,
  MAX_FRAME_BYTES,
  parseJsonFrame,
  parseRequest,
  ProtocolError,
} from '../../lib/runner/protocol';
import { ensureSafeDir, INHERITED_ENV, inheritedEnv, socketPath, warmRunnerDir } from '../../lib/runner/socket-dir';
import { idleSeconds } from '../../lib/runner/start';

const DIST = join(__dirname, '..', '..', 'dist', 'runner');
const CLIENT = join(DIST, 'cdktf-postfix-runner.js');
const uid = process.getuid!();
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warm-unit-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('frames', () => {
  it('reassemble from a stream cut at every byte', () => {
    const wire = Buffer.concat([
      jsonFrame('H', { build: 'b', pid: 7 }),
      encodeFrame('O', 'héllo\n'),
      encodeFrame('A'),
      jsonFrame('X', { code: 3 }),
    ]);
    const d = new FrameDecoder();
    const got = [];
    for (let i = 0; i < wire.length; i++) got.push(...d.push(wire.subarray(i, i + 1)));
    expect(got.map((f) => f.type)).toEqual(['H', 'O', 'A', 'X']);
    expect(parseJsonFrame(got[0])).toEqual({ build: 'b', pid: 7 });
    expect(got[1].payload.toString('utf8')).toBe('héllo\n');
    expect(got[2].payload.length).toBe(0);
    expect(d.pending).toBe(0);
  });

  it('refuse a zero or oversized length and an unknown type', () => {
    const zero = Buffer.from([0, 0, 0, 0, 0x41]);
    expect(() => new FrameDecoder().push(zero)).toThrow(/frame length 0 out of range/);
    const huge = Buffer.alloc(5);
    huge.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    expect(() => new FrameDecoder().push(huge)).toThrow(ProtocolError);
    expect(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 1, 0x5a]))).toThrow(/unknown frame type 0x5a/);
    expect(() => encodeFrame('O', Buffer.alloc(MAX_FRAME_BYTES))).toThrow(/over/);
  });

  it('check a request field by field', () => {
    const ok = { build: 'b', argv: ['apply', 'x.json'], cwd: '/s', env: { A: '1' } };
    expect(parseRequest({ type: 'R', payload: Buffer.from(JSON.stringify(ok)) })).toEqual(ok);
    const bad = (v: unknown) => () => parseRequest({ type: 'R', payload: Buffer.from(JSON.stringify(v)) });
    expect(bad({ ...ok, argv: [1] })).toThrow(/argv is not a list of strings/);
    expect(bad({ ...ok, cwd: 'relative' })).toThrow(/cwd is not an absolute path/);
    expect(bad({ ...ok, env: { A: 1 } })).toThrow(/env is not an object of strings/);
    expect(bad({ ...ok, build: undefined })).toThrow(/build is not a string/);
    expect(bad([1])).toThrow(/not a JSON object/);
    expect(() => parseRequest({ type: 'R', payload: Buffer.from('{') })).toThrow(/not JSON/);
  });
});

describe('the socket directory', () => {
  it('is made with mode 0700 and accepted', () => {
    const d = join(dir, 'fresh');
    ensureSafeDir(d, uid);
    expect(() => ensureSafeDir(d, uid)).not.toThrow();
  });

  it('with another mode is refused, naming the mode and the fix', () => {
    const d = join(dir, 'open');
    mkdirSync(d, { mode: 0o755 });
    chmodSync(d, 0o755);
    expect(() => ensureSafeDir(d, uid)).toThrow(/has mode 0755, not 0700 .*Fix: .*CDKTF_POSTFIX_WARM_RUNNER=0/);
  });

  it('owned by another user is refused', () => {
    if (uid !== 0) return; // chown needs root (the lab tests run as root)
    const d = join(dir, 'theirs');
    mkdirSync(d, { mode: 0o700 });
    chownSync(d, 65534, 65534);
    expect(() => ensureSafeDir(d, uid)).toThrow(/owned by uid 65534, not by this user \(uid 0\)/);
  });

  it('a symbolic link, a file, a relative or too long path are refused', () => {
    const target = join(dir, 'target');
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(target, join(dir, 'link'));
    expect(() => ensureSafeDir(join(dir, 'link'), uid)).toThrow(/is not a directory \(a symbolic link or file is there\)/);
    writeFileSync(join(dir, 'file'), '');
    expect(() => ensureSafeDir(join(dir, 'file'), uid)).toThrow(/is not a directory/);
    expect(() => ensureSafeDir('relative/dir', uid)).toThrow(/"relative\/dir" is not an absolute path/);
    expect(() => ensureSafeDir(`/tmp/${'x'.repeat(80)}`, uid)).toThrow(/longer than 70 bytes/);
  });

  it('is chosen from the variable, then XDG_RUNTIME_DIR, then the temporary directory', () => {
    expect(warmRunnerDir({ CDKTF_POSTFIX_WARM_RUNNER_DIR: '/x', XDG_RUNTIME_DIR: '/run/user/1' }, 1)).toBe('/x');
    expect(warmRunnerDir({ XDG_RUNTIME_DIR: '/run/user/1' }, 1)).toBe('/run/user/1/cdktf-postfix');
    expect(warmRunnerDir({}, 1)).toMatch(/\/cdktf-postfix-1$/);
  });

  it('socket names differ by build, directory and inherited environment, and inherit nothing else', () => {
    const base = socketPath('/d', 'a'.repeat(64), 0, '/s', { HOME: '/root' });
    expect(base).toMatch(/^\/d\/aaaaaaaaaaaa-[0-9a-f]{12}\.sock$/);
    expect(socketPath('/d', 'b'.repeat(64), 0, '/s', { HOME: '/root' })).not.toBe(base);
    expect(socketPath('/d', 'a'.repeat(64), 0, '/t', { HOME: '/root' })).not.toBe(base);
    expect(socketPath('/d', 'a'.repeat(64), 0, '/s', { HOME: '/root', NODE_EXTRA_CA_CERTS: '/ca' })).not.toBe(base);
    expect(socketPath('/d', 'a'.repeat(64), 0, '/s', { HOME: '/root', CDKTF_POSTFIX_HOST: 'h' })).toBe(base);
    const inherited = inheritedEnv({ HOME: '/root', CDKTF_POSTFIX_KEY_PASSPHRASE: 'secret', CDKTF_POSTFIX_TLS_X: 'key' });
    expect(inherited).toEqual({ HOME: '/root' });
    expect(INHERITED_ENV.some((n) => n.startsWith('CDKTF_POSTFIX_'))).toBe(false);
  });

  it('idle seconds: default 10, a bad value names the variable, value and fix', () => {
    expect(idleSeconds({})).toBe(10);
    expect(idleSeconds({ CDKTF_POSTFIX_WARM_RUNNER_IDLE: '2.5' })).toBe(2.5);
    for (const bad of ['soon', '0', '-1', '99999'])
      expect(() => idleSeconds({ CDKTF_POSTFIX_WARM_RUNNER_IDLE: bad })).toThrow(
        new RegExp(`CDKTF_POSTFIX_WARM_RUNNER_IDLE = "${bad}" is not a number of seconds from 0.1 to 3600. Fix:`),
      );
  });
});

describe('the built client falls back to applying in-process', () => {
  const build = /RUNNER_BUILD = "([0-9a-f]{64})"/.exec(readFileSync(join(DIST, 'cdktf-postfix-apply.js'), 'utf8'))![1];
  let work: string;
  let warmDir: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'warm-unit-stack-'));
    writeFileSync(join(work, 'b.json'), JSON.stringify({ format: 'cdktf-postfix/2' }));
    warmDir = join(work, 'w');
    ensureSafeDir(warmDir, uid);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function client(extra: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const env = {
        ...process.env,
        CDKTF_POSTFIX_HOST: '127.0.0.1',
        CDKTF_POSTFIX_PORT: '1',
        CDKTF_POSTFIX_WARM_RUNNER_DIR: warmDir,
        ...extra,
      };
      const c = spawn(process.execPath, [CLIENT, 'apply', 'b.json'], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('error', reject);
      c.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }
  const SCHEMA = /format = "cdktf-postfix\/2": the bundle was written by a newer cdktf-postfix/;

  /** A server on the socket this client would use, answering each connection with `reply`. */
  async function fakeRunner(reply: Buffer): Promise<Server> {
    const sock = socketPath(warmDir, build, uid, work, process.env);
    rmSync(sock, { force: true });
    const server = createServer((s) => {
      s.on('error', () => undefined);
      s.end(reply);
    });
    await new Promise<void>((r) => server.listen(sock, r));
    return server;
  }

  it('when a runner of another build answers on its socket', async () => {
    const server = await fakeRunner(jsonFrame('H', { build: 'f'.repeat(64), pid: 4242 }));
    try {
      const r = await client({});
      expect(r.stderr).toMatch(/warm runner \(pid 4242\) is build ffffffffffff, not [0-9a-f]{12}; applying in this process/);
      expect(r.stderr).toMatch(SCHEMA);
      expect(r.code).toBe(1);
    } finally {
      server.close();
    }
  });

  it('when the runner breaks the protocol', async () => {
    const server = await fakeRunner(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    try {
      const r = await client({});
      expect(r.stderr).toMatch(/warm runner \(pid \?\) broke the protocol: frame length \d+ out of range/);
      expect(r.stderr).toMatch(SCHEMA);
      expect(r.code).toBe(1);
    } finally {
      server.close();
    }
  });

  it('when the socket directory is unsafe (mode 0777), saying so', async () => {
    const open = join(work, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const r = await client({ CDKTF_POSTFIX_WARM_RUNNER_DIR: open });
    expect(r.stderr).toMatch(/warm runner not used: warm runner directory .*\/open has mode 0777, not 0700/);
    expect(r.stderr).toMatch(SCHEMA);
  });

  it('when it is turned off, silently', async () => {
    const r = await client({ CDKTF_POSTFIX_WARM_RUNNER: '0', CDKTF_POSTFIX_WARM_RUNNER_DEBUG: '1' });
    expect(r.stderr).not.toMatch(/warm runner/);
    expect(r.stderr).toMatch(SCHEMA);
    expect(r.code).toBe(1);
  });

  it('with a bad idle setting, naming it', async () => {
    const r = await client({ CDKTF_POSTFIX_WARM_RUNNER_IDLE: 'soon' });
    expect(r.stderr).toMatch(/warm runner not used: CDKTF_POSTFIX_WARM_RUNNER_IDLE = "soon"/);
    expect(r.stderr).toMatch(SCHEMA);
  });
});
