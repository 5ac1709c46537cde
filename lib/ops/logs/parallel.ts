/**
 * Parallel reading of large plain log files: the input (one or more files, already in log order)
 * is cut at line boundaries into as many pieces as there are workers; the first piece is read on
 * the calling thread, the others in worker threads, each into its own LogAggregator; the pieces
 * are then merged in log order (LogAggregator.merge), which keeps the per-message semantics exact:
 *
 *  - A piece other than the first records, for every queue ID whose state from before the piece
 *    matters (its size for delivered bytes, whether it was already deferred, where it came from
 *    for the sender count), those effects in order; the merge applies them to the states the
 *    earlier pieces ended with, then takes over the states the piece ended with.
 *  - Year inference: a piece is read starting from a guessed year state (from the last timestamp
 *    before its start). At the merge, the guess is checked against the state the earlier pieces
 *    really ended with; a piece read with a wrong guess (a year-less log crossing New Year before
 *    the cut) is read again on the calling thread from the right state.
 *
 * Only regular, uncompressed files are split (gzip streams cannot be entered in the middle); stdin
 * and streams are always read sequentially, with bounded memory.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LogAggregator } from './aggregate';
import { PartialAggregate } from './aggregate-merge';
import { CarriedState } from './aggregate-state';
import { LineSplitter, readRange } from './input';
import { YearState, YearTracker, peekTimestamp } from './parse';
import { LogReportOptions } from './types';
import { primeFeedback } from './warmup';

/** A byte range [start, end) of a file; start and end are at line starts (or the file's ends). */
export interface Piece {
  path: string;
  start: number;
  end: number;
}

export interface Segment {
  pieces: Piece[];
  /** Guessed year state at the segment's start (null for the first segment: a fresh tracker). */
  entry: YearState | null;
}

/**
 * Input smaller than this is read on one thread. A second thread has a fixed cost of ~0.4 s CPU (its
 * start, and V8 running the first ~30,000 lines at about ten times the steady cost while it compiles
 * the parser) and reads its piece at ~1.5x the cost per line: on the 300,000-line bench (34 MB) two
 * threads took twice the CPU of one and more wall time; on 1M lines (113 MB) and more they pay off.
 */
export const DEFAULT_PARALLEL_MIN_BYTES = 64 << 20;

/**
 * Largest segment: a piece read in partial mode keeps what it needs for the merge (every queue ID
 * it saw removed, with its recorded effects) until it is merged, so segments are capped and read
 * in rounds of `workers`: memory stays bounded by the cap, whatever the size of the log.
 */
export const DEFAULT_SEGMENT_BYTES = 48 << 20;

/**
 * Size of the calling thread's segment in each round relative to a worker's. Measured on the 1M-line
 * bench (2 threads, per-thread CPU from /proc/self/task): a worker spent ~1.4x the calling thread's
 * CPU on an equal share (its own start, module loading and JIT warm-up, partial-mode bookkeeping).
 */
export const MAIN_SHARE = 1.4;

const WORKER_FILE = path.join(__dirname, 'worker.js');

/** Threads to use by default: the CPUs this process may run on, at most 8. */
export function defaultWorkers(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, n));
}

/** True when worker threads can be started (the compiled worker script exists; not under ts-jest). */
export function workersAvailable(): boolean {
  return fs.existsSync(WORKER_FILE);
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const buf = Buffer.alloc(len);
  const n = fs.readSync(fd, buf, 0, len, pos);
  return buf.subarray(0, n);
}

/** The first line start at or after `pos` (pos itself when it is 0 or follows a newline). */
function lineStartAtOrAfter(fd: number, pos: number, size: number): number {
  if (pos <= 0) return 0;
  let p = pos - 1; // a newline just before pos makes pos a line start
  while (p < size) {
    const buf = readAt(fd, p, 1 << 16);
    if (buf.length === 0) break;
    const nl = buf.indexOf(10);
    if (nl >= 0) return p + nl + 1;
    p += buf.length;
  }
  return size;
}

/** The last parsable timestamp in the bytes before `end` of a file (looking back at most 1 MiB). */
function lastStampBefore(fd: number, end: number): ReturnType<typeof peekTimestamp> {
  let hi = end;
  const floor = Math.max(0, end - (1 << 20));
  while (hi > floor) {
    const lo = Math.max(floor, hi - (1 << 16));
    const text = readAt(fd, lo, hi - lo).toString('latin1');
    const lines = text.split('\n');
    // the first element may be a partial line unless lo is a file start
    for (let i = lines.length - 1; i >= (lo === 0 ? 0 : 1); i--) {
      const t = peekTimestamp(lines[i]);
      if (t !== null) return t;
    }
    if (lo === floor) break;
    hi = lo + lines[0].length; // re-read the partial first line with what precedes it
    if (hi <= lo) hi = lo;
  }
  return null;
}

/**
 * Cuts plain files (in log order) into up to `workers` segments of about equal size at line
 * boundaries. Returns null when the input should be read sequentially: fewer than two workers,
 * smaller than `minBytes`, or any input that is not a regular uncompressed file.
 */
