/**
 * Reading a host's mail log over SSH, streamed (never held whole in memory) into the parser.
 *
 * Commands sent to the host are constants; the only data (file paths given on the command line)
 * travels on the command's stdin, never in the command string.
 */
import { resolveConnection } from '../../transport/connection';
import { ExecStream, SshError, SshSession } from '../../transport/ssh';
import { ConnectionSpec } from '../../model/connection';
import { analyzeLogs } from './index';
import { LogReport, LogReportOptions } from './types';

/**
 * The host's mail log: Postfix's own maillog_file (postlogd) when set and readable, else
 * /var/log/mail.log (rsyslog on Debian), else the journal of the postfix units.
 */
export const HOST_MAIL_LOG_COMMAND =
  `sh -c 'f=$(postconf -h maillog_file 2>/dev/null); if [ -n "$f" ] && [ -r "$f" ]; then exec cat -- "$f"; ` +
  `elif [ -r /var/log/mail.log ]; then exec cat /var/log/mail.log; ` +
  `else exec journalctl -u postfix -u "postfix@*" -o short-iso --no-pager; fi'`;

/** One file whose path is the first line of stdin (plain or gzip bytes; the parser detects gzip). */
export const CAT_FILE_FROM_STDIN_COMMAND = `sh -c 'IFS= read -r f && exec cat -- "$f"'`;

export type { ExecStream };

/** Runs a constant command on the session's host with its stdout as a stream. */
export function execStream(session: SshSession, command: string, stdin?: string): Promise<ExecStream> {
  return session.execStream(command, stdin);
}

/**
 * The report for a host's logs over SSH: with no `files`, its mail log (HOST_MAIL_LOG_COMMAND);
 * otherwise those files on the host, read in the order given (name rotated files oldest first).
 * One SSH connection; one command per input, each streamed into the same aggregation in turn.
 */
export async function analyzeRemoteLogs(spec: ConnectionSpec, files: string[], options: LogReportOptions = {}): Promise<LogReport> {
  for (const f of files) {
    if (f === '-' || f === '' || f.includes('\n')) {
      throw new SshError(
        `${f === '-' ? '-' : JSON.stringify(f)}: not a file name on the host (stdin cannot be combined with a connection)`,
      );
    }
  }
  const jobs =
    files.length === 0
      ? [{ command: HOST_MAIL_LOG_COMMAND, stdin: undefined as string | undefined, what: 'the mail log' }]
      : files.map((f) => ({ command: CAT_FILE_FROM_STDIN_COMMAND, stdin: `${f}\n`, what: f }));
  const session = await SshSession.connect(resolveConnection(spec));
  try {
    return await analyzeSequential(session, jobs, options);
  } finally {
    session.close();
  }
}

/** Reads each job's stdout into one aggregation, in order, waiting for each command's exit status. */
async function analyzeSequential(
  session: SshSession,
  jobs: Array<{ command: string; stdin: string | undefined; what: string }>,
  options: LogReportOptions,
): Promise<LogReport> {
  const runs: ExecStream[] = [];
  // Streams are opened one at a time as the reader reaches them (a lazy stream per job).
  const lazy = jobs.map((job, i) =>
    lazyStream(async () => {
      const run = await execStream(session, job.command, job.stdin);
      runs[i] = run;
      return run.stdout;
    }),
  );
  const report = await analyzeLogs(lazy, { ...options, parallel: { workers: 1 } });
  for (let i = 0; i < jobs.length; i++) {
    if (runs[i] === undefined) continue;
    const { code, stderr } = await runs[i].done;
    if (code !== 0) {
      const why = stderr.trim().split('\n').slice(-3).join('; ') || `exit status ${code}`;
      throw new SshError(`${session.target.label}: cannot read ${jobs[i].what}: ${why}`);
    }
  }
  report.input.sources = jobs.map((j) => `${session.target.label}:${j.stdin === undefined ? '(mail log)' : j.stdin.trim()}`);
  return report;
}

/** A readable whose underlying stream is opened when it is first read. */
function lazyStream(open: () => Promise<NodeJS.ReadableStream>): NodeJS.ReadableStream {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: stream loads only when a remote log is read
  const { Readable } = require('stream') as typeof import('stream');
  async function* gen(): AsyncGenerator<Buffer> {
    const s = await open();
    for await (const chunk of s as AsyncIterable<Buffer | string>) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  }
  return Readable.from(gen(), { objectMode: false });
}
