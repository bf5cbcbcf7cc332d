import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AdapterError } from '../../errors.js';
import type { PointInTimePartitions, SweepBatch, SweepTask } from '../../processing/point-in-time.js';
import type { DuckDbEngineConfig } from '../../storage/engine/duckdb-engine.js';
import type { SweepReply, SweepRequest } from './sweep-worker.js';

/** Sweep workers of one build: close them when it ends. */
export interface SweepWorkers extends PointInTimePartitions {
  close(): Promise<void>;
}

/** The worker's compiled entry. Run from sources (tests), the build of them in `dist/` (tests build it first). */
function workerUrl(): URL {
  const here = import.meta.url;
  if (here.endsWith('.js')) return new URL('./sweep-worker.js', here);
  return new URL(here.replace('/src/serving/datasets/', '/dist/serving/datasets/').replace(/sweep-workers\.ts$/, 'sweep-worker.js'));
}

interface Pending {
  readonly emit: (batch: SweepBatch) => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * `workers` threads, each with its own DuckDB (`engine`), that run a dataset build's sweeps in
 * parallel (see `PointInTimePartitions`): a task's points carry a partition number `_part` in
 * `[0, workers)`, and worker `k` sweeps partition `k` (its entities' events only, read from the
 * lake files by its own engine). Batches of results come back transferred, not copied, and are
 * handed to `emit` one at a time.
 *
 * @example
 * const workers = sweepWorkers(2, { threads: 1 });
 * try { await computePointInTime(engine, plan, features, events, points, 'pit_0', 'v0', false, workers); } finally { await workers.close(); }
 */
export function sweepWorkers(workers: number, engine: DuckDbEngineConfig): SweepWorkers {
  const pending = new Map<number, Pending>();
  let nextId = 0;
  const threads = Array.from({ length: workers }, (_, k) => {
    // A spill directory per engine: DuckDB's temporary files are not meant to be shared.
    const config = engine.tempDirectory === undefined ? engine : { ...engine, tempDirectory: join(engine.tempDirectory, `worker-${k}`) };
    const worker = new Worker(workerUrl(), { workerData: config });
    worker.on('message', (reply: SweepReply) => {
      const task = pending.get(reply.id);
      if (!task) return;
      if ('batch' in reply) void task.emit(reply.batch as SweepBatch).catch((error: unknown) => task.reject(error as Error));
      else if ('done' in reply) task.resolve();
      else task.reject(new AdapterError('ADAPTER_FAILED', reply.error.message));
    });
    const fail = (error: Error) => {
      for (const task of pending.values()) task.reject(new AdapterError('ADAPTER_FAILED', `a dataset build's sweep worker stopped (${error.message}); build again, or with fewer sweep workers`, { cause: error }));
    };
    worker.on('error', fail);
    worker.on('exit', (code) => { if (code !== 0) fail(new Error(`exit code ${code}`)); });
    return worker;
  });
  return {
    async sweep(task: SweepTask, emit: (batch: SweepBatch) => Promise<void>): Promise<void> {
      // Batches from all workers are appended one after another, in the order they arrive.
      let appended = Promise.resolve();
      const serial = (batch: SweepBatch) => (appended = appended.then(() => emit(batch)));
      const runs = threads.map((worker, k) => new Promise<void>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { emit: serial, resolve: () => { pending.delete(id); resolve(); }, reject: (error) => { pending.delete(id); reject(error); } });
        const points = `(SELECT _pid, _key, _t FROM ${task.points} WHERE _part = ${k})`;
        worker.postMessage({ id, task: { ...task, points } } satisfies SweepRequest);
      }));
      await Promise.all(runs);
      await appended;
    },
    async close(): Promise<void> {
      await Promise.all(threads.map((w) => w.terminate()));
    },
  };
}
