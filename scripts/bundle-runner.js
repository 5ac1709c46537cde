#!/usr/bin/env node
// Build step after tsc: the single-file apply runner (a TerraformAsset) and the non-TS files dist needs.
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
// The remote transaction program (transaction.sh and its parts): every file of lib/apply/remote,
// copied beside the compiled library and inlined into the single-file bundles.
const remoteSrc = path.join(root, 'lib/apply/remote');
const remoteDist = path.join(root, 'dist/lib/apply/remote');
fs.rmSync(remoteDist, { recursive: true, force: true });
fs.mkdirSync(remoteDist, { recursive: true });
const remote = {};
for (const name of fs.readdirSync(remoteSrc).sort()) {
  remote[name] = fs.readFileSync(path.join(remoteSrc, name), 'utf8');
  fs.copyFileSync(path.join(remoteSrc, name), path.join(remoteDist, name));
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Start-up time is part of every apply: one minified file loads much faster than hundreds of modules.
  minify: true,
  legalComments: 'none',
  // ssh2's optional native addons: absent here, and its pure-JS fallbacks are used.
  external: ['cpu-features', '*.node'],
  define: { __CDKTF_POSTFIX_REMOTE__: JSON.stringify(remote) },
  logLevel: 'warning',
};

// The apply runner, shipped into every synthesized stack as one directory: a small client (node core
// modules only: what Terraform starts per host, lib/runner/client.ts) and beside it the apply code
// with the warm runner's server, loaded only by the process that applies or serves. The apply file
// ends by exporting the sha256 of the text before that line, and the client carries the same hash:
// two builds never serve each other, and a client finds out when its neighbour is another build.
const heavy = esbuild.buildSync({ ...common, entryPoints: [path.join(root, 'lib/runner/warm-entry.ts')], write: false }).outputFiles[0]
  .text;
const build = require('crypto').createHash('sha256').update(heavy).digest('hex');
fs.mkdirSync(path.join(root, 'dist/runner'), { recursive: true });
fs.writeFileSync(
  path.join(root, 'dist/runner/cdktf-postfix-apply.js'),
  `${heavy}module.exports.RUNNER_BUILD = ${JSON.stringify(build)};\n`,
);
esbuild.buildSync({
  ...common,
  entryPoints: [path.join(root, 'lib/runner/client.ts')],
  outfile: path.join(root, 'dist/runner/cdktf-postfix-runner.js'),
  define: { ...common.define, __CDKTF_POSTFIX_RUNNER_BUILD__: JSON.stringify(build) },
});

// The CLI replaces tsc's multi-module output with one file for the same reason.
esbuild.buildSync({
  ...common,
  entryPoints: [path.join(root, 'bin/cdktf-postfix.ts')],
  outfile: path.join(root, 'dist/bin/cdktf-postfix.js'),
});
