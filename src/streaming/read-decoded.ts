import { isListType, type FeatureView, type Source } from '../definitions/index.js';
import { parsedValueSql, typedValueSql } from '../ingest/validate-sql.js';
import { rowExpressions } from '../processing/row-transforms.js';
import type { EventColumn, ListValue, TextColumn } from '../processing/aggregations/index.js';
import { ident, type SqlEngine } from '../storage/engine/sql-engine.js';
import { withSortedStreamEnd } from '../storage/engine/stream-end.js';
import type { DecodedEvents } from './decode-events.js';

/**
 * A schema column as the float64 layout (or text) that event buffers hold, from its text
 * (`text`: as read from JSON, parsed by ingest's rules) or its lake type (`lake`).
 */
function bufferValueSql(column: string, type: string, from: 'text' | 'lake'): string[] {
  const v = from === 'text' ? parsedValueSql(column, type as never) : ident(column);
  switch (type) {
    case 'string':
      return [ident(column)];
    case 'timestamp':
      return [from === 'text' ? `${v}::DOUBLE` : `epoch_ms(${v})::DOUBLE`];
    case 'bool':
      return [`${v}::INTEGER::DOUBLE`];
    case 'int64':
      return [`${v}::DOUBLE`, `(${v}::HUGEINT - ${v}::DOUBLE::HUGEINT)::DOUBLE`];
    default:
      return [isListType(type) ? v : `${v}::DOUBLE`];
  }
}

type ColumnValues = { dict: string[]; index: Map<string, number>; codes: number[] } | { hi: number[]; lo: number[] } | { nums: number[] } | { lists: (ListValue | null)[] };

/**
 * Reads a relation of events (`_line`, `_raw` and the schema's columns, as text or as the lake
 * types them) into decoded columns, in `_line` order, without a row object per event. Without
 * `withRaw`, `raws` stays empty (the caller has the texts).
 */
export async function readDecodedEvents(
  engine: SqlEngine, source: Source, relation: string, from: 'text' | 'lake', withRaw = true, views: readonly FeatureView[] = [],
): Promise<Omit<DecodedEvents, 'rejected'>> {
  const expressions = rowExpressions(views);
  if (expressions.length > 0) {
    // Row transforms run over typed rows, as the lake holds them (see row-transforms.ts): text
    // rows are typed first, then everything reads them as lake rows.
    if (from === 'text') {
      const typed = Object.entries(source.schema).map(([c, type]) => `${typedValueSql(c, type)} AS ${ident(c)}`);
      relation = `SELECT _line, _raw, ${parsedValueSql(source.timestamp, 'timestamp')} AS _ts, ${typed.join(', ')} FROM (${relation})`;
      from = 'lake';
    }
    relation = `SELECT *, ${expressions.map((e, i) => `${e.sql} AS _x${i}`).join(', ')} FROM (${relation})`;
  }
  const schema: [string, string][] = [...Object.entries(source.schema), ...expressions.map((e, i): [string, string] => [`_x${i}`, e.type])];
  const typed = (column: string): string => (from === 'text' ? parsedValueSql(column, source.schema[column]!) : ident(column));
  const select = [
    '_line::DOUBLE',
    withRaw ? '_raw' : 'NULL',
    from === 'text' ? `${parsedValueSql(source.timestamp, 'timestamp')}::DOUBLE` : '_ts::DOUBLE',
    source.eventId === undefined ? 'NULL' : `CAST(${typed(source.eventId)} AS VARCHAR)`,
    ...schema.flatMap(([c, type]) => bufferValueSql(c, type, from)),
  ];
  const out = {
    lines: [] as number[], raws: [] as string[], ts: [] as number[], ids: [] as string[],
    values: schema.map(([, type]): ColumnValues => (type === 'string' ? { dict: [], index: new Map(), codes: [] } : type === 'int64' ? { hi: [], lo: [] } : isListType(type) ? { lists: [] } : { nums: [] })),
  };
  // Named columns: the end marker's union matches them by name (`withSortedStreamEnd`).
  const sql = withSortedStreamEnd(`SELECT ${select.map((e, i) => `${e} AS _c${i}`).join(', ')} FROM (${relation})`, '_c0', "'Infinity'::DOUBLE AS _c0");
  for await (const chunk of engine.streamChunks(sql, { carriesEndMarker: true })) {
    const cols = Array.from({ length: select.length }, (_, c) => chunk.column(c));
    for (let r = 0; r < chunk.rowCount; r++) {
      out.lines.push(cols[0]!.get(r) as number);
      if (withRaw) out.raws.push(cols[1]!.get(r) as string);
      out.ts.push(cols[2]!.get(r) as number);
      if (source.eventId !== undefined) out.ids.push(cols[3]!.get(r) as string);
      let at = 4;
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
        } else if ('lists' in target) target.lists.push(cols[at++]!.get(r) as ListValue | null);
        else target.nums.push((cols[at++]!.get(r) as number | null) ?? NaN);
      }
    }
  }
  const columns = new Map<string, EventColumn>();
  const derived = new Map<string, EventColumn>();
  schema.forEach(([c], i) => {
    const v = out.values[i]!;
    const into = i < Object.keys(source.schema).length ? (column: EventColumn) => columns.set(c, column) : (column: EventColumn) => derived.set(expressions[i - Object.keys(source.schema).length]!.sql, column);
    if ('dict' in v) into({ dict: v.dict, codes: Int32Array.from(v.codes) } satisfies TextColumn);
    else if ('hi' in v) into({ hi: Float64Array.from(v.hi), lo: v.lo.some((x) => x !== 0) ? Float64Array.from(v.lo) : null });
    else if ('lists' in v) into({ lists: v.lists });
    else into(Float64Array.from(v.nums));
  });
  return {
    lines: out.lines,
    raws: out.raws,
    ts: Float64Array.from(out.ts),
    columns,
    ...(expressions.length === 0 ? {} : { derived }),
    ...(source.eventId === undefined ? {} : { ids: out.ids }),
  };
}
