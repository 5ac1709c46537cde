/**
 * How the CLI ends: one exit status scheme for every command, and short usage errors.
 *
 *   0  success (diff: no differences; tls-check: the policy holds)
 *   1  a real failure or a failed check (a host error, differences found, a TLS policy violation)
 *   2  a usage error (a missing argument, an unknown flag, flags that do not go together)
 */
import { Command, CommanderError } from 'commander';
import { exitCodeOf, UsageError } from '../lib/errors';

export const EXIT_CODES_HELP = `
Exit status:
  0  success (diff: no differences; tls-check: the policy holds)
  1  a real failure or a failed check (a host error, differences found, a TLS policy violation)
  2  a usage error (a missing argument, an unknown flag, flags that do not go together)

Environment: NO_COLOR (any value) turns off colour and progress bars.`;

/** "cdktf-postfix logs report" for a command deep in the tree. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The one line after a usage error: where the full help is, instead of printing all of it. */
export function helpPointer(cmd: Command): string {
  return `see \`${commandPath(cmd)} --help\``;
}

/**
 * Every command in the tree throws instead of exiting (so the exit status is decided in one
 * place), follows a usage error with a pointer to its own --help instead of the whole help text,
 * and lists the exit statuses in its help.
 */
export function shortUsageErrors(cmd: Command): void {
  cmd.exitOverride().showHelpAfterError(helpPointer(cmd)).addHelpText('after', EXIT_CODES_HELP);
  for (const sub of cmd.commands) shortUsageErrors(sub);
}

/** A commander usage error (already printed by commander) or a help/version exit. */
export function isCommanderExit(e: unknown): e is CommanderError {
  return e instanceof CommanderError;
}

/**
 * Prints what went wrong and returns the exit status. Commander has printed its own errors (and
 * help or the version, which exit 0); anything else thrown by an action is printed here.
 */
export function reportFailure(e: unknown, cmd: Command | undefined, stderr: (s: string) => void): number {
  if (isCommanderExit(e)) return e.exitCode === 0 ? 0 : 2;
  const message = e instanceof Error ? e.message : String(e);
  stderr(`cdktf-postfix: ${message}\n`);
  if (e instanceof UsageError && cmd) stderr(`${helpPointer(cmd)}\n`);
  return exitCodeOf(e);
}
