/**
 * V8's code cache for the apply code (dist/runner/cdktf-postfix-apply.js, about 550 KB). Parsing and
 * compiling it costs the process that applies or serves about 60 ms of CPU at every start; with the
 * cache V8 reuses what an earlier process compiled. Node 20 has no compile cache of its own (22 has
 * module.enableCompileCache), so this is vm.Script's cachedData.
 *
 * The cache lives in the warm runner's directory, which ensureSafeDir has checked (owned by this
 * user, mode 0700), so nobody else can plant code there; a symbolic link or a file of another owner
 * is never read. It is named by the runner build (the apply file's sha256: V8's own source check is
 * only the length) and V8's version and the architecture; V8 checks the cache's header (its magic,
 * version, flags and the source's length) and rejects a mismatch, and the code then compiles as
 * without a cache. Node core only (loaded by the per-host client).
 */
import { lstatSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'fs';
import Module, { createRequire } from 'module';
import { dirname, join } from 'path';
import { Script } from 'vm';

export interface LoadedModule {
  readonly exports: unknown;
  /** True when V8 accepted the cache: nothing of the file was compiled from scratch. */
  readonly fromCache: boolean;
  /** Write the cache (after the code ran, so it holds the functions compiled meanwhile) when it was missing or rejected. */
  readonly saveCache: () => void;
}

/** The cache file for a build's apply code in the (safe) warm runner directory. */
export function codeCachePath(dir: string, build: string): string {
  return join(dir, `${build.slice(0, 12)}-v8-${process.versions.v8}-${process.arch}.v8cache`);
}

/** Load a CommonJS file as require would, with V8's code cache at cachePath (a name that changes with the file's content). */
export function loadWithCodeCache(file: string, cachePath: string): LoadedModule {
  const cachedData = readOwnFile(cachePath);
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  const module = { exports: {} as unknown, filename: file, id: file, loaded: false };
  const wrapper = script.runInThisContext() as (e: unknown, r: NodeRequire, m: unknown, f: string, d: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  module.loaded = true;
  const fromCache = cachedData !== undefined && script.cachedDataRejected === false;
  return {
    exports: module.exports,
    fromCache,
    saveCache: () => {
      if (!fromCache) writeAtomically(cachePath, script.createCachedData());
    },
  };
}

/** The file's bytes if it is a regular file of this user's (never through a symbolic link), else undefined. */
function readOwnFile(path: string): Buffer | undefined {
  try {
    const st = lstatSync(path);
    if (!st.isFile() || (process.getuid && st.uid !== process.getuid())) return undefined;
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Another process may write the same cache at the same time: each writes its own file, then renames. */
function writeAtomically(path: string, data: Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    // A cache is an optimization: failing to write one changes nothing else.
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}
