/**
 * One error type for every piece of bad input, so callers (constructs at synth time, the CLI at
 * apply time) can show the same four facts: where, which field, which value, and how to fix it.
 */
export class PostfixConfigError extends Error {
  constructor(
    /** Host (construct path) or file the problem belongs to; may be empty for pure helpers. */
    public readonly where: string,
    /** The field, parameter or column at fault, e.g. `message_size_limit` or `service submission/inet`. */
    public readonly field: string,
    /** The value as given (undefined when the problem is a missing value). */
    public readonly value: string | undefined,
    /** What is wrong, in one sentence. */
    public readonly problem: string,
    /** What to do instead. */
    public readonly fix: string,
  ) {
    super(formatMessage(where, field, value, problem, fix));
    this.name = 'PostfixConfigError';
  }

  /** The same error attributed to a host, for pure helpers that did not know it. */
  at(where: string): PostfixConfigError {
    return new PostfixConfigError(where, this.field, this.value, this.problem, this.fix);
  }
}

function formatMessage(where: string, field: string, value: string | undefined, problem: string, fix: string): string {
  const shown = value === undefined ? '' : ` = ${JSON.stringify(value)}`;
  const prefix = where ? `${where}: ` : '';
  return `${prefix}${field}${shown}: ${problem}. Fix: ${fix}`;
}
