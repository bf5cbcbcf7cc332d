import type { ScalarType, RequestFeatureFunction, RequestSelection, ViewSelection } from '../../definitions/index.js';
import { aColumnType, featureColumn } from '../../definitions/index.js';
import { ValidationError } from '../../errors.js';
import { userErrorReason } from '../../compliance/masking/user-error-token.js';
import type { Scalar } from '../../processing/entity-state.js';
import { callRequestFeature, inputBuilder, inputLayout, int64Scalar, requestValueSql, type RequestOutcome, type SpineCells } from '../../processing/request-features.js';
import { ident, type AppendColumn, type SqlEngine } from '../../storage/engine/sql-engine.js';
import { withSortedStreamEnd } from '../../storage/engine/stream-end.js';
import { SPINE_KEY, SPINE_ROW, SPINE_T } from './load-spine-sql.js';
import { spineTimestampSql } from './spine-timestamp-sql.js';

const CHUNK = 2048;

/**
 * A spine's request column (of table alias `s`, of SQL type `sqlType` as the spine's reader gives
 * it, its cells `cells`) read as a request view's function receives it (see `requestValue`); NULL
 * when it is not one. A timestamp by the rule of every timestamp cell of a spine (`spineTimestampSql`), in ms as a request sends it.
 */
export const requestFieldSql = (column: string, type: ScalarType, sqlType: string, cells: SpineCells): string =>
  type === 'timestamp' ? spineTimestampSql(`s.${ident(column)}`, sqlType, 'ms') : requestValueSql(`s.${ident(column)}`, type, sqlType, cells);

/** An input feature's typed SQL as the function receives it: timestamps as epoch ms. */
const inputSql = (typed: string, type: string) => (type === 'timestamp' ? `epoch_ms(${typed})` : typed);

/** How a result column is appended (bool 1/0 and timestamps as doubles, int64 as exact decimal text), and read back typed. */
function resultColumn(type: ScalarType): { append: 'double' | 'text'; typed: (raw: string) => string } {
  switch (type) {
    case 'float64':
      return { append: 'double', typed: (raw) => raw };
    case 'bool':
      return { append: 'double', typed: (raw) => `${raw}::BOOLEAN` };
    case 'timestamp':
      return { append: 'double', typed: (raw) => `epoch_ms(${raw}::BIGINT)` };
    case 'int64':
      return { append: 'text', typed: (raw) => `${raw}::BIGINT` };
    case 'string':
      return { append: 'text', typed: (raw) => raw };
  }
}

export interface RequestViewColumns {
  /** Per output column of a request feature, the SQL of its typed value over the result table aliased `alias`. */
  readonly selects: ReadonlyMap<string, string>;
  /** Per output column, how many rows' functions threw or returned the wrong type (their value is null), and the first reason. */
  readonly errors: Readonly<Record<string, { readonly rows: number; readonly first: string }>>;
}

/**
 * Computes the request views' features of every spine row into table `out(_row, ...)`: reads the
 * spine's request columns and the input views' point-in-time values (tables `pit_<i>` aliased
 * `v<i>`, whose typed SQL is `typed[i]`) in chunks, ordered by spine row, calls each function per
 * row in JavaScript (the same calls as serving, see `callRequestFeature`) and appends the results
 * chunk by chunk: no SQL round trip per row. A spine row without a valid request value is refused,
 * naming the row and the column.
 */
