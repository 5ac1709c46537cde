import { accessSync, constants, readFileSync } from 'fs';
import { ConfigurationError } from './errors';

/** Why a file could not be read, in words, for the common errno codes. */
export function fileProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a file';
  if (code === 'ENOTDIR') return 'a part of the path is not a directory';
  return (e as Error).message;
}

/**
 * A file the user named (a bundle, a key, a log): its text, or a ConfigurationError that names
 * the path, what it was for and the fix, with the system error as `cause` (never a raw ENOENT).
 */
export function readInputFile(path: string, what: string, fix: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw unreadable(path, what, fix, e);
  }
}

/** The same check without reading, for files another part streams (logs). */
export function checkReadableFile(path: string, what: string, fix: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    throw unreadable(path, what, fix, e);
  }
}

function unreadable(path: string, what: string, fix: string, e: unknown): ConfigurationError {
  return new ConfigurationError(path, what, path, `cannot be read (${fileProblem(e)})`, fix, { cause: e });
}
