'use strict';
/*
 * Lookup tables at 1k and 1M entries, per entry, in one run (issue 15: "1M entries at the same
 * speed"). Two stages, each the work a table of that size costs:
 *   synth    LookupTable.virtualAlias({ fromFile }) on a PostfixHost, then host.bundle: the file is
 *            streamed, every line checked as virtual(5) wants it, hashed for the triggers;
 *   postmap  `postmap -c <scratch> <type>:<staged copy>` for hash (Debian's default) and lmdb, as the
 *            apply builds it on the host (a scratch config directory with an empty main.cf: no
 *            machine Postfix configuration is read).
 * Sizes are measured interleaved (1k, 1M, 1k, 1M...) so both see the same machine load; small
 * tables are repeated so each timing covers at least ~0.5 s. Prints µs per entry, entries per
 * second, and per stage the ratios per-entry(1M) / per-entry(1k) and / per-entry(100k): <= 1 means
 * the big table costs no more per entry than the smaller one (fixed costs, such as postmap's
 * start, weigh on 1k; 100k shows the steady state).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

function generate(file, entries) {
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < entries; i += 10000) {
    let chunk = '';
    for (let j = i; j < Math.min(entries, i + 10000); j++) chunk += `user${j}@example.org\tmbox${j}@mail${j % 97}.example.net\n`;
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
}

function timed(f) {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Stage runners for one table file: each returns milliseconds for one build. */
function stages(dist, scratch, types) {
  const { App, TerraformStack } = require('cdktf');
  const { PostfixHost } = require(path.join(dist, 'constructs/postfix-host'));
  const { LookupTable } = require(path.join(dist, 'constructs/lookup-table'));
  const connection = { host: '192.0.2.10', privateKeyPath: '/k', knownHostsPath: '/kh' };
  return {
    synth: (file) =>
      timed(() => {
        const stack = new TerraformStack(new App({ outdir: path.join(scratch, 'out') }), 'bench');
        const host = new PostfixHost(stack, 'mx', { connection });
        LookupTable.virtualAlias(host, 'virtual', { fromFile: file });
        if (!host.bundle.sha256) throw new Error('no bundle');
      }),
    ...Object.fromEntries(
      types.map((type) => [
        `postmap ${type}`,
        (file) => {
          const staged = `${file}.new`;
          fs.copyFileSync(file, staged);
          const ms = timed(() => {
            const r = spawnSync('postmap', ['-c', scratch, `${type}:${staged}`], { encoding: 'utf8' });
            if (r.status !== 0) throw new Error(`postmap ${type} failed: ${r.stderr}`);
          });
          for (const f of fs.readdirSync(scratch))
            if (f.startsWith(`${path.basename(staged)}`)) fs.rmSync(path.join(scratch, f), { force: true });
          return ms;
        },
      ]),
    ),
  };
}

/**
 * Measures each size `rounds` times, interleaved; a size is repeated within a round until the
 * round's timing reaches minMs. Returns rows for console.table and the ratios.
 */
function measureTableScaling({ dist, sizes = [1000, 100000, 1000000], types = ['hash', 'lmdb'], rounds = 3, minMs = 500 }) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-table-scaling-'));
  try {
    fs.writeFileSync(path.join(scratch, 'main.cf'), '');
    const files = new Map(sizes.map((n) => [n, path.join(scratch, `virtual-${n}`)]));
    for (const [n, file] of files) generate(file, n);
    const run = stages(dist, scratch, types);
    const perEntryUs = {}; // stage -> size -> [µs per entry per round]
    for (let round = 0; round < rounds; round++) {
      for (const n of sizes) {
        for (const [stage, f] of Object.entries(run)) {
          let ms = 0;
          let reps = 0;
          while (ms < minMs || reps === 0) {
            ms += f(files.get(n));
            reps++;
          }
          ((perEntryUs[stage] ??= {})[n] ??= []).push((ms * 1000) / (reps * n));
        }
      }
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const rows = [];
    const ratios = {};
    for (const [stage, bySize] of Object.entries(perEntryUs)) {
      for (const n of sizes) {
        const us = median(bySize[n]);
        rows.push({
          stage,
          entries: n,
          'µs/entry (median)': us.toFixed(3),
          'entries/s': Math.round(1e6 / us),
          rounds: bySize[n].map((x) => x.toFixed(3)).join(' '),
        });
      }
      const largest = sizes[sizes.length - 1];
      ratios[stage] = Object.fromEntries(sizes.slice(0, -1).map((n) => [n, median(bySize[largest]) / median(bySize[n])]));
    }
    return { rows, ratios };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

module.exports = { measureTableScaling };
