/** What every record builder returns: the record and the advice that did not stop it. */
export interface Built<R> {
  readonly record: R;
  /** Human sentences, each starting with the record's purpose (`spf: ...`). Empty when all is well. */
  readonly warnings: readonly string[];
}
