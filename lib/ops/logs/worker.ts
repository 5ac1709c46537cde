/**
 * Worker thread entry for parallel log reading (see parallel.ts). It serves one segment per round:
 * `{ segment }` reads it; `{ carried, last }` (the per-message states before it, known once the
 * earlier segments are merged) settles it and posts its partial aggregate. Messages are handled in
 * order, so a settle that arrives while the segment is still being read waits for the read.
 */
import { parentPort, workerData } from 'worker_threads';
import { LogAggregator } from './aggregate';
import { CarriedState } from './aggregate-state';
import { Segment, finishSegment, readSegment } from './parallel';
import { LogReportOptions } from './types';

type Task = { segment: Segment } | { carried: CarriedState[]; last: boolean };

const data = workerData as { options: LogReportOptions; maxLineLength: number };
const port = parentPort;
if (port !== null) {
  let chain: Promise<void> = Promise.resolve();
  let read: LogAggregator | null = null;
  port.on('message', (task: Task) => {
    chain = chain
      .then(async () => {
        if ('segment' in task) read = await readSegment(task.segment, data.options, data.maxLineLength);
        else {
          const agg = read as LogAggregator;
          read = null;
          port.postMessage({ ok: true, result: finishSegment(agg, task.carried, task.last) });
        }
      })
      .catch((e: Error) => port.postMessage({ ok: false, error: e.stack ?? String(e) }));
  });
}
