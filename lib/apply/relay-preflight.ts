/**
 * Before a transaction changes anything, the relay check (lib/model/relay.ts) runs on the values the
 * host will have: its live `postconf -n` and `postconf -M` (hand edits included) with the bundle's
 * edits applied, exactly as the diff computes them. A host that would relay for unauthenticated
 * clients outside mynetworks is refused with nothing changed.
 *
 * Hook for the remote transaction: it could print `postconf -c STAGE -n` and `-M` after staging and
 * feed them to relayProblemsFromPostconf; until then this read happens one round before the
 * transaction on the same connection (an edit on the host between the two is not seen).
 */
import { Bundle } from '../model/bundle';
import { relayProblemsFromPostconf } from '../model/relay-text';
import { expectedMain, expectedMaster, parseStatus } from './diff';
import { TRANSACTION_COMMAND } from './remote-script';
import { SshSession } from '../transport/ssh';
import { buildStage, fileContent, StageInput } from './stage';

/** The refusal text, or undefined when every smtpd service refuses to relay (or the host cannot say). */
export async function relayRefusal(session: SshSession, input: Omit<StageInput, 'action' | 'payloads'>, shaOf: (path: string) => string, label: string): Promise<string | undefined> {
  const result = await session.exec(TRANSACTION_COMMAND, buildStage({ ...input, action: 'status' }, shaOf));
  // No status (e.g. no main.cf): the transaction itself reports why.
  if (!/^result\tstatus$/m.test(result.stdout)) return undefined;
  const live = parseStatus(result.stdout);
  const problems = relayProblemsFromPostconf({
    where: `${input.bundle.host} (${label})`,
    postconfN: expectedMain(live, input.bundle).join('\n'),
    postconfM: expectedMaster(live, input.bundle).join('\n'),
    tableSource: (path) => tableText(input, path),
  });
  if (problems.length === 0) return undefined;
  return `refused before any change on the host: ${problems.map((p) => p.message).join('; ')}`;
}

/** A bundle table's text (never a secret file's). */
function tableText(input: Pick<StageInput, 'bundle' | 'bundleDir' | 'envContents'>, path: string): string | undefined {
  const file: Bundle['files'][string] | undefined = input.bundle.files[path];
  if (!file || file.fromEnv !== undefined) return undefined;
  return fileContent(input, path).toString('utf8');
}
