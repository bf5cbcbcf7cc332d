import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { batchSource, count, defineProject, entity, featureService, featureView, type RequestViewSpec, type ScalarType } from '../../src/definitions/index.js';
import { ingestFile } from '../../src/ingest/ingest-file.js';
import { tempPlatform } from './temp-platform.js';
import { int64Scalar } from '../../src/processing/request-features.js';
import { requestFieldSql } from '../../src/serving/datasets/request-view-columns.js';
import { spineReaderSql } from '../../src/serving/datasets/load-spine-sql.js';
import { duckDbEngine } from '../../src/storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../../src/storage/engine/sql-engine.js';

/** The dataset's reading of column `v` of a spine file holding `cells` (CSV texts, or JSON texts one per JSONL line, written to Parquet by DuckDB), in row order. */
export type InSpine = (format: 'csv' | 'jsonl' | 'parquet', cells: readonly string[], type: ScalarType) => Promise<unknown[]>;

/** One DuckDB engine and one temporary directory for the test file calling it (read them in its tests), closed and removed after them. */
export function scratchEngine(): { readonly engine: () => SqlEngine; readonly dir: () => string } {
  let engine: SqlEngine;
  let dir: string;
  beforeAll(async () => {
    engine = await duckDbEngine({ threads: 1 });
    dir = mkdtempSync(join(tmpdir(), 'sluice-spine-cells-'));
  });
  afterAll(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { engine: () => engine, dir: () => dir };
}

/** Reads request fields from spine files as a dataset build does (`requestFieldSql`), with a `scratchEngine`. */
export function spineCells(): InSpine {
  const scratch = scratchEngine();
  let files = 0;
  return async (format, cells, type) => {
    const [engine, dir] = [scratch.engine(), scratch.dir()];
    let path = join(dir, `spine-${files++}.${format === 'csv' ? 'csv' : 'jsonl'}`);
    writeFileSync(path, format === 'csv' ? ['v', ...cells].join('\n') + '\n' : cells.map((c) => `{"v":${c}}`).join('\n') + '\n');
    if (format === 'parquet') {
      const parquet = join(dir, `spine-${files++}.parquet`);
      await engine.run(`COPY (SELECT * FROM ${spineReaderSql(path, 'jsonl')}) TO '${parquet}' (FORMAT parquet)`);
      path = parquet;
    }
    const reader = spineReaderSql(path, format);
    const [{ column_type: sqlType }] = (await engine.all<{ column_type: string }>(`DESCRIBE SELECT v FROM ${reader}`)) as [{ column_type: string }];
    const sql = requestFieldSql('v', type, sqlType, format === 'csv' ? 'text' : 'typed');
    const rows = await engine.all<{ v: unknown }>(`SELECT ${sql} AS v FROM (SELECT *, row_number() OVER () AS _r FROM ${reader}) s ORDER BY s._r`);
    return rows.map(({ v }) => (typeof v === 'bigint' ? int64Scalar(v) : v));
  };
}

/** The input of the request views under test: customers' counts of txns. */
export const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
export const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });

/**
 * A platform whose project serves request view `view` (over `stats`) as service `s`, with one txn
 * of customer c1 a second before `at`, the spine time to use; dispose of `env` after.
 */
export async function requestViewPlatform(name: string, view: RequestViewSpec): Promise<{ env: Awaited<ReturnType<typeof tempPlatform>>; at: string }> {
  const T0 = Date.parse('2026-01-10T00:00:00Z');
  const spec = defineProject({ name, entities: [customer], sources: [txns], featureViews: [stats], requestViews: [view], featureServices: [featureService({ name: 's', features: [view] })] });
  const env = await tempPlatform(spec, T0);
  const events = join(env.dir, 'txns.csv');
  writeFileSync(events, ['customer_id,ts', `c1,${new Date(T0 - 1000).toISOString()}`].join('\n'));
  await ingestFile(env.platform, env.project, 'txns', events);
  return { env, at: new Date(T0).toISOString() };
}
