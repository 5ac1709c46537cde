/**
 * Every environment variable the code reads or writes (CDKTF_POSTFIX_*, and the examples' MAIL_*) is
 * in the README's table; a prefix the code completes (CDKTF_POSTFIX_TLS_<hash>) is listed as NAME_*.
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|js|sh)$/.test(name) ? [path] : [];
  });
}

test('the README lists every CDKTF_POSTFIX_ and MAIL_ environment variable', () => {
  const names = new Set<string>();
  for (const dir of ['lib', 'bin', 'constructs', 'examples']) {
    for (const file of sources(join(ROOT, dir))) {
      const text = readFileSync(file, 'utf8');
      // __CDKTF_POSTFIX_REMOTE__ is a build-time constant, MAIL_ADDRESS a regular expression: not variables.
      for (const m of text.matchAll(/(?<![\w])(CDKTF_POSTFIX_[A-Z0-9_]+|MAIL_[A-Z0-9_]+)/g)) {
        if (m[1] !== 'MAIL_ADDRESS' && !/^CDKTF_POSTFIX_REMOTE_/.test(m[1])) names.add(m[1]);
      }
    }
  }
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const missing = [...names].filter((n) => (n.endsWith('_') ? !readme.includes(`\`${n}*\``) : !readme.includes(`\`${n}\``))).sort();
  expect(names.size).toBeGreaterThan(30);
  expect(missing).toEqual([]);
});
