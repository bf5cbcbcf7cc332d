import { mkdirSync } from 'node:fs';
import { totalmem } from 'node:os';
import { BIGINT, DOUBLE, DuckDBInstance, LIST, VARCHAR, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import { ConfigError, type AdapterError } from '../../errors.js';
import { columnReader, dataChunk, doubleParts, firstTrue, LIST_ELEMENT } from './duckdb-vectors.js';
import { engineError } from './engine-error.js';
import { STREAM_END, withStreamEnd } from './stream-end.js';
import { globEscaped, literal, literalList, type AppendColumn, type EngineSandbox, type TableAppender, type ColumnChunk, type SqlEngine } from './sql-engine.js';

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
  /** Sessions of the streams open on a session of their own (`ownSession`). */
  private readonly streamConnections = new Set<DuckDBConnection>();
  /** Interrupts asked so far: a stream that ends without its end marker after one says it was interrupted. */
  private interrupts = 0;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  async run(sql: string): Promise<void> {
    try {
      await this.connection.run(sql);
    } catch (error) {
      throw engineError('DuckDB', error, sql);
    }
  }

  async all<Row>(sql: string): Promise<Row[]> {
    try {
      const reader = await this.connection.runAndReadAll(sql);
      return reader.getRowObjectsJS().map((row) => toPlain(row) as Row);
    } catch (error) {
      throw engineError('DuckDB', error, sql);
    }
  }

  async *streamChunks(sql: string, options: { ownSession?: boolean; carriesEndMarker?: boolean } = {}): AsyncIterable<ColumnChunk> {
    const connection = options.ownSession ? await this.instance.connect() : this.connection;
    if (options.ownSession) this.streamConnections.add(connection);
    try {
      yield* this.stream(connection, sql, options.carriesEndMarker === true);
    } finally {
      if (options.ownSession) {
        this.streamConnections.delete(connection);
        connection.closeSync();
      }
    }
  }

  private async *stream(connection: DuckDBConnection, sql: string, carried: boolean): AsyncIterable<ColumnChunk> {
    const interruptsBefore = this.interrupts;
    let result;
    try {
      // The end marker tells a result that ended from one that failed mid-way, which
      // @duckdb/node-api ends alike (an empty chunk; `duckdb_result_error` is not exposed).
      // A sorted query carries its own (`withSortedStreamEnd`): it rides the sort, no union after it.
      result = await connection.stream(carried ? sql : withStreamEnd(sql));
    } catch (error) {
      throw engineError('DuckDB', error, sql);
    }
    const end = result.columnCount - 1;
    if (carried && result.columnName(end) !== STREAM_END) {
      throw engineError('DuckDB', new Error(`Internal Error: a query said to carry its end marker has "${result.columnName(end)}" as its last column, not ${STREAM_END} (build it with withSortedStreamEnd)`), sql);
    }
    // The next chunk is fetched (on DuckDB's side, off the main thread) while the caller reads this one.
    let next = result.fetchChunk();
    try {
      for (;;) {
        const chunk = await next;
        if (!chunk || chunk.rowCount === 0) throw this.endedEarly(sql, interruptsBefore);
        const marker = firstTrue(chunk.getColumnVector(end), chunk.rowCount);
        if (marker >= 0 && marker < chunk.rowCount - 1) throw engineError('DuckDB', new Error('Internal Error: rows came after the end marker of a streamed result'), sql);
        const ended = marker >= 0;
        next = result.fetchChunk();
        const rowCount = ended ? chunk.rowCount - 1 : chunk.rowCount;
        if (rowCount > 0) {
          yield {
            rowCount,
            column: (index: number) => columnReader(chunk.getColumnVector(index)),
            doubles: (index: number) => {
              const parts = doubleParts(chunk.getColumnVector(index));
              if (parts === undefined || parts.validity.data !== null) return undefined;
              return rowCount === parts.items.length ? parts.items : parts.items.subarray(0, rowCount);
            },
          };
        }
        if (ended) {
          const after = await next;
          if (after && after.rowCount > 0) throw engineError('DuckDB', new Error('Internal Error: rows came after the end marker of a streamed result'), sql);
          // Interrupted while streaming: it raises even when DuckDB had computed the whole result
          // before the interrupt (the caller was told to stop, and must not take it for complete).
          if (this.interrupts !== interruptsBefore) throw this.endedEarly(sql, interruptsBefore);
          return;
        }
      }
    } finally {
      // A caller that stops early leaves a fetch in flight: its failure is nobody's to report.
      await next.catch(() => undefined);
    }
  }

  /** The error of a stream that ended without its end marker: interrupted, or failed mid-way. */
  private endedEarly(sql: string, interruptsBefore: number): AdapterError {
    if (this.interrupts !== interruptsBefore) return engineError('DuckDB', new Error('INTERRUPT Error: Interrupted! (the stream was stopped before its end)'), sql);
    return engineError('DuckDB', new Error(`the query's result ended before its end marker: it failed mid-way (out of memory, or a value that fails on a late row; @duckdb/node-api does not say which); run it again, with a higher memory limit (SLUICE_MEMORY_LIMIT) if it recurs`), sql);
  }

  async appendText(table: string, rows: readonly (readonly (string | null)[])[]): Promise<void> {
    if (rows.length === 0) return;
    const width = rows[0]!.length;
    await this.appendColumns(table, Array.from({ length: width }, (_, c) => ({ type: 'text' as const, values: rows.map((row) => row[c] ?? null) })));
  }

  async appendColumns(table: string, columns: readonly AppendColumn[], options: { rows?: number; whileStreaming?: boolean } = {}): Promise<void> {
    const rows = options.rows ?? columns[0]?.values.length ?? 0;
    if (rows === 0) return;
    const appender = await this.openAppender(table, options);
    try {
      appender.append(columns, rows);
    } finally {
      await appender.close();
    }
  }

  async openAppender(table: string, options: { whileStreaming?: boolean } = {}): Promise<TableAppender> {
    // A statement on the streaming session would end its open stream early, silently.
    const connection = options.whileStreaming ? (this.appendConnection ??= await this.instance.connect()) : this.connection;
    const appender = await connection.createAppender(table);
    let types: DuckDBType[] | undefined;
    let open = true;
    return {
      append: (columns, count) => {
        const rows = count ?? columns[0]?.values.length ?? 0;
        types ??= columns.map((c) => (c.type === 'bigint' ? BIGINT : c.type === 'double' ? DOUBLE : c.type === 'list' ? LIST(LIST_ELEMENT[c.element]) : VARCHAR));
        for (let start = 0; start < rows; start += 2048) appender.appendDataChunk(dataChunk(types, columns, start, Math.min(2048, rows - start)));
      },
      close: async () => {
        if (!open) return;
        open = false;
        try {
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
      },
    };
  }

  interrupt(): void {
    this.interrupts++;
    this.connection.interrupt();
    for (const connection of this.streamConnections) connection.interrupt();
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
  /**
   * The most memory DuckDB may use, as DuckDB writes it (`"4GB"`, `"512MiB"`); default half of
   * the machine's RAM (DuckDB's own default, 80%, leaves too little for Node and other processes).
   */
  readonly memoryLimit?: string;
  /** Where DuckDB spills what does not fit in `memoryLimit` (created if missing); default DuckDB's `.tmp`. */
  readonly tempDirectory?: string;
  /** A sandbox for untrusted SQL: see {@link EngineSandbox}. */
  readonly sandbox?: EngineSandbox;
}

/** The default DuckDB memory limit: this fraction of the machine's RAM. */
export const DEFAULT_MEMORY_FRACTION = 0.5;

/**
 * An in-memory DuckDB with the session in UTC, so naive timestamps mean UTC everywhere. Its
 * memory is bounded (`memoryLimit`); larger work spills to `tempDirectory`.
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
  const memoryLimit = config.memoryLimit ?? `${Math.floor((totalmem() * DEFAULT_MEMORY_FRACTION) / 2 ** 20)}MiB`;
  await engine.run(`SET memory_limit = ${literal(memoryLimit)}`).catch(async (error: unknown) => {
    await engine.close();
    throw new ConfigError('CONFIG_INVALID', `DuckDB memory limit "${memoryLimit}" (SLUICE_MEMORY_LIMIT) is not valid; write a size such as "4GB" or "512MiB"`, { cause: error });
  });
  if (config.tempDirectory !== undefined) {
    mkdirSync(config.tempDirectory, { recursive: true });
    await engine.run(`SET temp_directory = ${literal(config.tempDirectory)}`);
  }
  if (config.sandbox !== undefined) {
    // Readers are given each path glob-escaped (`readPath`): DuckDB checks that name, so it is allowed beside the path itself.
    const allowed = [...new Set(config.sandbox.allowedPaths.flatMap((path) => [path, globEscaped(path)]))];
    await engine.run(`SET allowed_paths = ${literalList(allowed)}; SET autoinstall_known_extensions = false; SET autoload_known_extensions = false; SET enable_external_access = false; SET lock_configuration = true`);
  }
  return engine;
}
