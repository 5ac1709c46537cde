/**
 * The apply program Terraform runs for each host (local-exec, interpreter = node):
 *   node cdktf-postfix-runner.js apply|destroy BUNDLE_PATH
 * Connection details come from CDKTF_POSTFIX_* environment variables. Bundled into one file
 * with esbuild so a synthesized stack directory applies with nothing but node on the runner.
 */
import { writeFileSync } from 'fs';
import { connectionFromEnv } from '../model/connection';
import { HostReport, LoadedBundle, loadBundle, runHostOperation } from './apply';
import { hookScriptsFor } from './hook-scripts';
import { formatReport } from './report';

export async function runnerMain(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [action, bundlePath] = argv;
  if ((action !== 'apply' && action !== 'destroy') || !bundlePath) {
    process.stderr.write('usage: cdktf-postfix-runner apply|destroy BUNDLE_PATH (connection in CDKTF_POSTFIX_* environment variables)\n');
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
    });
  } catch (e) {
    process.stderr.write(`cdktf-postfix: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(formatReport(report) + '\n');
  if (env.CDKTF_POSTFIX_REPORT) writeFileSync(env.CDKTF_POSTFIX_REPORT, JSON.stringify(report, null, 2) + '\n');
  return report.error ? 1 : 0;
}

if (require.main === module) {
  void runnerMain(process.argv.slice(2), process.env).then((code) => process.exit(code));
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
