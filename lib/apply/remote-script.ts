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

/** The remote program as members of the staging tar stream. */
export function remoteScriptEntries(): TarEntry[] {
  return Object.entries(remoteScripts()).map(([name, text]) => ({ name: `${REMOTE_DIR}/${name}`, data: Buffer.from(text, 'utf8') }));
}

/**
 * The only command line ever sent for a transaction. It is a constant: the staged data arrives on
 * stdin, so nothing from a bundle, a host name or a user can reach a shell parser. stdin starts with
 * the tar stream's length on a line (only digits pass), then exactly that many bytes go to tar
 * (`head -c`: tar would drain the pipe), so the rest of stdin stays for the transaction's own
 * conversation (the answer to a held plan, remote/plan.sh). The END marker is the last tar member:
 * a transfer cut short never runs the transaction.
 */
export const TRANSACTION_COMMAND =
  'sh -c \'umask 077; trap "" PIPE; d=$(mktemp -d /tmp/cdktf-postfix.XXXXXXXX) || exit 70; n=; IFS= read -r n; ' +
  'if case $n in ""|*[!0-9]*) false ;; esac && head -c "$n" | tar -xf - -C "$d" 2>"$d/tar.err" && test -f "$d/END"; ' +
  `then exec sh "$d/${REMOTE_DIR}/transaction.sh" "$d"; ` +
  'else e=$(head -c 500 "$d/tar.err" 2>/dev/null); rm -rf "$d"; echo "error	transfer incomplete: $e"; exit 71; fi\'';
