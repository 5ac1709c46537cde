/**
 * The program Terraform's local-exec starts for every host (dist/runner/cdktf-postfix-runner.js):
 *   node cdktf-postfix-runner.js apply|destroy BUNDLE_PATH
 * It loads node core modules only, hands the request (argv, working directory, its own environment)
 * to the warm runner over a unix socket and relays the runner's stdout, stderr and exit code;
 * SIGINT/SIGTERM cancel the apply in the runner. When none listens (start.ts), this client becomes
 * the runner for the hosts that start while it applies its own, or, once a fleet is under way,
 * starts the detached one. When the warm
 * runner is off (CDKTF_POSTFIX_WARM_RUNNER=0), unsafe (socket-dir.ts) or fails before it accepted the
 * request, or goes away during it, the apply runs in this process exactly as without it (the apply
 * converges, so running it again after a lost runner is safe). The apply code lives in the file
 * beside this one and is loaded only when this process applies or serves.
 */
import type { Socket } from 'net';
import { dirname, join } from 'path';
import { codeCachePath, loadWithCodeCache } from './code-cache';
import { ensureSafeDir, socketPath, warmRunnerDir } from './socket-dir';
import { encodeFrame, Frame, FrameDecoder, Hello, jsonFrame, parseJsonFrame } from './protocol';
import { idleSeconds, reachRunner, WARM_FLAG } from './start';

declare const __CDKTF_POSTFIX_RUNNER_BUILD__: string | undefined;

type Heavy = typeof import('./warm-entry') & { RUNNER_BUILD?: string };

/** sha256 of the apply code this client was built with: two builds never serve each other. */
export const RUNNER_BUILD = typeof __CDKTF_POSTFIX_RUNNER_BUILD__ === 'string' ? __CDKTF_POSTFIX_RUNNER_BUILD__ : 'unbundled';

const say = (line: string): void => void process.stderr.write(`cdktf-postfix: ${line}\n`);

/**
 * The apply code, loaded only by the process that applies or serves: the built file beside this one
 * (the runner directory), or the modules beside this one when running unbundled. The names are not
 * literals, so the bundler never pulls the apply code into the client. With the warm runner's
 * (safe) directory, the built file loads through V8's code cache kept there (code-cache.ts).
 */
function loadHeavy(safeDir?: string): { heavy: Heavy; fromCache: boolean } {
  if (typeof __CDKTF_POSTFIX_RUNNER_BUILD__ !== 'string') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: the apply code loads only in the process that applies or serves
    return { heavy: require('./warm-entry') as Heavy, fromCache: false };
  }
  const file = join(__dirname, 'cdktf-postfix-apply.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy, as above
  if (!safeDir) return { heavy: require(file) as Heavy, fromCache: false };
  const loaded = loadWithCodeCache(file, codeCachePath(safeDir, RUNNER_BUILD));
  process.once('exit', loaded.saveCache);
  return { heavy: loaded.exports as Heavy, fromCache: loaded.fromCache };
}

/** The build of the code this process actually runs: a client beside another build's file sees it in the hello. */
const serveOptions = (heavy: Heavy, sock: string) => ({
  socketPath: sock,
  build: heavy.RUNNER_BUILD ?? RUNNER_BUILD,
  lockPath: `${sock}.lock`,
  fleetMarker: `${sock}.fleet`,
});

type Outcome =
  | { kind: 'exit'; code: number }
  | { kind: 'self'; sock: string }
  | { kind: 'signal'; signal: NodeJS.Signals }
  | { kind: 'fallback'; reason: string; retry?: boolean };

export async function clientMain(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  if (argv[0] === WARM_FLAG) {
    const [, sock, idleMs] = argv;
    const { heavy } = loadHeavy(dirname(sock));
    await heavy.serveWarmRunner({ ...serveOptions(heavy, sock), idleMs: Number(idleMs) });
    process.exit(0);
  }
  const warm =
    env.CDKTF_POSTFIX_WARM_RUNNER !== '0' && (argv[0] === 'apply' || argv[0] === 'destroy') ? await viaWarmRunner(argv, env) : undefined;
  if (warm?.kind === 'self') {
    const { heavy, fromCache } = loadHeavy(dirname(warm.sock));
    if (env.CDKTF_POSTFIX_WARM_RUNNER_DEBUG === '1')
      say(
        `this process (pid ${process.pid}) applies and serves the hosts that start meanwhile (${warm.sock}); apply code ${fromCache ? "from V8's code cache" : 'compiled'}`,
      );
    process.exit(await heavy.serveWhileApplying(serveOptions(heavy, warm.sock), () => heavy.runnerMain(argv, env)));
  }
  if (warm?.kind === 'signal') {
    process.kill(process.pid, warm.signal); // end as an uncancelled runner would: by the signal
    return;
  }
  const code = warm?.kind === 'exit' ? warm.code : await loadHeavy().heavy.runnerMain(argv, env);
  process.exit(code);
}

