import type { Source } from '../definitions/index.js';
import { parsedValueSql } from '../ingest/validate-sql.js';
import { literal, type SqlEngine } from '../storage/engine/sql-engine.js';
import { ERASED_REASON } from '../compliance/erasure/erased-rows.js';

/** The `_reason` of an event marked a duplicate by {@link markRequestDuplicates}: neither accepted nor rejected. */
export const DUPLICATE_REASON = '_sluice_duplicate';

/**
 * Marks the events of a streamed group's requests that its checks must not judge, for a source
 * with an `eventId` whose checks judge a request's events together: in `table` (validated rows:
 * `_line`, `_reason` and the schema's text columns; request `p`'s events have `_line` in
 * `[p * span, (p + 1) * span)`), an accepted event whose id repeats an earlier accepted one of
 * its request, or that the log remembers (`remembered`: indices of the ids it would find
 * duplicates), gets `_reason = DUPLICATE_REASON`. Across requests of a group, the log's append
 * decides, as it would for separate groups. See "Streams and pushes" in docs/quality.md.
 *
 * @example
 * await markRequestDuplicates(engine, source, 'stream_checked', PART, (ids) => log.remembered(source.name, ids, ackTime));
 */
export async function markRequestDuplicates(engine: SqlEngine, source: Source, table: string, span: number, remembered: (ids: readonly string[]) => readonly number[]): Promise<void> {
  if (source.eventId === undefined) return;
  const id = `CAST(${parsedValueSql(source.eventId, source.schema[source.eventId]!)} AS VARCHAR)`;
  const lines: number[] = [];
  const first: number[] = [];
  const ids: string[] = [];
  const seen = new Set<string>();
  for await (const chunk of engine.streamChunks(`SELECT _line, ${id} FROM ${table} WHERE _reason = '' ORDER BY _line`)) {
    const [line, text] = [chunk.column(0), chunk.column(1)];
    for (let r = 0; r < chunk.rowCount; r++) {
      const at = line.get(r) as number;
      const value = text.get(r) as string;
      const key = `${Math.floor(at / span)}\u0000${value}`;
      if (seen.has(key)) lines.push(at);
      else {
        seen.add(key);
        first.push(at);
        ids.push(value);
      }
    }
  }
  for (const i of remembered(ids)) lines.push(first[i]!);
  if (lines.length === 0) return;
  await engine.run('CREATE OR REPLACE TEMP TABLE stream_duplicates (_line DOUBLE)');
  await engine.appendColumns('stream_duplicates', [{ type: 'double', values: Float64Array.from(lines) }]);
  await engine.run(`UPDATE ${table} SET _reason = ${literal(DUPLICATE_REASON)} WHERE _line IN (SELECT _line FROM stream_duplicates); DROP TABLE stream_duplicates`);
}

/**
 * Splits a streamed group's refused events (`index` is the line, `span` as above) of a source
 * with an `eventId` into the rejected ones and the lines of duplicates: those marked by
 * {@link markRequestDuplicates}, and a refused event whose text repeats an earlier refused one
 * of its request (the log dead-letters a text once, so the copy is a duplicate of it, not a
 * second rejection without its dead letter). An erased subject's events are never duplicates
 * (their texts are replaced by the subject's hash, so distinct events share one).
 */
export function splitRefused<T extends { readonly index: number; readonly raw: string; readonly reason: string }>(source: Source, refused: readonly T[], span: number): { readonly rejected: readonly T[]; readonly duplicates: readonly number[] } {
  if (source.eventId === undefined) return { rejected: refused, duplicates: [] };
  const rejected: T[] = [];
  const duplicates: number[] = [];
  const seen = new Set<string>();
  for (const r of refused) {
    const key = `${Math.floor(r.index / span)}\u0000${r.raw}`;
    if (r.reason === DUPLICATE_REASON || (r.reason !== ERASED_REASON && seen.has(key))) duplicates.push(r.index);
    else {
      if (r.reason !== ERASED_REASON) seen.add(key);
      rejected.push(r);
    }
  }
  return { rejected, duplicates };
}
