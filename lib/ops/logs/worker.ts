/**
 * Worker thread entry for parallel log reading (see parallel.ts): reads one segment, then waits
 * for the per-message states before it, settles and posts its partial aggregate.
 */
import { parentPort, workerData } from 'worker_threads';
import { CarriedState } from './aggregate-state';
import { Segment, finishSegment, readSegment } from './parallel';
import { LogReportOptions } from './types';

const data = workerData as { segment: Segment; options: LogReportOptions; maxLineLength: number };
const port = parentPort;
if (port !== null) {
  const before = new Promise<{ carried: CarriedState[]; last: boolean }>((resolve) => port.once('message', resolve));
  readSegment(data.segment, data.options, data.maxLineLength)
    .then(async (agg) => {
      const { carried, last } = await before;
      port.postMessage({ ok: true, result: finishSegment(agg, carried, last) });
    })
    .catch((e: Error) => port.postMessage({ ok: false, error: e.stack ?? String(e) }));
}