export function planSegments(
  paths: string[],
  workers: number,
  minBytes: number,
  options: LogReportOptions = {},
  segmentBytes = DEFAULT_SEGMENT_BYTES,
): Segment[] | null {
  if (workers < 2 || paths.length === 0) return null;
  const sizes: number[] = [];
  for (const p of paths) {
    if (p === '-') return null;
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      return null; // let the sequential reader report it
    }
    if (!st.isFile()) return null;
    if (st.size >= 2) {
      const fd = fs.openSync(p, 'r');
      try {
        const head = readAt(fd, 0, 2);
        if (head[0] === 0x1f && head[1] === 0x8b) return null;
      } finally {
        fs.closeSync(fd);
      }
    }
    sizes.push(st.size);
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total < minBytes) return null;

  // cut points as (file index, offset at a line start), in order: equal shares, a multiple of
  // `workers` of them so that every round keeps every thread busy
  const cuts: Array<{ file: number; off: number }> = [];
  const count = workers * Math.max(1, Math.ceil(total / (workers * Math.max(1, segmentBytes))));
  // the calling thread reads the first segment of every round, without the worker's start and the
  // partial-mode bookkeeping: it gets a larger share so that both finish at about the same time
  const weight = (k: number) => (k % workers === 0 ? MAIN_SHARE : 1);
  let weights = 0;
  for (let k = 0; k < count; k++) weights += weight(k);
  let before = 0;
  for (let k = 1; k < count; k++) {
    before += weight(k - 1);
    let target = Math.floor((total * before) / weights);
    let f = 0;
    while (f < sizes.length - 1 && target >= sizes[f]) {
      target -= sizes[f];
      f++;
    }
    const fd = fs.openSync(paths[f], 'r');
    let off: number;
    try {
      off = lineStartAtOrAfter(fd, target, sizes[f]);
    } finally {
      fs.closeSync(fd);
    }
    if (off >= sizes[f] && f < sizes.length - 1) {
      f++;
      off = 0;
    }
    const prev = cuts[cuts.length - 1];
    if (prev && (f < prev.file || (f === prev.file && off <= prev.off))) continue;
    if (f === 0 && off === 0) continue;
    cuts.push({ file: f, off });
  }
  if (cuts.length === 0) return null;

  // a year guess for year-less stamps: the first stamp's year by the usual rule, plus one when the
  // month at a cut is before the first month (a log spans less than a year)
  const first = firstStamp(paths);
  const tracker = new YearTracker(options.year, options.now);
  const firstYear = first === null ? 0 : (first.year ?? tracker.resolve(first.month));
  const firstMonth = first === null ? 0 : first.month;

  const bounds = [{ file: 0, off: 0 }, ...cuts, { file: paths.length - 1, off: sizes[sizes.length - 1] }];
  const segments: Segment[] = [];
  for (let s = 0; s + 1 < bounds.length; s++) {
    const a = bounds[s];
    const b = bounds[s + 1];
    const pieces: Piece[] = [];
    for (let f = a.file; f <= b.file; f++) {
      const start = f === a.file ? a.off : 0;
      const end = f === b.file ? b.off : sizes[f];
      // an empty file still takes part (its name is a source); an empty range at a cut does not
      if (end > start || (sizes[f] === 0 && start === 0)) pieces.push({ path: paths[f], start, end });
    }
    let entry: YearState | null = null;
    if (s > 0) {
      const t = stampBefore(paths, a);
      if (t === null) entry = { year: 0, lastMonth: 0 };
      else if (t.year !== null) entry = { year: t.year, lastMonth: t.month };
      else entry = { year: firstYear + (t.month < firstMonth ? 1 : 0), lastMonth: t.month };
    }
    segments.push({ pieces, entry });
  }
  return segments;
}

