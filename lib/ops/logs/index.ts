/**
 * Postfix mail log analysis: a streaming parser and a pflogsumm-like report.
 *
 *   const report = await runLogsReport([fs.createReadStream('/var/log/mail.log')], { toDomain: 'example.org' });
 *   process.stdout.write(formatReport(report));
 */
import { PostfixConfigError } from '../../model/errors';
import { LogAggregator } from './aggregate';
import { DEFAULT_MAX_LINE_LENGTH, LineSplitter, LogSource, forEachLine, orderLogFiles, sourceChunks, sourceName } from './input';
import { DEFAULT_PARALLEL_MIN_BYTES, aggregateSegments, defaultWorkers, planSegments, workersAvailable } from './parallel';
import { LineParser, ParsedLogLine } from './parse';
import { primeFeedback } from './warmup';
import { LogReport, LogReportOptions } from './types';

export * from './types';
export { LogAggregator } from './aggregate';
export { isQueueId } from './line-fields';
export {
  LineParser,
  YearTracker,
  timestampToEpochMs,
  dayKey,
  peekTimestamp,
  LINE_POSTFIX,
  LINE_FOREIGN,
  LINE_GARBAGE,
  LINE_SKIPPED,
} from './parse';
export type { LogTimestamp, ParsedLogLine, PostfixLogLine, ForeignLogLine, GarbageLogLine, SkippedLogLine } from './parse';
export { LineSplitter, orderLogFiles, firstTimestamp, sourceChunks } from './input';
export { planSegments, defaultWorkers, workersAvailable } from './parallel';
export type { Segment, Piece } from './parallel';
export type { LogSource } from './input';
export { formatReport, reportToJson } from './report';

/**
 * Analyses log sources into a report. File paths (all inputs being paths) are first put into
 * chronological order (see orderLogFiles), so the report does not depend on the order they were
 * named in; `-`, streams and line iterables are read in the order given, after nothing is reordered.
 */
export async function analyzeLogs(sources: LogSource[], options: LogReportOptions = {}): Promise<LogReport> {
  primeFeedback();
  const agg = new LogAggregator(options);
  const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  let ordered = sources;
  if (sources.length > 1 && sources.every((s) => typeof s === 'string' && s !== '-')) {
    ordered = await orderLogFiles(sources as string[]);
  }
  const par = options.parallel ?? {};
  const inline = par.inline === true;
  const workers = par.workers ?? (inline || workersAvailable() ? defaultWorkers() : 1);
  if (workers > 1 && (inline || workersAvailable()) && ordered.every((s) => typeof s === 'string')) {
    const paths = ordered;
    const segments = planSegments(paths, workers, par.minBytes ?? DEFAULT_PARALLEL_MIN_BYTES, options, par.segmentBytes);
    if (segments !== null) {
      paths.forEach((p, i) => agg.beginSource(sourceName(p, i)));
      await aggregateSegments(agg, segments, options, max, inline, workers);
      return agg.report();
    }
  }
  const onLine = (line: string, truncated: boolean) => agg.addLine(line, truncated);
  for (let i = 0; i < ordered.length; i++) {
    agg.beginSource(sourceName(ordered[i], i));
    await forEachLine(ordered[i], max, onLine);
  }
  return agg.report();
}

/**
 * The report for already-open inputs: an array of byte or text streams (plain or gzip; e.g. the
 * stdout of `ssh host cat /var/log/mail.log`), read one after the other in the order given, or a
 * single async iterable whose items are lines (a trailing newline on an item is allowed).
 */
export async function runLogsReport(
  inputs: AsyncIterable<string> | NodeJS.ReadableStream[],
  options: LogReportOptions = {},
): Promise<LogReport> {
  return analyzeLogs(Array.isArray(inputs) ? inputs : [inputs], options);
}

/**
 * Parses one source (path, `-`, stream, or line iterable) line by line, yielding every line's
 * parse (Postfix lines, foreign program lines, garbage, skipped). Lines are parsed in batches per
 * input chunk; the memory held is one chunk's lines.
 */
export async function* parseLogStream(
  input: LogSource,
  options: { year?: number; now?: Date; maxLineLength?: number } = {},
): AsyncGenerator<ParsedLogLine> {
  const parser = new LineParser(options);
  let batch: ParsedLogLine[] = [];
  const splitter = new LineSplitter(options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH, (line) => {
    batch.push(parser.parse(line));
  });
  for await (const chunk of sourceChunks(input)) {
    splitter.write(chunk);
    if (batch.length > 0) {
      const out = batch;
      batch = [];
      yield* out;
    }
  }
  splitter.end();
  yield* batch;
}

/** Parses several files as one log (chronological order, year inference across them). */
export async function* parseLogFiles(
  paths: string[],
  options: { year?: number; now?: Date; maxLineLength?: number } = {},
): AsyncGenerator<ParsedLogLine> {
  const ordered = paths.every((p) => p !== '-') ? await orderLogFiles(paths) : paths;
  const parser = new LineParser(options);
  for (const p of ordered) {
    let batch: ParsedLogLine[] = [];
    const splitter = new LineSplitter(options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH, (line) => {
      batch.push(parser.parse(line));
    });
    for await (const chunk of sourceChunks(p)) {
      splitter.write(chunk);
      const out = batch;
      batch = [];
      yield* out;
    }
    splitter.end();
    yield* batch;
  }
}

const UNITS: Record<string, number> = { s: 1000, m: 60000, h: 3600000, d: 86400000, w: 604800000 };

/** Named days: local midnight of today or yesterday (so `--since yesterday --until today` is one whole day). */
const NAMED_DAYS: Record<string, number> = { today: 0, yesterday: 1 };

/**
 * A `--since`/`--until` value: `now`, `today` or `yesterday` (local midnight), relative to now
 * (`90m`, `24h`, `7d`, `2w`, `30s`; meaning that long ago), a date (`2026-11-29`, local midnight), or a date and time (`2026-11-29T18:00`,
 * `2026-11-29 18:00:30`, with an optional `Z` or `+01:00`; without one it is local time).
 * Local time is the zone of this process (TZ), the same zone year-less syslog stamps are read in.
 */
export function parseTimeOption(value: string, flag = '--since', now: Date = new Date()): Date {
  const v = value.trim();
  const named = v.toLowerCase();
  if (named === 'now') return new Date(now.getTime());
  if (Object.hasOwn(NAMED_DAYS, named)) return new Date(now.getFullYear(), now.getMonth(), now.getDate() - NAMED_DAYS[named]);
  const rel = /^(\d+)\s*([smhdw])$/.exec(v);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNITS[rel[2]]);
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(v);
  if (m) {
    const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
    if (mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 60) {
      if (m[7] === undefined) return new Date(y, mo - 1, d, h, mi, s);
      let off = 0;
      if (m[7] !== 'Z') {
        const digits = m[7].replace(':', '');
        off = (digits[0] === '-' ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
      }
      return new Date(Date.UTC(y, mo - 1, d, h, mi, s) - off * 60000);
    }
  }
  throw new PostfixConfigError(
    'logs report',
    flag,
    value,
    'is not a time this command understands',
    'give today, yesterday, now, a relative time like 1h, 30m, 2d, or a date/time like 2026-11-29 or 2026-11-29T18:00[:00][Z|+01:00]',
  );
}