export async function computeRequestViewColumns(engine: SqlEngine, requests: readonly RequestSelection[], functions: readonly (readonly RequestFeatureFunction[])[], byView: readonly ViewSelection[], typed: readonly (readonly string[])[], out: string, alias: string, secret: () => Buffer, cells: SpineCells): Promise<RequestViewColumns> {
  const views = [...new Set(requests.flatMap((r) => r.inputs))];
  const spineTypes = new Map((await engine.all<{ column_name: string; column_type: string }>('DESCRIBE spine')).map((d) => [d.column_name, d.column_type]));
  const reads: string[] = [];
  const plans = requests.map((selection) => {
    const fields = Object.entries(selection.view.request);
    const fieldAt = reads.length;
    for (const [field, type] of fields) reads.push(requestFieldSql(field, type as ScalarType, spineTypes.get(field)!, cells));
    const inputFeatures = selection.inputs.map((v) => byView[v]!.view.features.map((f) => f.name));
    selection.inputs.forEach((v) => {
      const { view, features } = byView[v]!;
      for (const feature of view.features) reads.push(inputSql(typed[v]![features.indexOf(feature)]!, feature.valueType));
    });
    const layout = inputLayout(selection.view, inputFeatures);
    const fns = functions[requests.indexOf(selection)]!;
    return { selection, fields, fieldAt, width: layout.length, build: inputBuilder(layout), fns };
  });
  const results = requests.flatMap((r) => r.features.map((f) => ({ column: featureColumn({ view: r.view.name, feature: f.name }), ...resultColumn(f.valueType as ScalarType) })));
  await engine.run(`CREATE OR REPLACE TABLE ${out} (_row DOUBLE${results.map((r, i) => `, _r${i} ${r.append === 'double' ? 'DOUBLE' : 'VARCHAR'}`).join('')})`);
  const sql = withSortedStreamEnd(
    `SELECT s.${SPINE_ROW}::DOUBLE AS _row${reads.map((r, i) => `, ${r} AS _i${i}`).join('')} FROM spine s JOIN spine_points p ON p._key = s.${SPINE_KEY} AND p._t = s.${SPINE_T} ` +
    `${views.map((v) => `LEFT JOIN pit_${v} v${v} ON v${v}._pid = p._pid`).join(' ')}`,
    '_row',
    "'Infinity'::DOUBLE AS _row",
  );

  const errors: Record<string, { rows: number; first: string }> = {};
  const outcome: RequestOutcome = { value: null, error: undefined, thrown: undefined };
  const rowIds = new Float64Array(CHUNK);
  const buffers = results.map((r) => (r.append === 'double' ? new Float64Array(CHUNK) : new Array<string | null>(CHUNK)));
  const scratch = plans.map((p) => new Array<Scalar>(p.width));
  let rows = 0;
  // One appender for the whole table: one commit at its end, not one per chunk of rows.
  const appender = await engine.openAppender(out, { whileStreaming: true });
  const flush = () => {
    if (rows === 0) return;
    const columns = [rowIds, ...buffers].map((values): AppendColumn => (values instanceof Float64Array ? { type: 'double', values } : { type: 'text', values }));
    appender.append(columns, rows);
    rows = 0;
  };
  try {
    for await (const chunk of engine.streamChunks(sql, { carriesEndMarker: true })) {
      const columns = Array.from({ length: reads.length + 1 }, (_, c) => chunk.column(c));
      for (let r = 0; r < chunk.rowCount; r++) {
        const row = columns[0]!.get(r) as number;
        rowIds[rows] = row;
        let at = 0;
        for (const [p, plan] of plans.entries()) {
          const values = scratch[p]!;
          for (let i = 0; i < plan.width; i++) {
            const raw = columns[1 + plan.fieldAt + i]!.get(r);
            if (i < plan.fields.length && raw === null) {
              const [field, type] = plan.fields[i]!;
              throw new ValidationError('VALIDATION_FAILED', `spine row ${row}: request field "${field}" (of request view "${plan.selection.view.name}") is missing or not ${aColumnType(type)}; every spine row needs a value`);
            }
            values[i] = typeof raw === 'bigint' ? int64Scalar(raw) : (raw as Scalar);
          }
          const input = plan.build(values);
          for (let f = 0; f < plan.selection.features.length; f++, at++) {
            const feature = plan.selection.features[f]!;
            callRequestFeature(plan.fns[plan.selection.view.features.indexOf(feature)]!, input, feature.valueType, outcome);
            if (outcome.error !== undefined) {
              const entry = (errors[results[at]!.column] ??= { rows: 0, first: `spine row ${row}: ${userErrorReason(outcome.error, outcome.thrown, secret)}` });
              entry.rows++;
            }
            const buffer = buffers[at]!;
            const v = outcome.value;
            if (buffer instanceof Float64Array) buffer[rows] = v === null ? NaN : typeof v === 'boolean' ? (v ? 1 : 0) : (v as number);
            else buffer[rows] = v === null ? null : String(v);
          }
        }
        if (++rows === CHUNK) flush();
      }
    }
    flush();
  } finally {
    await appender.close();
  }
  return { selects: new Map(results.map((r, i) => [r.column, r.typed(`${alias}._r${i}`)])), errors };
}
