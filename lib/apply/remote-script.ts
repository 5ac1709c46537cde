import { readFileSync } from 'fs';
import { join } from 'path';

declare const __CDKTF_POSTFIX_TRANSACTION__: string | undefined;

let cached: string | undefined;

/**
 * The remote transaction script. The single-file runner has it inlined by esbuild (define); the
 * library reads it from beside this module.
 */
export function transactionScript(): string {
  if (cached !== undefined) return cached;
  cached = typeof __CDKTF_POSTFIX_TRANSACTION__ === 'string'
    ? __CDKTF_POSTFIX_TRANSACTION__
    : readFileSync(join(__dirname, 'remote', 'transaction.sh'), 'utf8');
  return cached;
}

/**
 * The only command line ever sent for a transaction. It is a constant: the staged data arrives as a
 * tar stream on stdin, so nothing from a bundle, a host name or a user can reach a shell parser.
 * The END marker is the last tar member: a transfer cut short never runs the transaction.
 */
export const TRANSACTION_COMMAND =
  "sh -c 'umask 077; trap \"\" PIPE; d=$(mktemp -d /tmp/cdktf-postfix.XXXXXXXX) || exit 70; " +
  'if tar -xf - -C "$d" 2>"$d/tar.err" && test -f "$d/END"; then exec sh "$d/transaction.sh" "$d"; ' +
  "else e=$(head -c 500 \"$d/tar.err\"); rm -rf \"$d\"; echo \"error	transfer incomplete: $e\"; exit 71; fi'";
