import { execFileSync, spawn, spawnSync } from 'child_process';
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  openSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PostfixConfigError } from '../../lib/model/errors';
import { dhParameterBits, validateDhBits, validateDhPath, validateGeneration } from '../../lib/model/dh';
import {
  DH_ROTATE_EXIT,
  dhRotationArgv,
  renderDhCron,
  renderDhRotationScript,
  renderDhSystemdService,
  renderDhSystemdTimer,
} from '../../lib/render/dh-rotation';

const dir = mkdtempSync(join(tmpdir(), 'dh-test-'));

function errorOf(fn: () => unknown): PostfixConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PostfixConfigError) return e;
    throw e;
  }
  throw new Error('expected a PostfixConfigError');
}

describe('DH validation', () => {
  it('bits under 2048 are an error naming the field, value and fix', () => {
    const e = errorOf(() => validateDhBits(1024));
    expect([e.field, e.value]).toEqual(['bits', '1024']);
    expect(e.fix).toMatch(/2048/);
    expect(() => validateDhBits(2048.5)).toThrow(PostfixConfigError);
    expect(() => validateDhBits(16384)).toThrow(PostfixConfigError);
    expect(validateDhBits(3072)).toBe(3072);
  });

  it('paths and generations are plain', () => {
    expect(validateDhPath('/etc/postfix/dh2048.pem')).toBe('/etc/postfix/dh2048.pem');
    for (const bad of ['dh.pem', '/etc/postfix/dh 2048.pem', '/etc/postfix/$(id).pem', '/etc/../x.pem']) {
      expect(() => validateDhPath(bad)).toThrow(PostfixConfigError);
    }
    expect(() => validateGeneration('2026-05-01')).not.toThrow();
    expect(() => validateGeneration('a;b')).toThrow(PostfixConfigError);
  });

  it('reads the prime size from PEM', () => {
    const pem1024 = execFileSync('openssl', ['dhparam', '1024'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(dhParameterBits(pem1024)).toBe(1024);
    const ffdhe = execFileSync('openssl', ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe3072'], {
      encoding: 'utf8',
    });
    expect(dhParameterBits(ffdhe)).toBe(3072);
    expect(() => dhParameterBits('-----BEGIN CERTIFICATE-----')).toThrow(PostfixConfigError);
  });
});

describe('rendered schedules', () => {
  const target = { path: '/etc/postfix/dh2048.pem', bits: 2048 };

  it('argv, systemd units and cron entry run the same command', () => {
    expect(dhRotationArgv(target)).toEqual(['/bin/sh', '/usr/local/sbin/cdktf-postfix-dh-rotate', '/etc/postfix/dh2048.pem', '2048']);
    expect(dhRotationArgv({ ...target, configDirectory: '/srv/pf' })).toContain('-c');
    expect(renderDhSystemdService(target)).toContain(
      'ExecStart=/bin/sh /usr/local/sbin/cdktf-postfix-dh-rotate /etc/postfix/dh2048.pem 2048',
    );
    expect(renderDhSystemdTimer('cdktf-postfix-dh')).toMatch(/OnCalendar=weekly[\s\S]*Persistent=true[\s\S]*WantedBy=timers.target/);
    expect(renderDhCron(target, '@weekly')).toContain(
      '@weekly root /bin/sh /usr/local/sbin/cdktf-postfix-dh-rotate /etc/postfix/dh2048.pem 2048',
    );
    expect(() => renderDhCron(target, '* * * * * ; rm -rf /')).toThrow(PostfixConfigError);
    expect(() => renderDhSystemdTimer('x', 'weekly\nExecStart=/bin/evil')).toThrow(PostfixConfigError);
  });

  it('the script is POSIX sh (dash -n) and documents its exit codes', () => {
    const script = renderDhRotationScript();
    const path = join(dir, 'rotate.sh');
    writeFileSync(path, script);
    expect(spawnSync('dash', ['-n', path]).status).toBe(0);
    for (const code of Object.values(DH_ROTATE_EXIT)) expect(script).toContain(String(code));
  });
});

describe('rotation script, run for real with a stand-in postfix command', () => {
  const script = join(dir, 'rotate.sh');
  const fakePostfix = join(dir, 'postfix');
  const log = join(dir, 'postfix.log');
  const work = join(dir, 'etc');
  mkdirSync(work);
  writeFileSync(script, renderDhRotationScript());
  // The stand-in logs its arguments and fails the subcommand named in $FAIL_ON.
  writeFileSync(fakePostfix, `#!/bin/sh\necho "$*" >> ${log}\nfor a in "$@"; do [ "$a" = "$FAIL_ON" ] && exit 1; done\nexit 0\n`);
  chmodSync(fakePostfix, 0o755);

  // RFC 7919 ffdhe2048 is instant to produce; one test still generates for real.
  const ready = join(dir, 'ffdhe2048.pem');
  execFileSync('openssl', ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', ready]);

  function rotate(args: string[], failOn = 'none') {
    writeFileSync(log, '');
    const r = spawnSync('sh', [script, '-P', fakePostfix, ...args], { env: { FAIL_ON: failOn }, encoding: 'utf8' });
    return { status: r.status, stderr: r.stderr, calls: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
  }

  it('generates, checks, swaps, runs postfix check and reloads', () => {
    const target = join(work, 'dh.pem');
    writeFileSync(target, 'old\n');
    const r = rotate([target, '2048']);
    expect(r.status).toBe(DH_ROTATE_EXIT.OK);
    expect(dhParameterBits(readFileSync(target, 'utf8'))).toBe(2048);
    expect(r.calls).toEqual(['check', 'status', 'reload']);
    expect(readdirSync(work)).toEqual(['dh.pem']); // no temp, backup or lock left behind
  });

  it('puts the old file back when postfix check fails', () => {
    const target = join(work, 'dh-check.pem');
    writeFileSync(target, 'previous parameters\n');
    const r = rotate(['-i', ready, target, '2048'], 'check');
    expect(r.status).toBe(DH_ROTATE_EXIT.POSTFIX_CHECK);
    expect(readFileSync(target, 'utf8')).toBe('previous parameters\n');
    expect(r.calls).toEqual(['check']);
    expect(readdirSync(work).filter((f) => f.startsWith('dh-check'))).toEqual(['dh-check.pem']);
  });

  it('puts the old file back and reloads it when reload fails', () => {
    const target = join(work, 'dh-reload.pem');
    writeFileSync(target, 'previous\n');
    const r = rotate(['-i', ready, target, '2048'], 'reload');
    expect(r.status).toBe(DH_ROTATE_EXIT.RELOAD);
    expect(readFileSync(target, 'utf8')).toBe('previous\n');
  });

  it('-n only swaps (the caller validates and reloads)', () => {
    const target = join(work, 'dh-n.pem');
    const r = rotate(['-n', '-i', ready, target, '2048']);
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([]);
    expect(existsSync(target)).toBe(true);
  });

  it.each([
    [['relative.pem', '2048']],
    [['/tmp/x;id.pem', '2048']],
    [['/tmp/x.pem', '1024']],
    [['/tmp/x.pem', '2048abc']],
    [['/tmp/x.pem']],
  ])('refuses bad arguments %j', (args) => {
    expect(rotate(args).status).toBe(DH_ROTATE_EXIT.USAGE);
  });

  it('refuses a supplied file that is too small or not DH parameters', () => {
    const small = join(dir, 'small.pem');
    writeFileSync(small, execFileSync('openssl', ['dhparam', '1024'], { stdio: ['ignore', 'pipe', 'ignore'] }));
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not parameters\n');
    const target = join(work, 'dh-small.pem');
    writeFileSync(target, 'kept\n');
    expect(rotate(['-i', small, target, '2048']).status).toBe(DH_ROTATE_EXIT.CHECK);
    expect(rotate(['-i', junk, target, '2048']).status).toBe(DH_ROTATE_EXIT.CHECK);
    expect(readFileSync(target, 'utf8')).toBe('kept\n');
  });

  it('backs off while another rotation holds the lock, leaving the file alone', () => {
    const busy = join(dir, 'busy');
    mkdirSync(busy);
    const target = join(busy, 'dh.pem');
    writeFileSync(target, 'current\n');
    // A live rotation holds flock(1) on the target's directory; this one must back off.
    const holder = spawn('flock', [busy, 'sleep', '60'], { stdio: 'ignore' });
    try {
      while (spawnSync('flock', ['-n', busy, 'true']).status === 0) spawnSync('sleep', ['0.05']);
      expect(rotate([target, '2048']).status).toBe(DH_ROTATE_EXIT.BUSY);
      expect(readFileSync(target, 'utf8')).toBe('current\n');
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a lock directory left by an earlier version no longer blocks: the run rotates and removes it', () => {
    const target = join(work, 'dh-legacy.pem');
    writeFileSync(target, 'current\n');
    mkdirSync(`${target}.lock`);
    expect(rotate(['-i', ready, target, '2048']).status).toBe(DH_ROTATE_EXIT.OK);
    expect(readdirSync(work).filter((f) => f.startsWith('dh-legacy'))).toEqual(['dh-legacy.pem']);
  });

  it('a SIGKILLed rotation does not block the next one, which clears its debris', async () => {
    const killed = join(dir, 'killed');
    mkdirSync(killed);
    const target = join(killed, 'dh.pem');
    writeFileSync(target, 'current\n');
    // -i from a FIFO with no writer: the run blocks in cp, holding the lock, until it is killed.
    const fifo = join(dir, 'never-written');
    execFileSync('mkfifo', [fifo]);
    writeFileSync(`${target}.new.99999`, 'left by a run killed mid-generation\n');
    const stuck = spawn('sh', [script, '-P', fakePostfix, '-i', fifo, target, '2048'], { stdio: 'ignore' });
    // Wait until its cp is blocked on the FIFO (so the lock is held and a child is running).
    while (spawnSync('pgrep', ['-f', `^cp ${fifo} `]).status !== 0) await new Promise((r) => setTimeout(r, 50));
    const gone = new Promise((r) => stuck.on('exit', r));
    stuck.kill('SIGKILL'); // only the shell: its cp child lives on, but never had the lock's fd
    await gone;
    try {
      expect(rotate(['-i', ready, target, '2048']).status).toBe(DH_ROTATE_EXIT.OK);
      expect(dhParameterBits(readFileSync(target, 'utf8'))).toBe(2048);
      expect(readdirSync(killed)).toEqual(['dh.pem']);
    } finally {
      // Lets the orphaned cp finish: a non-blocking open succeeds only while it waits as a reader.
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        /* no reader left */
      }
    }
  });
});
