#!/usr/bin/env node
/**
 * `npm run bench`: runs every benchmark that exists, one after the other (they share the machine,
 * so never in parallel): apply, seed, fleet, tables, logs, queue. Exit status 1 if any of them failed.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ORDER = ['apply', 'seed', 'fleet', 'tables', 'logs', 'queue'];
let failed = 0;
for (const name of ORDER) {
  const file = path.join(__dirname, `${name}.js`);
  if (!fs.existsSync(file)) {
    console.log(`== bench/${name}.js: not present, skipped`);
    continue;
  }
  console.log(`== bench/${name}.js`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [file, ...process.argv.slice(2)], { stdio: 'inherit', cwd: path.resolve(__dirname, '..') });
  const status = r.status ?? 1;
  console.log(
    `== bench/${name}.js: ${status === 0 ? 'done' : `FAILED (exit ${status}${r.signal ? `, ${r.signal}` : ''})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  if (status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
