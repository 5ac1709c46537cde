/**
 * lib/runner/code-cache.ts on small modules: the cache is written after the code ran and then used
 * (V8 accepts it), a damaged cache is compiled past and replaced, and a cache that is a symbolic link
 * or another user's file is never read (and the link's target is never written).
 */
import { chownSync, lstatSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { codeCachePath, loadWithCodeCache } from '../../lib/runner/code-cache';

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'code-cache-'));
  file = join(dir, 'mod.js');
  // A module as the bundle is one: CommonJS, requiring a core module, reading __dirname.
  writeFileSync(
    file,
    `const { join } = require('path');\nfunction twice(x) { return x * 2; }\nmodule.exports = { where: join(__dirname, 'x'), twice };\n`,
  );
});

const exportsOf = (loaded: { exports: unknown }) => loaded.exports as { where: string; twice: (x: number) => number };

test('the cache is named by build and V8 version, written after the code ran, and used by the next load', () => {
  const cache = codeCachePath(dir, 'ab'.repeat(32));
  expect(cache).toBe(join(dir, `abababababab-v8-${process.versions.v8}-${process.arch}.v8cache`));
  const first = loadWithCodeCache(file, cache);
  expect(first.fromCache).toBe(false);
  expect(exportsOf(first).where).toBe(join(dir, 'x'));
  expect(exportsOf(first).twice(21)).toBe(42);
  first.saveCache();
  expect(statSync(cache).mode & 0o777).toBe(0o600);

  const second = loadWithCodeCache(file, cache);
  expect(second.fromCache).toBe(true);
  expect(exportsOf(second).twice(4)).toBe(8);
  const before = readFileSync(cache);
  second.saveCache(); // accepted: nothing to write
  expect(readFileSync(cache).equals(before)).toBe(true);
});

test('a damaged cache is compiled past and replaced', () => {
  const cache = codeCachePath(dir, 'cd'.repeat(32));
  writeFileSync(cache, Buffer.alloc(2048, 0x5a), { mode: 0o600 });
  const loaded = loadWithCodeCache(file, cache);
  expect(loaded.fromCache).toBe(false);
  expect(exportsOf(loaded).twice(1)).toBe(2);
  loaded.saveCache();
  expect(loadWithCodeCache(file, cache).fromCache).toBe(true);
});

test("a cache that is a symbolic link, or another user's file, is never read; the link's target is never written", () => {
  const good = join(dir, 'good.v8cache');
  loadWithCodeCache(file, good).saveCache();
  const linked = join(dir, 'linked.v8cache');
  symlinkSync(good, linked);
  const before = readFileSync(good);
  const viaLink = loadWithCodeCache(file, linked);
  expect(viaLink.fromCache).toBe(false);
  viaLink.saveCache();
  expect(readFileSync(good).equals(before)).toBe(true); // the link itself was replaced by a file
  expect(lstatSync(linked).isFile()).toBe(true);

  if (process.getuid?.() !== 0) return; // chown needs root (the suite runs as root in CI)
  const foreign = join(dir, 'foreign.v8cache');
  writeFileSync(foreign, before, { mode: 0o600 });
  chownSync(foreign, 65534, 65534);
  expect(loadWithCodeCache(file, foreign).fromCache).toBe(false);
});
