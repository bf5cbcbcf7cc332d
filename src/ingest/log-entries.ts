import type { Source } from '../definitions/index.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import type { LogEntry } from '../storage/log/event-log.js';
import { jsonColumnsSql, listColumns } from './load-raw.js';
import { typedColumnsSql } from './validate-sql.js';

/**
 * Loads the events of durable-log entries into `table` with the lake's columns (the schema's
 * columns typed, `_ts`, `_seq` from `firstSeq` in log order, and `_known_at`: each entry's
 * acknowledgement time), parsed by the same rules as file ingest. Their events were validated
 * when they were acknowledged, and are read as they were accepted (`jsonColumnsSql`'s `accepted`). With `append`, adds them to the table an earlier call made.
 * Returns the number of rows.
 *
 * @example
 * await loadLogEntries(engine, source, log.read('payments', 0, 100), 'log_events', firstSeq);
 */
export async function loadLogEntries(engine: SqlEngine, source: Source, entries: readonly LogEntry[], table: string, firstSeq: number, append = false): Promise<number> {
  const rows = entries.reduce((n, e) => n + e.events.length, 0);
  await engine.run(`CREATE OR REPLACE TEMP TABLE log_lines (_line DOUBLE, _raw VARCHAR, _problem VARCHAR, _ack DOUBLE)`);
  await engine.appendColumns('log_lines', [
    { type: 'double', values: Float64Array.from({ length: rows }, (_, i) => i) },
    { type: 'text', values: entries.flatMap((e) => e.events) },
    { type: 'text', values: new Array<null>(rows).fill(null) },
    { type: 'double', values: Float64Array.from(entries.flatMap((e) => e.events.map(() => e.ackTime))) },
  ]);
  const parsed = `SELECT j.*, j._line AS _n, c._ack FROM (${jsonColumnsSql(Object.keys(source.schema), 'log_lines', listColumns(source), true)}) j JOIN log_lines c USING (_line)`;
  const rowsSql = `SELECT ${typedColumnsSql(source, firstSeq, { mode: 'sql', sql: '_ack' })} FROM (${parsed})`;
  await engine.run(append ? `INSERT INTO ${table} ${rowsSql}` : `CREATE OR REPLACE TEMP TABLE ${table} AS ${rowsSql}`);
  await engine.run('DROP TABLE log_lines');
  return rows;
}
