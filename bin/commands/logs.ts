import { Command, InvalidArgumentError } from 'commander';
import {
  LogReport, LogReportOptions, LogSource, analyzeLogs, formatReport, parseTimeOption, reportToJson,
} from '../../lib/ops/logs';

export interface LogsReportFlags {
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

/** Flags -> library options (throws PostfixConfigError for a bad --since/--until). */
export function logsReportOptions(flags: LogsReportFlags, now: Date = new Date()): LogReportOptions {
  return {
    toDomain: flags.toDomain,
    since: flags.since !== undefined ? parseTimeOption(flags.since, '--since', now) : undefined,
    until: flags.until !== undefined ? parseTimeOption(flags.until, '--until', now) : undefined,
    year: flags.year,
    top: flags.top,
    now,
  };
}

/**
 * Runs `logs report` on local files (`-` or none = stdin) or on already-open streams (e.g. remote
 * files read over SSH, passed in by the connection-flag wiring) and prints the report.
 */
export async function logsReportAction(
  files: string[],
  flags: LogsReportFlags,
  streams?: NodeJS.ReadableStream[],
): Promise<LogReport> {
  const options = logsReportOptions(flags);
  const sources: LogSource[] = streams && streams.length > 0 ? streams : files.length > 0 ? files : ['-'];
  const report = await analyzeLogs(sources, options);
  process.stdout.write(flags.json ? reportToJson(report) : formatReport(report));
  return report;
}

export function registerLogsCommand(program: Command): void {
  const logs = program.command('logs').description('Postfix mail log analysis');
  logs
    .command('report')
    .description('pflogsumm-like report of Postfix mail logs (plain or gzip; rotated files in any order; none or - = stdin)')
    .argument('[files...]', 'log files, e.g. /var/log/mail.log /var/log/mail.log.1 /var/log/mail.log.2.gz')
    .option('--json', 'print the report as JSON')
    .option('--to-domain <domain>', 'count mails per recipient address at exactly this domain (case-insensitive)')
    .option('--since <time>', 'only lines at or after: 24h, 7d, 30m, 2026-11-29, 2026-11-29T18:00[:00][Z|+01:00]')
    .option('--until <time>', 'only lines before this time (same forms as --since)')
    .option('--year <yyyy>', 'year of the first year-less (syslog) timestamp; default: current year', wholeNumber('--year', 1970))
    .option('--top <n>', 'entries in each top list (0 = all)', wholeNumber('--top', 0), 10)
    .action(async (files: string[], flags: LogsReportFlags) => {
      try {
        await logsReportAction(files, flags);
      } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
