/**
 * The reload barrier's looks at a process (lib/apply/remote/reload.sh), run by a real sh against
 * real processes: python3 holding one eventpoll descriptor stands in for master, asleep in
 * epoll_wait, busy, or asleep elsewhere. The barrier ends on one SIGHUP only when master is seen
 * asleep in epoll_wait on its own eventpoll descriptor, so every other state must read "not idle".
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { join } from 'path';

const REMOTE = join(__dirname, '../../lib/apply/remote');

function sh(script: string, args: string[] = []): string {
  const prelude = ['set -u', `TAB=$(printf '\\t')`, `R=${REMOTE}`, '. "$R/common.sh"', '. "$R/reload.sh"'].join('\n');
  return execFileSync('sh', ['-c', `${prelude}\n${script}`, 'sh', ...args], { encoding: 'utf8' });
}

/** What the barrier reads of process $1: its eventpoll descriptor, whether the look works, idle or not. */
function look(pid: number, epfd?: number): { epfd: string; works: boolean; idle: boolean } {
  const out = sh(
    'master_fds "$1"; e=$EPFD; [ -n "$2" ] && e=$2; w=no; idle_look_works "$1" && w=yes; i=no; master_idle "$1" "$e" && i=yes; printf "%s %s %s" "$EPFD" "$w" "$i"',
    [String(pid), epfd === undefined ? '' : String(epfd)],
  );
  const [fd, works, idle] = out.split(' ');
  return { epfd: fd, works: works === 'yes', idle: idle === 'yes' };
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill('SIGKILL');
});

/**
 * A python3 process with one eventpoll descriptor and one pipe of its own (node's stdio "pipes" are
 * socketpairs, and any pipe it inherits comes from whatever started the tests: CI has none); prints
 * the eventpoll descriptor's number once `mode` is under way.
 */
async function python(mode: 'epoll' | 'busy' | 'sleep'): Promise<{ pid: number; epfd: number }> {
  const body = {
    epoll: 'e.poll(60)',
    busy: 'while True: pass',
    sleep: 'time.sleep(60)',
  }[mode];
  const p = spawn(
    'python3',
    ['-c', `import os, select, sys, time\npipe = os.pipe()\ne = select.epoll()\nprint(e.fileno(), flush=True)\n${body}`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  running.push(p);
  const epfd = await new Promise<number>((resolve, reject) => {
    p.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    p.once('exit', (code) => reject(new Error(`python3 exited (${code})`)));
  });
  // Let it reach its system call (or its loop) after the print.
  await new Promise((r) => setTimeout(r, 300));
  return { pid: p.pid!, epfd };
}

test('a process asleep in epoll_wait reads idle on its own eventpoll descriptor, and on no other', async () => {
  const { pid, epfd } = await python('epoll');
  const seen = look(pid);
  expect(seen).toEqual({ epfd: String(epfd), works: true, idle: true });
  expect(look(pid, epfd + 1).idle).toBe(false);
});

test('a busy process, or one asleep in another call, is not idle though the look works', async () => {
  for (const mode of ['busy', 'sleep'] as const) {
    const { pid, epfd } = await python(mode);
    expect([mode, look(pid)]).toEqual([mode, { epfd: String(epfd), works: true, idle: false }]);
  }
});

test('without an eventpoll descriptor, or for a process that is gone, the look does not work (the barrier sends a second SIGHUP)', async () => {
  const p = spawn('sleep', ['60'], { stdio: 'ignore' });
  running.push(p);
  await new Promise((r) => setTimeout(r, 200));
  expect(look(p.pid!)).toEqual({ epfd: '', works: false, idle: false });
  const gone = spawn('true');
  await new Promise((r) => gone.once('exit', r));
  expect(look(gone.pid!, 3)).toEqual({ epfd: '', works: false, idle: false });
});

test('master_fds lists pipes and sockets without the eventpoll line, which it reads into EPFD', async () => {
  const { pid, epfd } = await python('epoll');
  const out = sh('master_fds "$1"; printf "%s\\n--\\n%s" "$FDS" "$EPFD"', [String(pid)]);
  const [fds, ep] = out.split('\n--\n');
  expect(ep).toBe(String(epfd));
  expect(fds).not.toMatch(/eventpoll/);
  // The pipe it opened is one of its descriptors (a pipe master uses is listed the same way).
  expect(
    fds
      .split('\n')
      .filter(Boolean)
      .every((l) => /^(pipe|socket):\[\d+\]$/.test(l)),
  ).toBe(true);
  expect(fds).toMatch(/^pipe:\[\d+\]$/m);
});
