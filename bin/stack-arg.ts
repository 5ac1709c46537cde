/**
 * How every command names a synthesized stack: a directory (cdktf.out/stacks/mail) or just the
 * stack's name (mail, looked up under ./cdktf.out/stacks/), as the positional argument of apply and
 * diff or as --stack for the commands that take a connection.
 */
import { existsSync } from 'fs';
import { join } from 'path';
import { UsageError } from '../lib/errors';

export const STACK_HELP = 'synthesized stack: a directory such as cdktf.out/stacks/mail, or the stack name (mail)';

/** The stack directory a user meant: the path as given, else ./cdktf.out/stacks/NAME when that exists. */
export function resolveStackDir(stack: string): string {
  if (existsSync(join(stack, 'cdk.tf.json'))) return stack;
  const byName = join('cdktf.out', 'stacks', stack);
  if (/^[\w.-]+$/.test(stack) && existsSync(join(byName, 'cdk.tf.json'))) return byName;
  return stack;
}

/** apply/diff: `[stack]` or `--stack`, exactly one of them (both are accepted when they agree). */
export function stackFrom(positional: string | undefined, flag: string | undefined): string {
  if (positional !== undefined && flag !== undefined && positional !== flag) {
    throw UsageError.of(
      '--stack',
      flag,
      `names a different stack than the argument "${positional}"`,
      'give the stack once, as the argument or as --stack',
    );
  }
  const stack = positional ?? flag;
  if (stack === undefined)
    throw UsageError.of(
      '<stack>',
      undefined,
      'no stack given',
      'name the synthesized stack, e.g. `cdktf-postfix apply cdktf.out/stacks/mail` (or just `mail`)',
    );
  return resolveStackDir(stack);
}
