/**
 * DKIM verification as a receiver does it: python3-dkim (Debian's python3-dkim) checks a message's
 * DKIM-Signature, with a dnsfunc that answers the selector's TXT query with the record we publish,
 * so no DNS traffic leaves the machine.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const VERIFY = `
import sys, dkim
name, txt = sys.argv[1].encode(), open(sys.argv[2], 'rb').read()
def dnsfunc(qname, timeout=5):
    return txt if qname.rstrip(b'.') == name else None
ok = dkim.verify(sys.stdin.buffer.read(), dnsfunc=dnsfunc)
print('pass' if ok else 'fail')
`;

/** 'pass' or 'fail' for one message (LF or CRLF line ends) against the TXT record `name` -> `txt`. */
export function verifyDkim(message: string, name: string, txt: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'dkim-verify-'));
  try {
    writeFileSync(join(dir, 'txt'), txt);
    const r = spawnSync('/usr/bin/python3', ['-c', VERIFY, name, join(dir, 'txt')], {
      input: message.replace(/\r?\n/g, '\r\n'),
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`python3-dkim failed: ${r.stderr}`);
    return r.stdout.trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The messages of an mbox file that contain `tag`, without the mbox "From " separator line. */
export function mboxMessagesWith(mboxPath: string, tag: string): string[] {
  let text: string;
  try {
    text = readFileSync(mboxPath, 'utf8');
  } catch {
    return [];
  }
  return text
    .split(/^From .*\n/m)
    .filter((m) => m.includes(tag))
    .map((m) => m.replace(/\n$/, ''));
}
