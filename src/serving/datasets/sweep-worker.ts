// The entry of a dataset build's sweep worker (see `sweepWorkers`): a thread with a DuckDB of its
// own that runs `sweepPoints` for the tasks it is sent and posts the results back, batch by batch.
// Like `platform.ts`, it is a place where the concrete engine is chosen: the thread's own.
import { parentPort, workerData } from 'node:worker_threads';
import { viewPlan } from '../../processing/feature-plan.js';
import { sweepPoints, type SweepTask } from '../../processing/point-in-time.js';
import { duckDbEngine, type DuckDbEngineConfig } from '../../storage/engine/duckdb-engine.js';

/** What the build posts to a worker: a task to run, with an id to answer with. */
export interface SweepRequest {
  readonly id: number;
  readonly task: SweepTask;
}

/** What a worker posts back: batches of a task, then its end (or its failure). */
export type SweepReply =
  | { readonly id: number; readonly batch: { readonly rows: number; readonly columns: unknown[] } }
  | { readonly id: number; readonly done: true }
  | { readonly id: number; readonly error: { readonly message: string; readonly code?: string } };

const port = parentPort!;
const engine = duckDbEngine(workerData as DuckDbEngineConfig);
// One task at a time: a batch goes out as soon as it is full, its arrays transferred, not copied.
let queue = Promise.resolve();
port.on('message', (request: SweepRequest) => {
  queue = queue.then(async () => {
    try {
      await sweepPoints(await engine, viewPlan(request.task.view), request.task, async (batch) => {
        const transfer = batch.columns.filter((c): c is Float64Array => c instanceof Float64Array).map((c) => c.buffer as ArrayBuffer);
        port.postMessage({ id: request.id, batch } satisfies SweepReply, transfer);
      });
      port.postMessage({ id: request.id, done: true } satisfies SweepReply);
    } catch (error) {
      const { message, code } = error as { message?: string; code?: string };
      port.postMessage({ id: request.id, error: { message: message ?? String(error), ...(code === undefined ? {} : { code }) } } satisfies SweepReply);
    }
  });
});
port.on('close', () => void engine.then((e) => e.close()));
