#!/usr/bin/env node
// Build step after tsc: the single-file apply runner (a TerraformAsset) and the non-TS files dist needs.
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const script = fs.readFileSync(path.join(root, 'lib/apply/remote/transaction.sh'), 'utf8');

fs.mkdirSync(path.join(root, 'dist/lib/apply/remote'), { recursive: true });
fs.copyFileSync(path.join(root, 'lib/apply/remote/transaction.sh'), path.join(root, 'dist/lib/apply/remote/transaction.sh'));

esbuild.buildSync({
  entryPoints: [path.join(root, 'lib/apply/runner.ts')],
  outfile: path.join(root, 'dist/runner/cdktf-postfix-runner.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: false,
  legalComments: 'none',
  // ssh2's optional native addons: absent here, and its pure-JS fallbacks are used.
  external: ['cpu-features', '*.node'],
  define: { __CDKTF_POSTFIX_TRANSACTION__: JSON.stringify(script) },
  logLevel: 'warning',
});
