/**
 * The warm runner: one node process, started (detached) by the first per-host client that finds
 * none, serving every client of the same build, user, working directory and inherited environment
 * (socket-dir.ts) until it has had no connection for idleMs. Each request runs runnerMain with the
 * client's own argv, environment and streams; applies are independent and run concurrently. It
 * writes nothing anywhere but to its clients (its stdio is /dev/null), so it cannot log secrets.
 */
import { Stats, statSync, unlinkSync } from 'fs';
import { createConnection, createServer, Server, Socket } from 'net';
import { runnerMain } from '../apply/runner';
import { encodeFrame, Frame, FrameDecoder, jsonFrame, parseRequest, ProtocolError, RunRequest } from './protocol';

export interface ServeOptions {
  readonly socketPath: string;
  /** The runner build's hash; a request of another build is refused. */
  readonly build: string;
  /** Exit after this long without any connection. */
  readonly idleMs: number;
  /** A file the starting client created so that only one runner starts; removed once listening. */
  readonly lockPath?: string;
}

/** Resolves when the runner stops listening (idle, or found stale). */
export function serveWarmRunner(opts: ServeOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const home = { path: process.cwd(), st: statSync('.') };
    // Busy: a connection is open or an apply runs (one whose client went away is being cancelled).
    let busy = 0;
    let idle: NodeJS.Timeout | undefined;
    let own: Stats | undefined;
    const hold = (): (() => void) => {
      busy++;
      if (idle) clearTimeout(idle);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (--busy === 0) armIdle();
      };
    };
    const server = createServer((socket) => {
      socket.on('close', hold());
      serveConnection(socket, opts.build, home, hold, () => stop());
    });
    const armIdle = (): void => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(stop, opts.idleMs);
    };
    const stop = (): void => {
      if (idle) clearTimeout(idle);
      removeOwnSocket(opts.socketPath, own);
      server.close(() => resolve());
    };
    listenOnce(server, opts.socketPath)
      .then((listening) => {
        if (opts.lockPath) removeQuietly(opts.lockPath);
        if (!listening) return resolve(); // another runner of this instance is serving
        own = statSync(opts.socketPath);
        armIdle();
      })
      .catch(reject);
  });
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
function serveConnection(socket: Socket, build: string, home: { path: string; st: Stats }, hold: () => () => void, stale: () => void): void {
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
    const release = hold();
    send(encodeFrame('A'));
    const io = { stdout: (t: string) => send(encodeFrame('O', t)), stderr: (t: string) => send(encodeFrame('E', t)) };
    runnerMain(req.argv, req.env, io, abort.signal)
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
