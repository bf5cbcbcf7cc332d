import type { ColumnChunk, SqlEngine } from '../../src/storage/engine/sql-engine.js';
import { STREAM_END } from '../../src/storage/engine/stream-end.js';

let sequences = 0;

/** A real engine whose streamed queries fail in DuckDB mid-way, and what its streams yielded. */
export interface LateFailingEngine {
  readonly engine: SqlEngine;
  /** Rows the failing streams yielded before they ended (more than 0: the failure came after the first chunks). */
  readonly yielded: () => number;
}

/**
 * `engine`, with each streamed query whose text matches `matching` failing in DuckDB itself after
 * `after` rows: the query is read through a projection that calls `error()` once a sequence
 * passes `after`, so DuckDB fails while the result is read, after its first chunks (as a query
 * that runs out of memory mid-way does), and `@duckdb/node-api` ends the result like an
 * exhausted one. The projection adds one column after the query's own (callers read by position;
 * before the end marker of a query that carries one).
 * Every other call goes to `engine` as it is.
 */
export async function lateFailing(engine: SqlEngine, after: number, matching: RegExp): Promise<LateFailingEngine> {
  const sequence = `late_failure_${++sequences}`;
  // A regular sequence: streams on a session of their own (`ownSession`) see it too.
  await engine.run(`CREATE SEQUENCE ${sequence}`);
  let yielded = 0;
  const failing = new Proxy(engine, {
    get(target, name) {
      if (name === 'streamChunks') {
        return async function* (sql: string, options?: { readonly ownSession?: boolean; readonly carriesEndMarker?: boolean }): AsyncIterable<ColumnChunk> {
          if (!matching.test(sql)) return yield* target.streamChunks(sql, options);
          const failure = `CASE WHEN nextval('${sequence}') > ${after} THEN error('late failure') END AS _late`;
          // A query that carries its end marker keeps it as its last column.
          const late = options?.carriesEndMarker ? `SELECT * EXCLUDE (${STREAM_END}), ${failure}, ${STREAM_END} FROM (\n${sql}\n)` : `SELECT *, ${failure} FROM (\n${sql}\n)`;
          for await (const chunk of target.streamChunks(late, options)) {
            yielded += chunk.rowCount;
            yield chunk;
          }
        };
      }
      const value = Reflect.get(target, name, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { engine: failing, yielded: () => yielded };
}
