import { UsageError } from '../lib/errors';
import { PostfixConfigError } from '../lib/model/errors';

/**
 * Runs a parse of something the user typed on the command line: the library's ConfigurationError
 * (field, value, fix) becomes a UsageError (exit 2) with the same words, the original as `cause`.
 */
export function asUsageError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof PostfixConfigError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
}
