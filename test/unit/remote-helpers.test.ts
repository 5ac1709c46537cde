/**
 * The remote transaction's builtin helpers (lib/apply/remote/common.sh, roots.sh, records.sh), run
 * by a real sh: what replaced a process start must answer as the process did (path_id as
 * `printf | sha256sum | cut -c1-32`, same_file as `cmp -s`), and the path check refuses every
 * non-normal path it is fed.
 */
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const REMOTE = join(__dirname, '../../lib/apply/remote');

function sh(script: string, args: string[] = []): string {
  const prelude = ['set -u', `TAB=$(printf '\\t')`, `R=${REMOTE}`, '. "$R/common.sh"', '. "$R/roots.sh"', '. "$R/records.sh"'].join('\n');
  return execFileSync('sh', ['-c', `${prelude}\n${script}`, 'sh', ...args], { encoding: 'utf8' });
}

test('path_id is the first 32 hex digits of the path sha256, the names earlier records use', () => {
  for (const p of ['/etc/postfix/blacklist', '/etc/ssl/private/dh 2048.pem', '/x']) {
    expect(sh('path_id "$1"; printf %s "$PATH_ID"', [p])).toBe(createHash('sha256').update(p).digest('hex').slice(0, 32));
  }
});

test('normal_path refuses relative paths and "." / ".." / empty segments and a trailing slash', () => {
  const check = (p: string) => sh('normal_path "$1" && echo yes || echo no', [p]).trim();
  for (const good of ['/etc/postfix', '/etc/postfix/blacklist', '/', '/a.b/..c', '/etc/postfix/.cdktf-postfix'])
    expect(check(good)).toBe('yes');
  for (const bad of [
    'etc/postfix',
    '',
    '/etc/postfix/../../etc/shadow',
    '/etc/./x',
    '/etc/x/.',
    '/etc/x/..',
    '/./x',
    '/../x',
    '/etc//x',
    '/etc/postfix/',
  ]) {
    expect([bad, check(bad)]).toEqual([bad, 'no']);
  }
});

test('a file target with ".." is refused on the host before anything is read, naming the path and the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roots-'));
  writeFileSync(join(dir, 'files.list'), '/etc/postfix/../../etc/shadow\t0644\troot\troot\tabc\t-\tno\n');
  writeFileSync(join(dir, 'hooks.list'), '');
  writeFileSync(join(dir, 'file_roots'), '/etc/postfix\n');
  let out = '';
  try {
    sh(`D=${dir}; C=/etc/postfix; refuse_outside_roots; echo passed`);
  } catch (e) {
    out = String((e as { stdout?: string }).stdout);
  }
  expect(out).toMatch(
    /^error\trefusing \/etc\/postfix\/\.\.\/\.\.\/etc\/shadow: it must be an absolute path without "\." or "\.\." segments .*name the file by its absolute path/m,
  );
  expect(out).toMatch(/result\tfailed/);
});

test('same_file answers as cmp -s on small text files, a missing file differing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'same-'));
  const f = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const a = f('a', 'x  /etc/postfix/main.cf\n644 root root /etc/postfix/main.cf\n');
  const pairs: [string, string][] = [
    [a, f('same', 'x  /etc/postfix/main.cf\n644 root root /etc/postfix/main.cf\n')],
    [a, f('longer', 'x  /etc/postfix/main.cf\n644 root root /etc/postfix/main.cf\nmore\n')],
    [a, f('shorter', 'x  /etc/postfix/main.cf\n')],
    [a, f('other', 'x  /etc/postfix/main.cf\n600 root root /etc/postfix/main.cf\n')],
    [a, f('spaces', 'x  /etc/postfix/main.cf\n644 root root /etc/postfix/main.cf \n')],
    [a, join(dir, 'missing')],
  ];
  for (const [x, y] of pairs) {
    let cmp = 'same';
    try {
      execFileSync('cmp', ['-s', x, y]);
    } catch {
      cmp = 'differ';
    }
    expect([y, sh('same_file "$1" "$2" && echo same || echo differ', [x, y]).trim()]).toEqual([y, cmp]);
  }
});

test('set_suffix, strip_mode and dir_of answer as index_suffix, sed s/^0*// and dirname did', () => {
  expect(sh('for t in hash btree lmdb cdb regexp - postalias:hash postalias:lmdb; do set_suffix "$t"; printf "%s," "$SUFFIX"; done')).toBe(
    '.db,.db,.lmdb,.cdb,,,.db,.lmdb,',
  );
  expect(sh('for m in 0644 644 0600 0 0000 2755; do strip_mode "$m"; printf "%s," "$MODE"; done')).toBe('644,644,600,0,0,2755,');
  expect(sh('for p in /etc/postfix/x /x /etc; do dir_of "$p"; printf "%s," "$DIR"; done')).toBe('/etc/postfix,/,/,');
});
