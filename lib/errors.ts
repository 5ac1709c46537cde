/**
 * The errors cdktf-postfix throws, as one small hierarchy a caller can catch and read:
 *
 *   CdktfPostfixError                 anything this package reports (exit code 1 unless said otherwise)
 *     ConfigurationError              bad input: where, field, value, problem, fix (alias PostfixConfigError)
 *     UsageError                      a mistake on the command line (exit code 2)
 *     ApplyError                      a transaction that failed on a host: host, step, Postfix's own words
 *     SshError, PostfixNotRunningError  (transport and queue: declared next to the code that throws them)
 *
 * Errors that wrap another pass it as `cause` (ES2022 error cause), so nothing underneath is lost.
 */

/** Base class: every error this package throws on purpose. */
export class CdktfPostfixError extends Error {
  /** The CLI's exit status for this error: 1 a real failure, 2 a usage error. */
  get exitCode(): number {
    return 1;
  }

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** "field = "value": problem. Fix: fix" — the one shape of every input error message. */
export function describeProblem(field: string, value: string | undefined, problem: string, fix: string): string {
  const shown = value === undefined ? '' : ` = ${JSON.stringify(value)}`;
  return `${field}${shown}: ${problem}. Fix: ${fix}`;
}

/**
 * Bad input, so callers (constructs at synth time, the CLI at apply time) can show the same four
 * facts: where, which field, which value, and how to fix it.
 */
export class ConfigurationError extends CdktfPostfixError {
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
    options?: { cause?: unknown },
  ) {
    super(`${where ? `${where}: ` : ''}${describeProblem(field, value, problem, fix)}`, options);
  }

  /** The same error attributed to a host, for pure helpers that did not know it. */
  at(where: string): ConfigurationError {
    return new ConfigurationError(where, this.field, this.value, this.problem, this.fix, { cause: this.cause });
  }
}

/** A mistake on the command line (a missing argument, a flag that needs another); exit code 2. */
export class UsageError extends CdktfPostfixError {
  override get exitCode(): number {
    return 2;
  }

  /** `field`, `value`, `problem`, `fix` as for ConfigurationError, e.g. ('--target', 'mx9', 'needs --stack', 'add --stack DIR'). */
  static of(field: string, value: string | undefined, problem: string, fix: string): UsageError {
    return new UsageError(describeProblem(field, value, problem, fix));
  }
}

/**
 * A transaction that failed on a host: which host, at which step (lock, plan, backup, validate,
 * files, swap, reload, after-check, or connect), and what Postfix (or the host) said.
 */
export class ApplyError extends CdktfPostfixError {
  constructor(
    public readonly host: string,
    public readonly step: string,
    /** Postfix's own words (e.g. the output of `postfix check`), or the host's. */
    public readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${host}: ${step} failed: ${detail}`, options);
  }
}

/** The CLI's exit status for anything thrown: 2 for a usage error, else 1. */
export function exitCodeOf(e: unknown): number {
  return e instanceof CdktfPostfixError ? e.exitCode : 1;
}
