import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { SluiceContext } from '../../context.js';
import { literal, type SqlEngine } from '../../storage/engine/sql-engine.js';
import { sweepWorkers, type SweepWorkers } from './sweep-workers.js';

/** Below this many spine points a build sweeps on its own engine: starting threads would cost more than they save. */
export const SWEEP_WORKERS_FROM_POINTS = 100_000;

/**
 * Starts the sweep workers of a build (see `BuildDatasetOptions.sweepWorkers`), or none: writes
 * the build's points (table `spine_points`) with their partition (`_part`, by key hash) to a
 * Parquet file in the data directory's `tmp/`, which the workers read. Each worker's DuckDB has
 * the build engine's memory limit and a spill directory of its own. Close the result (it removes
 * the file).
 */
export async function startSweepWorkers(ctx: SluiceContext, engine: SqlEngine, requested: number | undefined): Promise<SweepWorkers | undefined> {
  let count = requested;
  if (count === undefined) {
    const [{ n }] = (await engine.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM spine_points')) as [{ n: number }];
    count = n >= SWEEP_WORKERS_FROM_POINTS ? availableParallelism() : 0;
  }
  if (count < 1) return undefined;
  const dir = join(ctx.dataDir, 'tmp', `sweep-${randomUUID()}`);
  const file = join(dir, 'points.parquet');
  const [{ limit }] = (await engine.all<{ limit: string }>("SELECT current_setting('memory_limit') AS \"limit\"")) as [{ limit: string }];
  try {
    await mkdir(dir, { recursive: true });
    await engine.run(`COPY (SELECT _pid, _key, _t, hash(_key) % ${count} AS _part FROM spine_points) TO ${literal(file)} (FORMAT PARQUET)`);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const workers = sweepWorkers(count, { threads: 1, memoryLimit: limit, tempDirectory: dir });
  return {
    sweep: (task, emit) => workers.sweep({ ...task, points: `read_parquet(${literal(file)})` }, emit),
    async close() {
      await workers.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
