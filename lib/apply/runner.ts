/**
 * The apply program Terraform runs for each host (local-exec, interpreter = node):
 *   node cdktf-postfix-runner.js apply|destroy BUNDLE_PATH
 * Connection details come from CDKTF_POSTFIX_* environment variables. The file Terraform starts is
 * the small client of lib/runner (it hands the request to a warm runner process or, failing that,
 * calls runnerMain itself); this module is the apply, run once per request, in either process. It
 * reads nothing from process.env and writes nothing to process.stdout/stderr: a warm runner serves
 * several clients at once, each with its own environment and streams.
 */
import { writeFileSync } from 'fs';
import { connectionFromEnv } from '../model/connection';
import { HostReport, LoadedBundle, loadBundle, runHostOperation } from './apply';
import { hookScriptsFor } from './hook-scripts';
import { formatReport } from './report';

/** Where one request's output goes (the process's own streams, or frames to a client). */
export interface RunnerIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export const PROCESS_IO: RunnerIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * One apply or destroy. `env` is the requesting process's environment (connection, fromEnv file
 * contents, CDKTF_POSTFIX_REPORT); `signal` cancels it (the SSH connection is closed, as if the
 * process had been killed: the remote transaction finishes or rolls back on its own).
 */
export async function runnerMain(argv: string[], env: NodeJS.ProcessEnv, io: RunnerIo = PROCESS_IO, signal?: AbortSignal): Promise<number> {
  const [action, bundlePath] = argv;
  if ((action !== 'apply' && action !== 'destroy') || !bundlePath) {
    io.stderr('usage: cdktf-postfix-runner apply|destroy BUNDLE_PATH (connection in CDKTF_POSTFIX_* environment variables)\n');
    return 64;
  }
  let report: HostReport;
  try {
    const bundle = loadBundle(bundlePath);
    report = await runHostOperation({
      connection: connectionFromEnv(env),
      bundle: action === 'destroy' ? recordedPlacement(bundle, env) : bundle,
      action,
      env,
      appliedSha256: env.CDKTF_POSTFIX_APPLIED_SHA256,
      hookScripts: hookScriptsFor(bundle.bundle),
      progress: (line) => io.stderr(`${line}\n`),
      signal,
    });
  } catch (e) {
    io.stderr(`cdktf-postfix: ${(e as Error).message}\n`);
    return 1;
  }
  io.stdout(formatReport(report) + '\n');
  if (env.CDKTF_POSTFIX_REPORT) writeFileSync(env.CDKTF_POSTFIX_REPORT, JSON.stringify(report, null, 2) + '\n');
  return report.error ? 1 : 0;
}

/**
 * A destroy cleans the host Terraform recorded, which may be an older placement than the current
 * bundle's (a host moved to another address or config directory): the config directory comes from
 * the recorded input (CDKTF_POSTFIX_CONFIG_DIRECTORY) when Terraform passes it.
 */
function recordedPlacement(loaded: LoadedBundle, env: NodeJS.ProcessEnv): LoadedBundle {
  const configDirectory = env.CDKTF_POSTFIX_CONFIG_DIRECTORY;
  if (!configDirectory || configDirectory === loaded.bundle.configDirectory) return loaded;
  return { ...loaded, bundle: { ...loaded.bundle, configDirectory } };
}
