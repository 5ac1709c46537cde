/**
 * The warm runner: one node process, started (detached) by the first per-host client that finds
 * none, serving every client of the same build, user, working directory and inherited environment
 * (socket-dir.ts) until it has had no connection for idleMs. Each request runs runnerMain with the
 * client's own argv, environment and streams; applies are independent and run concurrently. It
 * writes nothing anywhere but to its clients (its stdio is /dev/null), so it cannot log secrets.
 */
import { closeSync, openSync, Stats, statSync, unlinkSync, utimesSync } from 'fs';
import { createConnection, createServer, Server, Socket } from 'net';
import { runnerMain } from '../apply/runner';
import { encodeFrame, Frame, FrameDecoder, jsonFrame, parseRequest, ProtocolError, RunRequest } from './protocol';

export interface ServeOptions {
  readonly socketPath: string;
  /** The runner build's hash; a request of another build is refused. */
  readonly build: string;
  /** The detached runner exits after this long without any connection or apply. */
  readonly idleMs?: number;
  /** A file the starting client created so that only one runner starts; removed once listening. */
  readonly lockPath?: string;
  /** Touched on every request served to another process: a fleet apply is under way (start.ts). */
  readonly fleetMarker?: string;
}

interface Listener {
  /** False: another runner of this instance already listens. */
  readonly listening: boolean;
  /** Stop listening (the socket goes); resolves once every served apply has ended. */
  stop(): Promise<void>;
  /** Resolves when the server has closed (stop() was called and every connection ended). */
  readonly closed: Promise<void>;
  readonly busy: () => boolean;
}

/**
 * Listen on the socket and serve; `idle` runs each time nothing is busy (no connection open, no
 * apply running: an apply whose client went away is still being cancelled).
 */
async function listen(opts: ServeOptions, idle: (busy: boolean) => void): Promise<Listener> {
  const home = { path: process.cwd(), st: statSync('.') };
  let busy = 0;
  let own: Stats | undefined;
  const hold = (): (() => void) => {
    if (busy++ === 0) idle(true);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--busy === 0) idle(false);
    };
  };
  let onClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  let stopping = false;
  const stop = (): Promise<void> => {
    removeOwnSocket(opts.socketPath, own);
    if (!stopping) server.close(() => onClosed());
    stopping = true;
    return closed;
  };
  const server = createServer((socket) => {
    socket.on('close', hold());
    serveConnection(
      socket,
      opts.build,
      home,
      () => {
        if (opts.fleetMarker) touch(opts.fleetMarker);
        return hold();
      },
      () => void stop(),
    );
  });
  let listening: boolean;
  try {
    listening = await listenOnce(server, opts.socketPath);
  } finally {
    if (opts.lockPath) removeQuietly(opts.lockPath);
  }
  if (listening) own = statSync(opts.socketPath);
  return { listening, stop, closed, busy: () => busy > 0 };
}

/** The detached warm runner: serves until idle for opts.idleMs (or found stale), then resolves. */
export async function serveWarmRunner(opts: ServeOptions): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void l.stop(), opts.idleMs ?? 10_000);
  };
  const l: Listener = await listen(opts, (busy) => (busy ? clearTimeout(timer) : arm()));
  if (!l.listening) return;
  if (!l.busy()) arm();
  await l.closed;
  // The fleet is over (nothing came for idleMs): the next client applies in-process and serves.
  if (opts.fleetMarker) removeQuietly(opts.fleetMarker);
}

/**
 * The first client of a host that finds no runner applies its own host in-process and, while it
 * does, serves the clients that arrive (one node process for the hosts Terraform starts together,
 * without starting another). When its own apply ends it stops listening, lets the applies it serves
 * finish, and marks the fleet (opts.fleetMarker) if it served any, so the next client to find no
 * runner starts the detached one. Returns its own apply's exit code.
 */
