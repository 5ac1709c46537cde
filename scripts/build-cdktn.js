#!/usr/bin/env node
// Build step after tsc: the cdktn flavour (`cdktf-postfix/cdktn`) from the same compiled code.
// dist/cdktn/ holds a copy of dist/index.* and dist/constructs/* whose relative imports point back at
// the shared dist/lib/ (one core for both flavours), and whose constructs/cdk.* module loads 'cdktn'
// instead of 'cdktf'. That module is the only place a construct may name its CDK (checked here).
const fs = require('fs');
const path = require('path');

const dist = path.resolve(__dirname, '..', 'dist');
const out = path.join(dist, 'cdktn');
const SPECIFIER = /(require\(|from |import\()(["'])([^"']+)\2/g;

/** Rewrite one compiled file's module specifiers for its place one directory deeper. */
function rewrite(text, file, isCdkModule) {
  return text.replace(SPECIFIER, (whole, lead, quote, spec) => {
    if (spec === 'cdktf' || spec.startsWith('cdktf/')) {
      if (!isCdkModule)
        throw new Error(
          `${file}: imports '${spec}' directly. Fix: import it from './cdk' (constructs/cdk.ts), so the cdktn build can swap the flavour.`,
        );
      return `${lead}${quote}${spec.replace(/^cdktf/, 'cdktn')}${quote}`;
    }
    if (spec.startsWith('./lib/') || spec.startsWith('../lib/') || spec === './lib' || spec === '../lib') {
      return `${lead}${quote}../${spec.replace(/^\.\//, '')}${quote}`;
    }
    return whole;
  });
}

function copy(fromDir, toDir, names) {
  fs.mkdirSync(toDir, { recursive: true });
  for (const name of names) {
    const isCdkModule = /^cdk\.(js|d\.ts)$/.test(name) && fromDir.endsWith('constructs');
    let text = rewrite(fs.readFileSync(path.join(fromDir, name), 'utf8'), path.join(fromDir, name), isCdkModule);
    if (isCdkModule) text = text.replace(/CDK_FLAVOUR = 'cdktf'/, "CDK_FLAVOUR = 'cdktn'");
    fs.writeFileSync(path.join(toDir, name), text);
  }
}

fs.rmSync(out, { recursive: true, force: true });
const compiled = (dir) => fs.readdirSync(dir).filter((n) => n.endsWith('.js') || n.endsWith('.d.ts'));
copy(dist, out, ['index.js', 'index.d.ts']);
copy(path.join(dist, 'constructs'), path.join(out, 'constructs'), compiled(path.join(dist, 'constructs')));
const cdk = fs.readFileSync(path.join(out, 'constructs', 'cdk.js'), 'utf8');
if (!cdk.includes('require("cdktn")') || !cdk.includes("'cdktn'"))
  throw new Error('dist/cdktn/constructs/cdk.js: the flavour swap did not happen (did tsc change its output?)');
