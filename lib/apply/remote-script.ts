import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { TarEntry } from './tar';

declare const __CDKTF_POSTFIX_REMOTE__: Record<string, string> | undefined;

/** Where the remote program's parts land in the staging directory on the host. */
export const REMOTE_DIR = 'txn';

let cached: Record<string, string> | undefined;

/**
 * The remote transaction program: transaction.sh and its parts (plan.awk, the *.sh parts), by file
 * name. The single-file runner has them inlined by esbuild (define); the library reads them from
 * the remote/ directory beside this module, so one directory listing is the only list of parts.
 */
export function remoteScripts(): Readonly<Record<string, string>> {
  if (cached !== undefined) return cached;
  if (typeof __CDKTF_POSTFIX_REMOTE__ === 'object') {
    cached = __CDKTF_POSTFIX_REMOTE__;
  } else {
    const dir = join(__dirname, 'remote');
    cached = Object.fromEntries(
      readdirSync(dir)
        .sort()
        .map((name) => [name, readFileSync(join(dir, name), 'utf8')]),
    );
  }
  return cached;
}

/**
 * The entry program (remote/entry.sh): it travels as the first frame of stdin, ahead of the staging
 * tar, and is never staged itself, so a no-op apply is answered before anything is unpacked.
 */
export const ENTRY_SCRIPT = 'entry.sh';

/** The remote program's staged parts as members of the staging tar stream (all but the entry). */
export function remoteScriptEntries(): TarEntry[] {
  return Object.entries(remoteScripts())
    .filter(([name]) => name !== ENTRY_SCRIPT)
    .map(([name, text]) => ({ name: `${REMOTE_DIR}/${name}`, data: Buffer.from(text, 'utf8') }));
}

/**
 * What stdin starts with: the entry program's length on a line and the program, then the line the
 * entry's fast path reads (action, desired bundle hash, configuration directory, TAB-separated;
 * stage.ts checks each for tabs and newlines). The staging tar's own frame follows.
 */
export function transactionPreamble(action: string, bundleSha256: string, configDirectory: string): string {
  const entry = remoteScripts()[ENTRY_SCRIPT];
  return `${Buffer.byteLength(entry, 'utf8')}\n${entry}${action}\t${bundleSha256}\t${configDirectory}\n`;
}

/** The entry program's last line: the command runs the program only when it arrived to the end. */
export const ENTRY_END = ': cdktf-postfix entry end';

/**
 * The only command line ever sent for a transaction. It is a constant: the program and the staged
 * data arrive on stdin, so nothing from a bundle, a host name or a user can reach a shell parser.
 * stdin starts with the entry program's length on a line (only digits pass), then exactly that many
 * bytes (`head -c`), which are evaluated only when they end with the program's last line: a program
 * cut short never runs. The entry (remote/entry.sh) reads the rest: the fast path's line, then the
 * staging tar's frame, and leaves what follows for the transaction's own conversation (the answer
 * to a held plan, remote/plan.sh).
 */
export const TRANSACTION_COMMAND =
  'sh -c \'umask 077; trap "" PIPE; n=; IFS= read -r n; case $n in ""|*[!0-9]*) n=0 ;; esac; p=$(head -c "$n"); ' +
  `case $p in *"${ENTRY_END}") eval "$p" ;; esac; ` +
  'echo "error	transfer incomplete: the remote program did not arrive whole"; exit 71\'';