function firstStamp(paths: string[]): ReturnType<typeof peekTimestamp> {
  for (const p of paths) {
    const fd = fs.openSync(p, 'r');
    try {
      const lines = readAt(fd, 0, 1 << 16)
        .toString('latin1')
        .split('\n');
      for (const l of lines) {
        const t = peekTimestamp(l);
        if (t !== null) return t;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return null;
}

function stampBefore(paths: string[], at: { file: number; off: number }): ReturnType<typeof peekTimestamp> {
  for (let f = at.file; f >= 0; f--) {
    const end = f === at.file ? at.off : fs.statSync(paths[f]).size;
    if (end === 0) continue;
    const fd = fs.openSync(paths[f], 'r');
    try {
      const t = lastStampBefore(fd, end);
      if (t !== null) return t;
    } finally {
      fs.closeSync(fd);
    }
  }
  return null;
}

/** Feeds the lines of byte ranges of files to `onLine`, one splitter per range (each range ends lines). */
export async function readPieces(
  pieces: Piece[],
  maxLineLength: number,
  onLine: (line: string, truncated: boolean) => void,
): Promise<void> {
  for (const piece of pieces) {
    if (piece.end <= piece.start) continue;
    const splitter = new LineSplitter(maxLineLength, onLine);
    await readRange(piece.path, piece.start, piece.end, splitter);
    splitter.end();
  }
}

/** Reads one segment that does not start the log into a partial-mode aggregator (in a worker, or inline). */
export async function readSegment(segment: Segment, options: LogReportOptions, maxLineLength: number): Promise<LogAggregator> {
  primeFeedback();
  const agg = new LogAggregator(options, { yearState: segment.entry ?? { year: 0, lastMonth: 0 } });
  await readPieces(segment.pieces, maxLineLength, (line, truncated) => agg.addLine(line, truncated));
  return agg;
}

/** What a segment hands back once the states before it are known. */
export interface SegmentResult {
  part: PartialAggregate;
  /** Per-message states at the segment's end (empty for the last segment). */
  carried: CarriedState[];
}

/** Settles a read segment against the states before it and exports it. */
export function finishSegment(agg: LogAggregator, carried: CarriedState[], last: boolean): SegmentResult {
  const out = agg.settle(carried, last);
  return { part: agg.exportPartial(), carried: out };
}

interface SegmentWorker {
  /** Starts reading a segment (in the worker). */
  read(segment: Segment): void;
  /** Settles the segment read last with the states before it; resolves with its result. */
  finish(carried: CarriedState[], last: boolean): Promise<SegmentResult>;
  /** Drops the segment read last (it was read with a wrong year guess). */
  discard(): Promise<void>;
  stop(): void;
}

function startWorker(options: LogReportOptions, maxLineLength: number): SegmentWorker {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: worker_threads loads only when a report runs in parallel
  const { Worker } = require('worker_threads') as typeof import('worker_threads');
  const w = new Worker(WORKER_FILE, { workerData: { options, maxLineLength } });
  let failed: Error | null = null;
  let waiting: { resolve: (r: SegmentResult) => void; reject: (e: Error) => void } | null = null;
  const fail = (e: Error) => {
    failed ??= e;
    waiting?.reject(e);
    waiting = null;
  };
  w.on('message', (m: { ok: true; result: SegmentResult } | { ok: false; error: string }) => {
    if (!m.ok) return fail(new Error(m.error));
    waiting?.resolve(m.result);
    waiting = null;
  });
  w.once('error', fail);
  w.once('exit', (code) => fail(new Error(`log worker exited with code ${code}`)));
  const finish = (carried: CarriedState[], last: boolean) =>
    new Promise<SegmentResult>((resolve, reject) => {
      if (failed !== null) return reject(failed);
      waiting = { resolve, reject };
      w.postMessage({ carried, last });
    });
  return {
    read(segment) {
      w.postMessage({ segment });
    },
    finish,
    async discard() {
      await finish([], true);
    },
    stop() {
      failed ??= new Error('log worker stopped');
      void w.terminate();
    },
  };
}

/**
 * Aggregates the segments into `agg` (a fresh aggregator for the whole log) in rounds: in each, this
 * thread reads the round's first segment straight into `agg` (it follows everything merged so far)
 * while the workers read the others in partial mode (or, with `inline`, one after the other on this
 * thread through the same settle/export/clone/merge path: for tests); then the others are settled
 * and merged in order, each handed the per-message states the log had reached at its start, and
 * `agg` takes over the states at the round's end. The workers live for the whole report.
 */
export async function aggregateSegments(
  agg: LogAggregator,
  segments: Segment[],
  options: LogReportOptions,
  maxLineLength: number,
  inline: boolean,
  workers = segments.length,
): Promise<void> {
  const pool: SegmentWorker[] = [];
  try {
    for (let r = 0; r < segments.length;) {
      const first = segments[r];
      const rest = segments.slice(r + 1, r + Math.max(2, workers));
      r += 1 + rest.length;
      if (!inline) {
        while (pool.length < rest.length) pool.push(startWorker(options, maxLineLength));
        rest.forEach((seg, i) => pool[i].read(seg));
      }
      await readPieces(first.pieces, maxLineLength, (line, truncated) => agg.addLine(line, truncated));
      let carried = agg.carriedStates();
      for (let i = 0; i < rest.length; i++) {
        const seg = rest[i];
        const last = r >= segments.length && i === rest.length - 1;
        const actual = agg.yearState();
        const guess = seg.entry as YearState;
        let out: SegmentResult;
        if (actual.year !== guess.year || actual.lastMonth !== guess.lastMonth) {
          // read with a wrong year guess: read it again from the state the log really reached
          if (!inline) await pool[i].discard();
          out = finishSegment(await readSegment({ pieces: seg.pieces, entry: actual }, options, maxLineLength), carried, last);
        } else if (inline) {
          out = structuredClone(finishSegment(await readSegment(seg, options, maxLineLength), carried, last));
        } else out = await pool[i].finish(carried, last);
        agg.merge(out.part);
        carried = out.carried;
      }
      if (r < segments.length) agg.adoptStates(carried);
    }
  } finally {
    for (const w of pool) w.stop();
  }
}
