import { PostfixConfigError } from '../../lib/model/errors';

/** Runs fn, expecting a PostfixConfigError, and returns it for assertions on its four facts. */
export function caught(fn: () => unknown): PostfixConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PostfixConfigError) return e;
    throw e;
  }
  throw new Error('expected a PostfixConfigError');
}
