/**
 * Before a transaction changes anything, the relay check (lib/model/relay.ts) runs on the values the
 * host will have: its live `postconf -n` and `postconf -M` (hand edits included) with the bundle's
 * edits applied, exactly as the diff computes them. A host that would relay for unauthenticated
 * clients outside mynetworks is refused with nothing changed.
 *
 * No extra round: an apply carries a `hold` flag, so the transaction stops after its files' plan
 * (lock, fast path and live read already done) and prints the live state in the status sections
 * (`result hold`, remote/plan.sh); the runner checks it here and answers on the same stdin: stop,
 * or go with the payloads the host asked for (apply.ts, transact). The state checked is the state
 * the transaction then changes, read once under its lock. A no-op (fast path) ends before the hold
 * with nothing to check.
 */
import { Bundle } from '../model/bundle';
import { relayProblemsFromPostconf } from '../model/relay-text';
import { expectedMain, expectedMaster, parseStatus } from './diff';
import { fileContent, StageInput } from './stage';

/** The refusal text, or undefined when every smtpd service refuses to relay. `held` is the transaction's output up to its hold. */
export function relayRefusal(
  held: string,
  input: Pick<StageInput, 'bundle' | 'bundleDir' | 'envContents'>,
  label: string,
): string | undefined {
  const live = parseStatus(held);
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
