import { Command, InvalidArgumentError } from 'commander';
import { addConnectionOptions, connectionFromOptions, ConnectionOptions } from '../connection-flags';
import { LogReport, LogReportOptions, LogSource, analyzeLogs, formatReport, parseTimeOption, reportToJson } from '../../lib/ops/logs';
import { analyzeRemoteLogs } from '../../lib/ops/logs/remote';
import { checkReadableFile } from '../../lib/files';
import { asUsageError } from '../usage';

/** A log file named on the command line must be readable: say which and why, not a raw ENOENT. */
function checkReadable(file: string): void {
  checkReadableFile(
    file,
    'log file',
    'name an existing mail log such as /var/log/mail.log (with --host or --stack the path is read on that host)',
  );
}

export interface LogsReportFlags extends ConnectionOptions {
  json?: boolean;
  toDomain?: string;
  since?: string;
  until?: string;
  year?: number;
  top?: number;
}

function wholeNumber(flag: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} ${value}: not a whole number >= ${min}`);
    return n;
  };
}

/** Flags -> library options (throws UsageError for a bad --since/--until). */
export function logsReportOptions(flags: LogsReportFlags, now: Date = new Date()): LogReportOptions {
  return {
    toDomain: flags.toDomain,
    since: flags.since !== undefined ? asUsageError(() => parseTimeOption(flags.since!, '--since', now)) : undefined,
    until: flags.until !== undefined ? asUsageError(() => parseTimeOption(flags.until!, '--until', now)) : undefined,
    year: flags.year,
    top: flags.top,
    now,
  };
}

/**
 * Runs `logs report` and prints the report: with connection flags, on the host's mail log (or the
 * named files on the host) read over SSH; otherwise on local files (`-` or none = stdin), or on
 * already-open streams.
 */
export async function logsReportAction(files: string[], flags: LogsReportFlags, streams?: NodeJS.ReadableStream[]): Promise<LogReport> {
  const options = logsReportOptions(flags);
  const connection = connectionFromOptions(flags);
  let report: LogReport;
  if (connection !== undefined) report = await analyzeRemoteLogs(connection, files, options);
  else {
    for (const file of streams?.length ? [] : files) if (file !== '-') checkReadable(file);
    const sources: LogSource[] = streams && streams.length > 0 ? streams : files.length > 0 ? files : ['-'];
    report = await analyzeLogs(sources, options);
  }
  process.stdout.write(flags.json ? reportToJson(report) : formatReport(report));
  return report;
}

export function registerLogsCommand(program: Command): void {
  const logs = program.command('logs').description('Postfix mail log analysis');
  const report = logs
    .command('report')
    .description(
      'pflogsumm-like report of Postfix mail logs (plain or gzip; rotated files in any order; none or - = stdin). ' +
        "With --host/--stack: the host's mail log over SSH (maillog_file, else /var/log/mail.log, else the journal), " +
        'or the files named, on the host, oldest first',
    )
    .argument('[files...]', 'log files, e.g. /var/log/mail.log /var/log/mail.log.1 /var/log/mail.log.2.gz')
    .option('--json', 'print the report as JSON')
    .option('--to-domain <domain>', 'count mails per recipient address at exactly this domain (case-insensitive)')
    .option('--since <time>', 'only lines at or after: yesterday, today, now, 1h, 30m, 2d, 2026-11-29, 2026-11-29T18:00[:00][Z|+01:00]')
    .option('--until <time>', 'only lines before this time (same forms as --since)')
    .option('--year <yyyy>', 'year of the first year-less (syslog) timestamp; default: current year', wholeNumber('--year', 1970))
    .option('--top <n>', 'entries in each top list (0 = all)', wholeNumber('--top', 0), 10);
  addConnectionOptions(report).action(async (files: string[], flags: LogsReportFlags) => {
    await logsReportAction(files, flags);
  });
}
