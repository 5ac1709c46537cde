/**
 * The lab's Debian packages, read from scripts/lab-packages.txt (the one list: .ci/run installs
 * every line, `npm run demo` the lines marked "demo"), and what the demo does about missing ones:
 * install them as root, or tell a non-root user the exact commands, before anything else happens.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const LIST = path.join(__dirname, 'lab-packages.txt');

/** "NAME [demo]  # why" lines -> [{ name, demo }]; blank lines and comments skipped. */
function parsePackageList(text) {
  const packages = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [name, ...tags] = line.split(/\s+/);
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(name) || tags.some((t) => t !== 'demo')) {
      throw new Error(`${LIST}:${i + 1}: "${raw.trim()}" is not "NAME [demo]  # why"`);
    }
    packages.push({ name, demo: tags.includes('demo') });
  }
  return packages;
}

/** The package names for the CI (all) or the demo (those marked demo). */
function labPackages({ demoOnly = false } = {}, text = fs.readFileSync(LIST, 'utf8')) {
  return parsePackageList(text)
    .filter((p) => !demoOnly || p.demo)
    .map((p) => p.name);
}

/** dpkg's own answer: "install ok installed" in the package's status. */
function dpkgInstalled(name) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === 'install ok installed';
}

const INSTALL = ['apt-get', 'install', '-y'];
const TERRAFORM =
  'terraform (>= 1.4) is not on PATH: install it from https://developer.hashicorp.com/terraform/install (it is not a Debian package)';

/**
 * What `npm run demo` does before anything else, from what it found: go ahead; install the missing
 * packages first (root: these commands); or stop and say exactly what is needed, everything at
 * once, so a non-root user fixes it in one go.
 */
function demoPlan({ missing, isRoot, haveDpkg = true, haveTerraform = true }) {
  if (!haveDpkg) {
    return {
      action: 'fail',
      message: `dpkg-query not found: the demo installs Debian packages. On another system install the equivalents of: ${labPackages({ demoOnly: true }).join(' ')}`,
    };
  }
  if (!isRoot) {
    const steps = [];
    if (missing.length) steps.push(`install the lab's Debian packages:\n  sudo ${[...INSTALL, ...missing].join(' ')}`);
    if (!haveTerraform) steps.push(TERRAFORM);
    steps.push('run the demo as root (the lab uses mount namespaces, bind mounts and ip addr):\n  sudo npm run demo');
    return {
      action: 'fail',
      message: `the demo needs root${missing.length ? ' and packages that are not installed' : ''}. Do this:\n${steps.map((s, i) => `${i + 1}. ${s}`).join('\n')}`,
    };
  }
  if (!haveTerraform) return { action: 'fail', message: TERRAFORM };
  if (missing.length === 0) return { action: 'go' };
  return {
    action: 'install',
    missing,
    env: { DEBIAN_FRONTEND: 'noninteractive' },
    commands: [
      ['apt-get', 'update', '-q'],
      [...INSTALL, '-q', ...missing],
    ],
  };
}

module.exports = { LIST, parsePackageList, labPackages, dpkgInstalled, demoPlan };

// `node scripts/lab-packages.js [--demo]`: the names, one a line (.ci/run reads them this way).
if (require.main === module) {
  process.stdout.write(`${labPackages({ demoOnly: process.argv.includes('--demo') }).join('\n')}\n`);
}
