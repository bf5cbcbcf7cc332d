import { CDC_OP, type Project, type Source } from '../definitions/index.js';
import { jsonColumnsSql } from '../ingest/load-raw.js';
import { sourceCompositeKeys, sourceKeys } from '../ingest/source-keys.js';
import { parsedValueSql, rejectReasonSql } from '../ingest/validate-sql.js';
import type { EventColumn, TextColumn } from '../processing/aggregations/index.js';
import { ident, literal, type SqlEngine } from '../storage/engine/sql-engine.js';
import type { RejectedEvent } from '../storage/log/event-log.js';
import { formatDuration, toIso } from '../time/index.js';

/**
 * A batch of a source's events, validated and decoded for the online state: per accepted event
 * (in batch order) its event time and every schema column in the layout accumulators read
 * (numbers, booleans and timestamps as float64 with NaN null, text dictionary-coded, int64 as
 * two float64 halves), and the join key columns as canonical text (int64 in decimal).
 */
export interface DecodedEvents {
  /** Index in the batch of each accepted event. */
  readonly lines: readonly number[];
  /** The accepted events' JSON texts (as DuckDB re-serializes a pushed event: digits kept). */
  readonly raws: readonly string[];
  readonly ts: Float64Array;
  readonly columns: ReadonlyMap<string, EventColumn>;
  readonly keyText: ReadonlyMap<string, readonly (string | null)[]>;
  /** The accepted events' ids (text), when the source declares `eventId`. */
  readonly ids?: readonly string[];
  readonly rejected: readonly RejectedEvent[];
}

const LINES = 'stream_lines';
const CHECKED = 'stream_checked';

/** Why a streamed event is refused for its time: `late` or `future` against the acknowledgement time. */
function timelinessSql(source: Source, ackTime: number, streamed: boolean): string {
  const ts = parsedValueSql(source.timestamp, 'timestamp');
  const checks: string[] = [];
  if (streamed && source.allowedLatenessMs !== undefined) {
    const limit = ackTime - source.allowedLatenessMs;
    checks.push(`WHEN ${ts} < ${limit} THEN ${literal(`late: event time `)} || strftime(make_timestamp(${ts} * 1000), '%Y-%m-%dT%H:%M:%S.%gZ') || ${literal(` is more than the allowed lateness (${formatDuration(source.allowedLatenessMs)}) before its acknowledgement at ${toIso(ackTime)}`)}`);
  }
  if (streamed && source.maxClockSkewMs !== undefined) {
    const limit = ackTime + source.maxClockSkewMs;
    checks.push(`WHEN ${ts} > ${limit} THEN ${literal(`future: event time `)} || strftime(make_timestamp(${ts} * 1000), '%Y-%m-%dT%H:%M:%S.%gZ') || ${literal(` is more than the maximum clock skew (${formatDuration(source.maxClockSkewMs)}) after its acknowledgement at ${toIso(ackTime)}`)}`);
  }
  if (source.kind === 'cdc') checks.push(`WHEN ${ident(CDC_OP)} IS NULL OR ${ident(CDC_OP)} NOT IN ('insert', 'update', 'delete', 'snapshot') THEN ${literal(`column "${CDC_OP}": must be insert, update, delete or snapshot`)}`);
  return checks.length === 0 ? 'NULL' : `CASE ${checks.join(' ')} END`;
}

/** A schema column as the float64 layout (or text) that the event buffers hold. */
function bufferValueSql(column: string, type: string): string[] {
  const v = parsedValueSql(column, type as never);
  switch (type) {
    case 'string':
      return [`${ident(column)}`];
    case 'timestamp':
      return [`${v}::DOUBLE`];
    case 'bool':
      return [`${v}::INTEGER::DOUBLE`];
    case 'int64':
      return [`${v}::DOUBLE`, `(${v}::HUGEINT - ${v}::DOUBLE::HUGEINT)::DOUBLE`];
    default:
      return [`${v}::DOUBLE`];
  }
}

