import * as fs from 'fs';
import * as path from 'path';

/** The program Terraform starts per host: the small client of lib/runner/client.ts. */
export const RUNNER_FILE_NAME = 'cdktf-postfix-runner.js';
/** The apply code beside it, loaded only by the process that applies (in-process or the warm runner). */
export const RUNNER_APPLY_FILE_NAME = 'cdktf-postfix-apply.js';

/**
 * Set empty in the environment of a runner that makes no TLS connection (a destroy, or an apply
 * whose bundle asks for no TLS check after it): node parses the file this variable names at every
 * start, used or not (Node 20: about 40 ms of CPU per process for Debian's 150-certificate bundle on
 * a small VM), and an empty value is no file. A runner that checks TLS keeps the operator's value:
 * the check trusts those certificates too (lib/probe/handshake.ts).
 */
export const UNUSED_TLS_ENV: Readonly<Record<string, string>> = { NODE_EXTRA_CA_CERTS: '' };

/**
 * The directory of the runner (built by `npm run build` with esbuild): the client and the apply code,
 * shipped together as one directory asset. Constructs run either from dist/constructs or
 * dist/cdktn/constructs (published package) or from the TypeScript sources (tests), so all are tried.
 */
export function resolveRunnerDir(): string {
  const candidates = [
    path.resolve(__dirname, '..', 'runner'),
    path.resolve(__dirname, '..', '..', 'runner'), // dist/cdktn/constructs
    path.resolve(__dirname, '..', 'dist', 'runner'),
  ];
  const found = candidates.find(
    (p) => fs.existsSync(path.join(p, RUNNER_FILE_NAME)) && fs.existsSync(path.join(p, RUNNER_APPLY_FILE_NAME)),
  );
  if (!found) {
    throw new Error(
      `cdktf-postfix: the apply runner is not built (looked for ${RUNNER_FILE_NAME} and ${RUNNER_APPLY_FILE_NAME} in ${candidates.join(', ')}). Fix: run \`npm run build\` in the cdktf-postfix package.`,
    );
  }
  return found;
}
