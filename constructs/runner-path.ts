import * as fs from 'fs';
import * as path from 'path';

export const RUNNER_FILE_NAME = 'cdktf-postfix-runner.js';

/**
 * The single-file apply program (built by `npm run build` with esbuild). Constructs run either from
 * dist/constructs or dist/cdktn/constructs (published package) or from the TypeScript sources (tests), so both places are tried.
 */
export function resolveRunnerPath(): string {
  const candidates = [
    path.resolve(__dirname, '..', 'runner', RUNNER_FILE_NAME),
    path.resolve(__dirname, '..', '..', 'runner', RUNNER_FILE_NAME), // dist/cdktn/constructs
    path.resolve(__dirname, '..', 'dist', 'runner', RUNNER_FILE_NAME),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(
      `cdktf-postfix: the apply runner is not built (looked for ${candidates.join(', ')}). Fix: run \`npm run build\` in the cdktf-postfix package.`,
    );
  }
  return found;
}
