/**
 * Comments cite Postfix's manuals (postconf(5), master(5), access(5), postqueue(1)...) or an RFC,
 * never a web page: pages move, the manuals ship with the Postfix being configured. A URL that is
 * data a protocol defines (the MTA-STS policy location of RFC 8461 §3.3) sits next to its RFC section.
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|sh|awk)$/.test(name) ? [p] : [];
  });
}

test('no comment in lib/, bin/ or constructs/ cites a web page', () => {
  const offenders: string[] = [];
  for (const file of ['lib', 'bin', 'constructs'].flatMap((d) => sources(join(ROOT, d)))) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const comment = /^\s*(\/\/|\/?\*|#)/.test(line) || /\s\/\/\s/.test(line);
        if (comment && /https?:\/\//.test(line) && !/RFC \d+|§\d/.test(line))
          offenders.push(`${file.slice(ROOT.length + 1)}:${i + 1}: ${line.trim()}`);
      });
  }
  expect(offenders).toEqual([]);
});
