import { DOUBLE, DuckDBDataChunk, DuckDBInstance, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import { AdapterError } from '../../errors.js';
import type { ColumnChunk, SqlEngine } from './sql-engine.js';

function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toPlain(v);
    return out;
  }
  return value;
}

class DuckDbEngine implements SqlEngine {
  /** Appends go through a connection of their own, so they can run while a stream is open. */
  private appendConnection: DuckDBConnection | undefined;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  async run(sql: string): Promise<void> {
    try {
      await this.connection.run(sql);
    } catch (error) {
      throw new AdapterError('ADAPTER_FAILED', `DuckDB: ${(error as Error).message}`, { cause: error, details: { sql } });
    }
  }

  async all<Row>(sql: string): Promise<Row[]> {
    try {
      const reader = await this.connection.runAndReadAll(sql);
      return reader.getRowObjectsJS().map((row) => toPlain(row) as Row);
    } catch (error) {
      throw new AdapterError('ADAPTER_FAILED', `DuckDB: ${(error as Error).message}`, { cause: error, details: { sql } });
    }
  }

  async *streamChunks(sql: string): AsyncIterable<ColumnChunk> {
    let result;
    try {
      result = await this.connection.stream(sql);
    } catch (error) {
      throw new AdapterError('ADAPTER_FAILED', `DuckDB: ${(error as Error).message}`, { cause: error, details: { sql } });
    }
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) return;
      yield { rowCount: chunk.rowCount, column: (index: number) => { const vector = chunk.getColumnVector(index); return { get: (row: number) => vector.getItem(row) }; } };
    }
  }

  async appendColumns(table: string, columns: readonly (Float64Array | readonly (string | null)[])[], rowCount: number): Promise<void> {
    if (rowCount === 0) return;
    // A statement on the streaming connection would end its open stream early, silently.
    const connection = (this.appendConnection ??= await this.instance.connect());
    const appender = await connection.createAppender(table);
    try {
      for (let start = 0; start < rowCount; start += 2048) {
        const size = Math.min(2048, rowCount - start);
        const chunk = DuckDBDataChunk.create(columns.map((c) => (c instanceof Float64Array ? DOUBLE : VARCHAR)), size);
        columns.forEach((column, c) => {
          const values: (number | string | null)[] = new Array(size);
          for (let i = 0; i < size; i++) {
            const v = column[start + i]!;
            values[i] = typeof v === 'number' && Number.isNaN(v) ? null : v;
          }
          chunk.setColumnValues(c, values);
        });
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  async appendText(table: string, rows: readonly (readonly (string | null)[])[]): Promise<void> {
    if (rows.length === 0) return;
    const width = rows[0]!.length;
    const appender = await this.connection.createAppender(table);
    try {
      // DuckDB vectors hold 2048 rows; filling whole chunks column by column is the fast path.
      for (let start = 0; start < rows.length; start += 2048) {
        const slice = rows.slice(start, start + 2048);
        const chunk = DuckDBDataChunk.create(Array.from({ length: width }, () => VARCHAR), slice.length);
        for (let c = 0; c < width; c++) chunk.setColumnValues(c, slice.map((row) => row[c] ?? null));
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  async close(): Promise<void> {
    this.appendConnection?.closeSync();
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

export interface DuckDbEngineConfig {
  /** Worker threads; default: DuckDB's choice (all cores). */
  readonly threads?: number;
  readonly memoryLimit?: string;
}

/**
 * An in-memory DuckDB with the session in UTC, so naive timestamps mean UTC everywhere.
 *
 * @example
 * const engine = await duckDbEngine();
 * await engine.all('SELECT 42 AS answer');
 */
export async function duckDbEngine(config: DuckDbEngineConfig = {}): Promise<SqlEngine> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const engine = new DuckDbEngine(instance, connection);
  await engine.run("SET TimeZone = 'UTC'");
  if (config.threads !== undefined) await engine.run(`SET threads = ${Math.max(1, Math.floor(config.threads))}`);
  if (config.memoryLimit !== undefined) await engine.run(`SET memory_limit = '${config.memoryLimit.replace(/'/g, '')}'`);
  return engine;
}
