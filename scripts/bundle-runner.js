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

// The apply runner, shipped into every synthesized stack as one file.
esbuild.buildSync({
  ...common,
  entryPoints: [path.join(root, 'lib/apply/runner.ts')],
  outfile: path.join(root, 'dist/runner/cdktf-postfix-runner.js'),
});

// The CLI replaces tsc's multi-module output with one file for the same reason.
esbuild.buildSync({
  ...common,
  entryPoints: [path.join(root, 'bin/cdktf-postfix.ts')],
  outfile: path.join(root, 'dist/bin/cdktf-postfix.js'),
});
