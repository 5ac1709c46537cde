import { HostReport, loadBundle, runHostOperation } from './apply';
import { diffHost, FileChange, parseStatus } from './diff';
import { hookScriptsFor } from './hook-scripts';
import { withCause } from './report';
import { envContentsOf, fileContent } from './stage';
import { StackHost } from './stack';
import { sha256Hex } from '../render/hash';

/** Run `fn` over items with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Apply one stack host; connection or bundle errors become a failed report, never a throw. */
export async function applyStackHost(host: StackHost): Promise<HostReport> {
  const started = Date.now();
  try {
    const bundle = loadBundle(host.bundlePath);
    return await runHostOperation({
      connection: host.connection,
      bundle,
      action: 'apply',
      env: { ...process.env, ...host.env },
      hookScripts: hookScriptsFor(bundle.bundle),
    });
  } catch (e) {
    return withCause(
      {
        host: host.path,
        target: host.connection.host,
        action: 'apply',
        result: 'failed',
        changed: [],
        ran: [],
        steps: {},
        durationMs: Date.now() - started,
        connectMs: 0,
        error: (e as Error).message,
      },
      e,
    );
  }
}

export interface HostDiffResult {
  readonly host: string;
  readonly different: boolean;
  readonly text: string;
  readonly changes: FileChange[];
  readonly error?: string;
}

/** Connect, read the live state, and diff it against the host's bundle. */
export async function diffStackHost(host: StackHost): Promise<HostDiffResult> {
  try {
    const bundle = loadBundle(host.bundlePath);
    const env = { ...process.env, ...host.env };
    const report = await runHostOperation({ connection: host.connection, bundle, action: 'status', env });
    if (report.result === 'failed') return { host: host.path, different: false, text: '', changes: [], error: report.error };
    const envContents = envContentsOf(bundle.bundle, env);
    const desired = (path: string) => {
      const f = bundle.bundle.files[path];
      const secret = f.fromEnv !== undefined;
      const small = (f.size ?? 0) <= 1048576;
      const content =
        secret && !envContents.has(f.fromEnv)
          ? undefined
          : small || secret
            ? fileContent({ bundle: bundle.bundle, bundleDir: bundle.dir, envContents }, path)
            : undefined;
      return { sha256: f.sha256 ?? (content ? sha256Hex(content) : 'unknown'), content: secret ? undefined : content, secret };
    };
    const diff = diffHost(parseStatus(report.output ?? ''), bundle.bundle, host.path.split('/').pop() ?? host.path, desired);
    return { host: host.path, ...diff };
  } catch (e) {
    return { host: host.path, different: false, text: '', changes: [], error: (e as Error).message };
  }
}
