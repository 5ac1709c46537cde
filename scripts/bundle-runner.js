#!/usr/bin/env node
// Build step after tsc: the single-file apply runner (a TerraformAsset) and the non-TS files dist needs.
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const script = fs.readFileSync(path.join(root, 'lib/apply/remote/transaction.sh'), 'utf8');

fs.mkdirSync(path.join(root, 'dist/lib/apply/remote'), { recursive: true });
fs.copyFileSync(path.join(root, 'lib/apply/remote/transaction.sh'), path.join(root, 'dist/lib/apply/remote/transaction.sh'));

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
  define: { __CDKTF_POSTFIX_TRANSACTION__: JSON.stringify(script) },
  logLevel: 'warning',
};

// The apply runner, shipped into every synthesized stack as one file.
esbuild.buildSync({ ...common, entryPoints: [path.join(root, 'lib/apply/runner.ts')], outfile: path.join(root, 'dist/runner/cdktf-postfix-runner.js') });

// The CLI replaces tsc's multi-module output with one file for the same reason.
esbuild.buildSync({ ...common, entryPoints: [path.join(root, 'bin/cdktf-postfix.ts')], outfile: path.join(root, 'dist/bin/cdktf-postfix.js') });