/** The warm runner's outcome, or undefined: apply in this process. */
async function viaWarmRunner(argv: string[], env: NodeJS.ProcessEnv): Promise<Outcome | undefined> {
  let sock: string;
  try {
    const uid = process.getuid!();
    const dir = warmRunnerDir(env, uid);
    ensureSafeDir(dir, uid);
    idleSeconds(env);
    sock = socketPath(dir, RUNNER_BUILD, uid, process.cwd(), env);
  } catch (e) {
    say(`warm runner not used: ${(e as Error).message}; applying in this process`);
    return undefined;
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    const reached = await reachRunner(sock, __filename, env);
    if ('self' in reached) return { kind: 'self', sock };
    if ('none' in reached) {
      say(`warm runner unavailable (${reached.none}); applying in this process`);
      return undefined;
    }
    const outcome = await relay(reached.socket, argv, env, sock);
    if (outcome.kind !== 'fallback') return outcome;
    if (outcome.retry && attempt === 0) continue;
    say(`warm runner ${outcome.reason}; applying in this process`);
    return undefined;
  }
  return undefined;
}

/** One request on a connected socket: hello, request, then the runner's frames until exit. */
function relay(socket: Socket, argv: string[], env: NodeJS.ProcessEnv, sock: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const decoder = new FrameDecoder();
    let hello: Hello | undefined;
    let accepted = false;
    let cancelled: NodeJS.Signals | undefined;
    let finished = false;
    const finish = (o: Outcome): void => {
      if (finished) return;
      finished = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      socket.destroy();
      resolve(cancelled ? { kind: 'signal', signal: cancelled } : o);
    };
    const lost = (why: string): void =>
      finish({ kind: 'fallback', reason: `(pid ${hello?.pid ?? '?'}) ${why}${accepted ? ' during the apply' : ''}` });
    const onSignal = (signal: NodeJS.Signals): void => {
      cancelled = signal;
      if (!accepted) return finish({ kind: 'signal', signal });
      socket.write(encodeFrame('C', signal));
      setTimeout(() => finish({ kind: 'signal', signal }), 10_000).unref();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const onFrame = (f: Frame): boolean => {
      switch (f.type) {
        case 'H':
          hello = parseJsonFrame<Hello>(f);
          if (hello.build !== RUNNER_BUILD) {
            finish({
              kind: 'fallback',
              reason: `(pid ${hello.pid}) is build ${String(hello.build).slice(0, 12)}, not ${RUNNER_BUILD.slice(0, 12)}`,
            });
            return false;
          }
          socket.write(jsonFrame('R', { build: RUNNER_BUILD, argv, cwd: process.cwd(), env: stringsOf(env) }));
          return true;
        case 'A':
          accepted = true;
          if (env.CDKTF_POSTFIX_WARM_RUNNER_DEBUG === '1') say(`warm runner pid ${hello?.pid} applies this (${sock})`);
          return true;
        case 'N': {
          const n = parseJsonFrame<{ reason?: string; retry?: boolean }>(f);
          finish({ kind: 'fallback', reason: `(pid ${hello?.pid}) refused the request: ${n.reason}`, retry: n.retry === true });
          return false;
        }
        case 'O':
          process.stdout.write(f.payload);
          return true;
        case 'E':
          process.stderr.write(f.payload);
          return true;
        case 'X':
          finish({ kind: 'exit', code: Number(parseJsonFrame<{ code?: number }>(f).code ?? 1) });
          return false;
        default:
          lost(`sent an unexpected frame ${f.type}`);
          return false;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of decoder.push(chunk)) if (!onFrame(f)) return;
      } catch (e) {
        lost(`broke the protocol: ${(e as Error).message}`);
      }
    });
    socket.on('error', (e) => lost(e.message));
    socket.on('close', () => lost('closed the connection'));
  });
}

function stringsOf(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') out[k] = v;
  return out;
}

if (require.main === module) {
  void clientMain(process.argv.slice(2), process.env);
}
