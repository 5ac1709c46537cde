import { PostfixConfigError } from './errors';

/**
 * Where a host's bundle may write files: the Postfix configuration directory and the roots the user
 * declares (e.g. a certificate directory), plus the exact paths the library's own pieces place
 * outside it (the DH rotation script and its schedule). A root covers itself and everything below.
 * Checked at synth, by the runner before it connects, and again by the remote transaction.
 */
export function allowedFileRoots(configDirectory: string, fileRoots: readonly string[] = []): string[] {
  return [configDirectory, ...fileRoots];
}

export function isUnderRoot(path: string, root: string): boolean {
  const r = root.replace(/\/+$/, '');
  return r === '' || path === r || path.startsWith(`${r}/`);
}

/** Throws for the first path outside every allowed root, naming the path, the roots and the fix. */
export function checkFileRoots(
  where: string,
  configDirectory: string,
  fileRoots: readonly string[] | undefined,
  paths: readonly string[],
): void {
  const roots = allowedFileRoots(configDirectory, fileRoots);
  for (const path of paths) {
    if (roots.some((root) => isUnderRoot(path, root))) continue;
    throw new PostfixConfigError(
      where,
      `file ${path}`,
      path,
      `is outside the directories this host may write to (${roots.join(', ')})`,
      `put the file under ${configDirectory}, or declare its directory in fileRoots (e.g. fileRoots: ["${path.replace(/\/[^/]*$/, '') || '/'}"])`,
    );
  }
}
