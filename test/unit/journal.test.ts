/**
 * The remote journal's recovery rule (lib/apply/remote/journal.sh), run by a real sh on a scratch
 * directory with a stand-in `postfix` that records its calls: a transaction interrupted after any
 * number of renames is rolled forward when every staged copy verifies, and rolled back otherwise;
 * either way the files are entirely old or entirely new.
 */
import { execFileSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const REMOTE = join(__dirname, '../../lib/apply/remote');

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'etc/.cdktf-postfix'), { recursive: true });
  mkdirSync(join(dir, 'stage'));
  writeFileSync(join(dir, 'bin/postfix'), `#!/bin/sh\necho "$*" >> ${dir}/postfix.calls\nexit 0\n`);
  chmodSync(join(dir, 'bin/postfix'), 0o755);
  for (const f of ['a', 'b', 'd']) writeFileSync(join(dir, 'etc', f), `old ${f}\n`);
  return dir;
}

/** Runs sh with the journal's parts loaded; C is DIR/etc, S its record, D a stage directory. */
function sh(dir: string, script: string): string {
  const prelude = [
    'set -u',
    `TAB=$(printf '\\t')`,
    `C=${dir}/etc`,
    'S="$C/.cdktf-postfix"',
    `D=${dir}/stage`,
    `R=${REMOTE}`,
    '. "$R/common.sh"',
    '. "$R/journal.sh"',
    '. "$R/swap.sh"',
    'WAS_RUNNING=yes',
  ].join('\n');
  return execFileSync('sh', ['-c', `${prelude}\n${script}`], {
    env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` },
    encoding: 'utf8',
  });
}

/** Stage a→new, b→new, c (absent)→new and drop d, then commit the journal. */
const STAGE_AND_COMMIT = `
journal_begin
for f in a b c; do stage_path "$C/$f.cdktf-new"; printf 'new %s\\n' "$f" > "$C/$f.cdktf-new"; put "$C/$f.cdktf-new" "$C/$f"; done
drop "$C/d"
journal_commit
`;

/** Perform the first K renames as journal_apply would, then stop (a SIGKILL). */
function partial(k: number): string {
  return `n=0; while IFS="$TAB" read -r i src dst sha st; do [ "$n" -lt ${k} ] || break; n=$((n + 1)); case "$src" in -) rm -f "$dst" ;; +) ;; *) mv -f "$src" "$dst" ;; esac; echo "$i" >> "$J/done"; done < "$J/journal"`;
}

function state(dir: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const f of ['a', 'b', 'c', 'd']) {
    const p = join(dir, 'etc', f);
    out[f] = existsSync(p) ? readFileSync(p, 'utf8') : null;
  }
  return out;
}
const OLD = { a: 'old a\n', b: 'old b\n', c: null, d: 'old d\n' };
const NEW = { a: 'new a\n', b: 'new b\n', c: 'new c\n', d: null };

function leftovers(dir: string): boolean {
  return ['a', 'b', 'c'].some((f) => existsSync(join(dir, 'etc', `${f}.cdktf-new`))) || existsSync(join(dir, 'etc/.cdktf-postfix/journal'));
}

test.each([0, 1, 2, 3, 4])('killed after %i of 4 renames: rolled forward to entirely new, then Postfix reloaded', (k) => {
  const dir = scratch();
  sh(dir, STAGE_AND_COMMIT + partial(k));
  const out = sh(dir, 'recover_interrupted');
  expect(out).toMatch(/rolled forward/);
  expect(state(dir)).toEqual(NEW);
  expect(leftovers(dir)).toBe(false);
  expect(readFileSync(join(dir, 'postfix.calls'), 'utf8')).toMatch(/reload/);
});

test('a staged copy that no longer verifies: rolled back to entirely old', () => {
  const dir = scratch();
  sh(dir, STAGE_AND_COMMIT + partial(1) + `\nprintf 'damaged\\n' > "$C/c.cdktf-new"`);
  expect(sh(dir, 'recover_interrupted')).toMatch(/rolled back/);
  expect(state(dir)).toEqual(OLD);
  expect(leftovers(dir)).toBe(false);
});

test('an undo that was itself interrupted is finished, never reversed', () => {
  const dir = scratch();
  sh(dir, STAGE_AND_COMMIT + partial(3) + '\n: > "$J/undo"');
  expect(sh(dir, 'recover_interrupted')).toMatch(/rolled back/);
  expect(state(dir)).toEqual(OLD);
});

test('killed before the journal was committed: nothing live changed, the staging copies go', () => {
  const dir = scratch();
  sh(dir, 'journal_begin; for f in a b; do stage_path "$C/$f.cdktf-new"; printf x > "$C/$f.cdktf-new"; done');
  expect(sh(dir, 'recover_interrupted')).toMatch(/changed nothing/);
  expect(state(dir)).toEqual(OLD);
  expect(leftovers(dir)).toBe(false);
});

test('a failure after the commit rolls back at once; a failure before it only removes staging copies', () => {
  const dir = scratch();
  expect(() => sh(dir, STAGE_AND_COMMIT + partial(2) + '\nrollback "reload failed"')).toThrow();
  expect(state(dir)).toEqual(OLD);
  expect(leftovers(dir)).toBe(false);
  const dir2 = scratch();
  expect(() => sh(dir2, 'journal_begin; stage_path "$C/a.cdktf-new"; printf x > "$C/a.cdktf-new"; rollback "cannot write"')).toThrow();
  expect(state(dir2)).toEqual(OLD);
  expect(leftovers(dir2)).toBe(false);
  expect(existsSync(join(dir2, 'postfix.calls'))).toBe(false);
});

test('no journal: recovery does nothing and writes nothing', () => {
  const dir = scratch();
  expect(sh(dir, 'recover_interrupted')).toBe('');
  expect(state(dir)).toEqual(OLD);
});

/** Stage a (renamed first), then a hook that rewrites d in place, then main.cf-like b. */
const STAGE_WITH_HOOK = `
journal_begin
stage_path "$C/a.cdktf-new"; printf 'new a\\n' > "$C/a.cdktf-new"; put "$C/a.cdktf-new" "$C/a"
hooked "$C/d"
stage_path "$C/b.cdktf-new"; printf 'new b\\n' > "$C/b.cdktf-new"; put "$C/b.cdktf-new" "$C/b"
journal_commit
`;

test('killed while the hooks ran: their outputs and the files renamed before them are rolled back', () => {
  const dir = scratch();
  sh(dir, STAGE_WITH_HOOK + partial(2) + `\nprintf 'hooked\\n' > "$C/d"`);
  expect(sh(dir, 'recover_interrupted')).toMatch(/rolled back/);
  expect(state(dir)).toEqual(OLD);
  expect(leftovers(dir)).toBe(false);
});

test('killed after the hooks finished: rolled forward, the hook output kept', () => {
  const dir = scratch();
  sh(dir, STAGE_WITH_HOOK + partial(2) + `\nprintf 'hooked\\n' > "$C/d"; echo hooks >> "$J/done"`);
  expect(sh(dir, 'recover_interrupted')).toMatch(/rolled forward/);
  expect(state(dir)).toEqual({ a: 'new a\n', b: 'new b\n', c: null, d: 'hooked\n' });
  expect(leftovers(dir)).toBe(false);
});

test('a symbolic link at a journaled target is refused before the journal is committed', () => {
  const dir = scratch();
  let out = '';
  try {
    sh(
      dir,
      `ln -s "$C/a" "$C/link"; journal_begin; stage_path "$C/link.cdktf-new"; printf x > "$C/link.cdktf-new"; put "$C/link.cdktf-new" "$C/link"; journal_commit`,
    );
  } catch (e) {
    out = String((e as { stdout: string }).stdout);
  }
  expect(out).toMatch(/^error\trefusing \S+\/etc\/link: it is a symbolic link or not a regular file.*\nresult\tfailed\n$/s);
  expect(state(dir)).toEqual(OLD);
  expect(existsSync(join(dir, 'etc/link.cdktf-new'))).toBe(false);
  expect(existsSync(join(dir, 'etc/.cdktf-postfix/journal'))).toBe(false);
});

test('a root-owned table is staged in the journal directory; one another user owns stays beside its target (postmap runs as that user)', () => {
  // Run as root (as the lab and the transaction are): install sets the owner.
  const dir = scratch();
  writeFileSync(join(dir, 'bin/postmap'), `#!/bin/sh\n: > "\${1#*:}.db"\n`);
  chmodSync(join(dir, 'bin/postmap'), 0o755);
  mkdirSync(join(dir, 'stage/payload'));
  writeFileSync(join(dir, 'stage/payload/abc'), 'x y\n');
  const out = sh(
    dir,
    `say() { :; }
journal_begin
place_file "$C/root-table" 0644 root root abc hash
place_file "$C/user-table" 0644 nobody root abc hash
cut -f1,2 "$D/renames"`,
  );
  const j = `${dir}/etc/.cdktf-postfix/journal/new`;
  expect(out.split('\n').filter(Boolean)).toEqual([
    `${j}/root-table.db\t${dir}/etc/root-table.db`,
    `${j}/root-table\t${dir}/etc/root-table`,
    `${dir}/etc/user-table.cdktf-new.db\t${dir}/etc/user-table.db`,
    `${dir}/etc/user-table.cdktf-new\t${dir}/etc/user-table`,
  ]);
});
