/**
 * Where a warm runner listens, and whether that place is safe: a directory owned by this user with
 * mode 0700 (nobody else may connect, read the requests' environments or plant a socket), and a
 * socket name that includes the runner build's hash and a hash of the process-level environment the
 * runner inherits, so a different build or a different HOME/PATH/CA setting never shares a runner.
 * Node core only (loaded by the per-host client).
 */
import { createHash } from 'crypto';
import { lstatSync, mkdirSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/**
 * The variables a warm runner inherits from the client that starts it (and nothing else: no
 * connection data, no secrets). They shape the process itself: HOME (~/.ssh), PATH, node's own
 * settings (NODE_EXTRA_CA_CERTS is read at start and by the TLS probe), locale and time zone.
 */
export const INHERITED_ENV = ['HOME', 'PATH', 'NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ'] as const;

/** A sun_path holds 108 bytes with its NUL; leave room for the socket name. */
const MAX_DIR_LENGTH = 70;

export class WarmRunnerDirError extends Error {}

/** CDKTF_POSTFIX_WARM_RUNNER_DIR, else $XDG_RUNTIME_DIR/cdktf-postfix, else TMPDIR/cdktf-postfix-UID. */
export function warmRunnerDir(env: NodeJS.ProcessEnv, uid: number): string {
  if (env.CDKTF_POSTFIX_WARM_RUNNER_DIR) return env.CDKTF_POSTFIX_WARM_RUNNER_DIR;
  if (env.XDG_RUNTIME_DIR?.startsWith('/')) return join(env.XDG_RUNTIME_DIR, 'cdktf-postfix');
  return join(tmpdir(), `cdktf-postfix-${uid}`);
}

/**
 * Create the directory (mode 0700) if it is missing, then check what is there: a real directory (not
 * a symbolic link), owned by uid, mode exactly 0700. Throws WarmRunnerDirError naming the problem and
 * the fix otherwise; nothing in a directory that fails is ever used.
 */
export function ensureSafeDir(dir: string, uid: number): void {
  const fix =
    'Fix: remove it (a new one is made with mode 0700), point CDKTF_POSTFIX_WARM_RUNNER_DIR at a directory of yours with mode 0700, or set CDKTF_POSTFIX_WARM_RUNNER=0';
  if (!dir.startsWith('/')) throw new WarmRunnerDirError(`warm runner directory ${JSON.stringify(dir)} is not an absolute path. ${fix}`);
  if (Buffer.byteLength(dir) > MAX_DIR_LENGTH)
    throw new WarmRunnerDirError(
      `warm runner directory ${dir} is longer than ${MAX_DIR_LENGTH} bytes (a unix socket path is limited to 107). ${fix}`,
    );
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new WarmRunnerDirError(`cannot create warm runner directory ${dir}: ${(e as Error).message}. ${fix}`);
  }
  const st = lstatSync(dir);
  if (!st.isDirectory())
    throw new WarmRunnerDirError(`warm runner directory ${dir} is not a directory (a symbolic link or file is there). ${fix}`);
  if (st.uid !== uid)
    throw new WarmRunnerDirError(`warm runner directory ${dir} is owned by uid ${st.uid}, not by this user (uid ${uid}). ${fix}`);
  const mode = st.mode & 0o7777;
  if (mode !== 0o700)
    throw new WarmRunnerDirError(
      `warm runner directory ${dir} has mode ${mode.toString(8).padStart(4, '0')}, not 0700 (others could reach the runner). ${fix}`,
    );
}

/** The process-level environment a warm runner gets: INHERITED_ENV only. */
export function inheritedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of INHERITED_ENV) if (env[name] !== undefined) out[name] = env[name]!;
  return out;
}

/**
 * The socket of the warm runner for this build, user, working directory and inherited environment:
 * `BUILD12-KEY12.sock`. Relative paths in a request (bundle, keys, report) resolve against the
 * runner's working directory, so one runner serves one directory.
 */
export function socketPath(dir: string, build: string, uid: number, cwd: string, env: NodeJS.ProcessEnv): string {
  const h = createHash('sha256');
  h.update(`${uid}\0${cwd}\0`);
  for (const name of INHERITED_ENV) h.update(`${name}=${env[name] ?? ''}\0`);
  return join(dir, `${build.slice(0, 12)}-${h.digest('hex').slice(0, 12)}.sock`);
}