/** One batch handed in: event texts (a connector), or a push request body `{"events": [...]}`. */
export type EventPart = { readonly texts: readonly string[] } | { readonly body: string };

/** Where decoded line `line` came from: part `line / PART` and index `line % PART` in it. */
export const PART = 2 ** 32;

/**
 * Validates batches of events for a source, set-based in DuckDB with the same rules as file
 * ingest (`rejectReasonSql`), plus, for streamed events, lateness and clock skew against
 * `ackTime`. Push bodies are read by DuckDB's JSON reader, so numbers keep every digit. Returns
 * the accepted events decoded and the rejected ones with reasons, their `lines` (and rejected
 * `index`) numbered `part * PART + index`, and per part its event count, or the reason its
 * body is not `{"events": [...]}` (none of its events is read then). The engine must not be
 * used by anything else meanwhile (it uses fixed temporary tables).
 */
export async function decodeEvents(engine: SqlEngine, project: Project, source: Source, parts: readonly EventPart[], ackTime: number, streamed = true): Promise<DecodedEvents & { readonly counts: readonly (number | string)[] }> {
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${LINES} (_line DOUBLE, _raw VARCHAR, _problem VARCHAR)`);
  const counts: (number | string)[] = parts.map((part) => ('texts' in part ? part.texts.length : 0));
  const texts = parts.flatMap((part, p) => ('texts' in part ? part.texts.map((_, i) => p * PART + i) : []));
  if (texts.length > 0) {
    await engine.appendColumns(LINES, [
      { type: 'double', values: Float64Array.from(texts) },
      { type: 'text', values: parts.flatMap((part) => ('texts' in part ? part.texts : [])) },
      { type: 'text', values: texts.map(() => null) },
    ]);
  }
  const bodies = parts.flatMap((part, p) => ('body' in part ? [p] : []));
  if (bodies.length > 0) {
    await engine.run(`CREATE OR REPLACE TEMP TABLE stream_bodies (p DOUBLE, b VARCHAR)`);
    await engine.appendColumns('stream_bodies', [
      { type: 'double', values: Float64Array.from(bodies) },
      { type: 'text', values: bodies.map((p) => (parts[p] as { body: string }).body) },
    ]);
    await engine.run(`CREATE OR REPLACE TEMP TABLE stream_shapes AS SELECT p, b, coalesce(CASE WHEN json_valid(b) THEN json_type(b) = 'OBJECT' AND json_type(b, '$.events') = 'ARRAY' END, false) AS ok FROM stream_bodies`);
    for (const { p, ok, n } of await engine.all<{ p: number; ok: boolean; n: number | null }>(`SELECT p, ok, CASE WHEN ok THEN json_array_length(b, '$.events') END::INTEGER AS n FROM stream_shapes`)) {
      counts[p] = ok ? (n ?? 0) : `the body must be a JSON object {"events": [{...}, ...]} of events of source "${source.name}"`;
    }
    await engine.run(`INSERT INTO ${LINES} SELECT p * ${PART} + unnest(range(json_array_length(b, '$.events')::BIGINT)), unnest(json_extract(b, '$.events[*]'))::VARCHAR, NULL FROM (SELECT p, CASE WHEN ok THEN b ELSE '{"events": []}' END AS b FROM stream_shapes)`);
    await engine.run('DROP TABLE stream_bodies; DROP TABLE stream_shapes');
  }
  return { ...(await decodeLines(engine, project, source, ackTime, streamed)), counts };
}

type ColumnValues = { dict: string[]; index: Map<string, number>; codes: number[] } | { hi: number[]; lo: number[] } | { nums: number[] };

async function decodeLines(engine: SqlEngine, project: Project, source: Source, ackTime: number, streamed: boolean): Promise<DecodedEvents> {
  const schema = Object.entries(source.schema);
  const keys = sourceKeys(project, source.name);
  const basic = rejectReasonSql(source, keys, sourceCompositeKeys(project, source.name));
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${CHECKED} AS SELECT *, coalesce(nullif(${basic}, ''), ${timelinessSql(source, ackTime, streamed)}, '') AS _reason FROM (${jsonColumnsSql(schema.map(([c]) => c), LINES)})`);
  const rejected = await engine.all<{ index: number; raw: string; reason: string }>(`SELECT _line AS index, _raw AS raw, _reason AS reason FROM ${CHECKED} WHERE _reason <> '' ORDER BY _line`);
  // Every column that can be a join key, so tables of an earlier definition find theirs too.
  const keyColumns = schema.flatMap(([c, type]) => (type === 'string' || type === 'int64' ? [c] : []));
  const select = [
    '_line::DOUBLE',
    '_raw',
    `${parsedValueSql(source.timestamp, 'timestamp')}::DOUBLE`,
    source.eventId === undefined ? 'NULL' : `CAST(${parsedValueSql(source.eventId, source.schema[source.eventId]!)} AS VARCHAR)`,
    ...keyColumns.map((k) => `CAST(${parsedValueSql(k, source.schema[k]!)} AS VARCHAR)`),
    ...schema.flatMap(([c, type]) => bufferValueSql(c, type)),
  ];
  const out = {
    lines: [] as number[], raws: [] as string[], ts: [] as number[], ids: [] as string[],
    keys: keyColumns.map(() => [] as (string | null)[]),
    values: schema.map(([, type]): ColumnValues => (type === 'string' ? { dict: [], index: new Map(), codes: [] } : type === 'int64' ? { hi: [], lo: [] } : { nums: [] })),
  };
  for await (const chunk of engine.streamChunks(`SELECT ${select.join(', ')} FROM ${CHECKED} WHERE _reason = '' ORDER BY _line`)) {
    const cols = Array.from({ length: select.length }, (_, c) => chunk.column(c));
    for (let r = 0; r < chunk.rowCount; r++) {
      out.lines.push(cols[0]!.get(r) as number);
      out.raws.push(cols[1]!.get(r) as string);
      out.ts.push(cols[2]!.get(r) as number);
      if (source.eventId !== undefined) out.ids.push(cols[3]!.get(r) as string);
      keyColumns.forEach((_, k) => out.keys[k]!.push(cols[4 + k]!.get(r) as string | null));
      let at = 4 + keyColumns.length;
      for (const target of out.values) {
        if ('dict' in target) {
          const v = cols[at++]!.get(r) as string | null;
          let code = -1;
          if (v !== null) {
            code = target.index.get(v) ?? -1;
            if (code < 0) target.index.set(v, (code = target.dict.push(v) - 1));
          }
          target.codes.push(code);
        } else if ('hi' in target) {
          target.hi.push((cols[at++]!.get(r) as number | null) ?? NaN);
          target.lo.push((cols[at++]!.get(r) as number | null) ?? 0);
        } else target.nums.push((cols[at++]!.get(r) as number | null) ?? NaN);
      }
    }
  }
  const columns = new Map<string, EventColumn>();
  schema.forEach(([c], i) => {
    const v = out.values[i]!;
    if ('dict' in v) columns.set(c, { dict: v.dict, codes: Int32Array.from(v.codes) } satisfies TextColumn);
    else if ('hi' in v) columns.set(c, { hi: Float64Array.from(v.hi), lo: v.lo.some((x) => x !== 0) ? Float64Array.from(v.lo) : null });
    else columns.set(c, Float64Array.from(v.nums));
  });
  return {
    lines: out.lines,
    raws: out.raws,
    ts: Float64Array.from(out.ts),
    columns,
    keyText: new Map(keyColumns.map((k, i) => [k, out.keys[i]!])),
    ...(source.eventId === undefined ? {} : { ids: out.ids }),
    rejected,
  };
}