export async function serveWhileApplying(opts: ServeOptions, own: () => Promise<number>): Promise<number> {
  let l: Listener | undefined;
  try {
    l = await listen(opts, () => undefined);
  } catch {
    l = undefined; // cannot listen: apply alone, as without the warm runner
  }
  const code = await own();
  if (l?.listening) await l.stop();
  return code;
}

function touch(path: string): void {
  try {
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    try {
      closeSync(openSync(path, 'w', 0o600));
    } catch {
      // a marker only: without it the next client applies in-process and serves
    }
  }
}

/** Listen on path; a live runner there → false; a dead one's socket file is replaced. */
async function listenOnce(server: Server, path: string): Promise<boolean> {
  const listen = (): Promise<NodeJS.ErrnoException | undefined> =>
    new Promise((resolve) => {
      const onError = (e: NodeJS.ErrnoException): void => resolve(e);
      server.once('error', onError);
      server.listen(path, () => {
        server.off('error', onError);
        resolve(undefined);
      });
    });
  const first = await listen();
  if (!first) return true;
  if (first.code !== 'EADDRINUSE') throw first;
  if (await answers(path)) return false;
  removeQuietly(path);
  const second = await listen();
  if (second) throw second;
  return true;
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Unlink the socket only if it is still ours (a newer runner may have taken the name). */
function removeOwnSocket(path: string, own: Stats | undefined): void {
  if (!own) return;
  try {
    const now = statSync(path);
    if (now.ino === own.ino && now.dev === own.dev) unlinkSync(path);
  } catch {
    // gone already
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}

/** hello → request → accepted → output frames → exit; a cancel frame or a lost client aborts the apply. */
function serveConnection(
  socket: Socket,
  build: string,
  home: { path: string; st: Stats },
  accept: () => () => void,
  stale: () => void,
): void {
  const decoder = new FrameDecoder();
  const abort = new AbortController();
  let request: RunRequest | undefined;
  let done = false;
  const send = (frame: Buffer): void => {
    if (!socket.destroyed) socket.write(frame);
  };
  const refuse = (reason: string, retry = false): void => {
    done = true;
    send(jsonFrame('N', { reason, retry }));
    socket.end();
  };
  socket.on('error', () => undefined); // a client that went away: 'close' follows
  socket.on('close', () => {
    if (!done) abort.abort();
  });
  send(jsonFrame('H', { build, pid: process.pid }));
  socket.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (e) {
      return refuse((e as ProtocolError).message);
    }
    for (const frame of frames) {
      if (frame.type === 'C') {
        abort.abort();
      } else if (frame.type === 'R' && !request) {
        try {
          request = parseRequest(frame);
        } catch (e) {
          return refuse((e as Error).message);
        }
        if (request.build !== build) return refuse(`build ${request.build.slice(0, 12)} asked of runner build ${build.slice(0, 12)}`);
        if (!sameDirectory(request.cwd, home)) {
          refuse(`working directory ${request.cwd} is not the runner's (replaced since it started)`, true);
          return stale();
        }
        run(request);
      } else {
        return refuse(`unexpected frame ${frame.type}`);
      }
    }
  });
  const run = (req: RunRequest): void => {
    const release = accept();
    send(encodeFrame('A'));
    const io = { stdout: (t: string) => send(encodeFrame('O', t)), stderr: (t: string) => send(encodeFrame('E', t)) };
    void runnerMain(req.argv, req.env, io, abort.signal)
      .catch((e: Error) => {
        io.stderr(`cdktf-postfix: ${e.message}\n`);
        return 1;
      })
      .then((code) => {
        release();
        done = true;
        send(jsonFrame('X', { code }));
        socket.end();
      });
  };
}

/** The request's directory is the one this runner started in (same path, same inode: not re-created). */
function sameDirectory(cwd: string, home: { path: string; st: Stats }): boolean {
  if (cwd !== home.path) return false;
  try {
    const st = statSync(cwd);
    return st.ino === home.st.ino && st.dev === home.st.dev;
  } catch {
    return false;
  }
}
