#!/usr/bin/env node
// Compiles the construct API (constructs/index.ts and what it reaches in lib/) with jsii, the
// compiler that makes construct libraries usable from Python, Go, Java and C#, and writes the
// assembly to .jsii-build/.jsii (ignored by git).
//
// Why a staging directory: jsii compiles the package named by a package.json's "types" entry and
// wants every runtime dependency to be a jsii module (or bundled). The published package's entry
// (index.ts) also exports the engine and the CLI's dependencies (ssh2, commander...), which are
// TypeScript-only; the construct API reaches only cdktf, constructs and @cdktf/provider-null. So the
// construct sources are copied, with their paths kept, next to a package.json whose entry is
// constructs/index.ts and whose dependencies are those three. Errors print with repository paths.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const build = path.join(root, '.jsii-build');
const pkg = require(path.join(root, 'package.json'));
/** The construct API's runtime dependencies, all jsii modules. */
const JSII_DEPENDENCIES = ['cdktf', 'constructs', '@cdktf/provider-null'];

function copySources(dir) {
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) copySources(rel);
    else if (/\.(ts|json)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      fs.mkdirSync(path.join(build, dir), { recursive: true });
      fs.copyFileSync(path.join(root, rel), path.join(build, rel));
    }
  }
}

function stagePackage() {
  fs.rmSync(build, { recursive: true, force: true });
  fs.mkdirSync(build, { recursive: true });
  copySources('constructs');
  copySources('lib');
  fs.copyFileSync(path.join(root, 'README.md'), path.join(build, 'README.md'));
  // The CDK packages are peers of the real package; the versions it develops against are its dev dependencies.
  const deps = Object.fromEntries(JSII_DEPENDENCIES.map((d) => [d, pkg.devDependencies[d]]));
  // jsii's rule for a peer dependency: a dev dependency on the lowest version the range allows.
  const lowest = Object.fromEntries(Object.entries(deps).map(([d, range]) => [d, range.replace(/^[\^~>=\s]+/, '')]));
  const manifest = {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    license: pkg.license,
    author: pkg.author ?? { name: `${pkg.name} authors`, organization: false },
    repository: pkg.repository ?? { type: 'git', url: `file://${root}` },
    main: 'dist/constructs/index.js',
    types: 'dist/constructs/index.d.ts',
    stability: 'experimental',
    peerDependencies: deps,
    devDependencies: lowest,
    jsii: { outdir: 'dist-jsii', targets: {}, tsconfig: 'tsconfig.json', validateTsconfig: 'minimal' },
  };
  fs.writeFileSync(path.join(build, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const tsconfig = {
    extends: path.join(root, 'tsconfig.json'),
    compilerOptions: { outDir: 'dist', rootDir: '.', types: ['node'] },
    include: ['constructs/**/*.ts', 'lib/**/*.ts', 'lib/**/*.json'],
    exclude: [],
  };
  fs.writeFileSync(path.join(build, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
}

function main() {
  stagePackage();
  const jsii = path.join(root, 'node_modules', '.bin', 'jsii');
  // Reserved-word warnings name members that some target language spells differently (a Python
  // keyword, say); jsii renames them in that language, as projen's JsiiProject also silences.
  const run = spawnSync(jsii, ['--silence-warnings=reserved-word'], {
    cwd: build,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  // Node's end-of-life banner is not about this package.
  const output = `${run.stdout}${run.stderr}`
    .split('\n')
    .filter((l) => !/^!!/.test(l))
    .join('\n')
    .trim();
  const errors = output.split('\n').filter((l) => /error JSII\d+/.test(l));
  if (run.status !== 0 || errors.length > 0) {
    if (output) console.error(output);
    console.error(
      `jsii: ${errors.length} error(s) in the construct API (sources staged in ${path.relative(root, build)}/ with repository paths)`,
    );
    process.exit(run.status || 1);
  }
  if (output) console.log(output);
  const assembly = JSON.parse(fs.readFileSync(path.join(build, '.jsii'), 'utf8'));
  console.log(`jsii: ${Object.keys(assembly.types).length} types in ${path.relative(root, path.join(build, '.jsii'))}`);
}

main();
