import { listShape } from '../definitions/index.js';
import { ELEMENT_SQL } from '../ingest/list-values-sql.js';
import type { ListValue, Scalar } from './aggregations/index.js';
import type { PlannedFeature } from './feature-plan.js';

// How a point-in-time sweep's results are laid out: the raw columns of its result table, the
// chunks of points it fills, and the SQL that reads each feature's value back typed.

// Results are handed to the appender this many points at a time.
export const CHUNK = 4096;

/** How a feature's values are held in the result table, and the SQL that reads them typed. */
export interface OutputColumn {
  readonly planned: PlannedFeature;
  /** Raw columns written: one DOUBLE, VARCHAR or list, or two DOUBLEs (int64 hi, lo). */
  readonly raw: readonly string[];
  readonly text: boolean;
  readonly int64: boolean;
  /** Vectors and lists: the SQL type of their elements (the column is a list of it). */
  readonly list: 'FLOAT' | 'DOUBLE' | 'BIGINT' | 'VARCHAR' | undefined;
}

export function outputColumns(planned: readonly PlannedFeature[]): OutputColumn[] {
  return planned.map((p, i) => {
    const type = p.feature.valueType;
    const int64 = type === 'int64' && p.feature.fn !== 'count' && p.feature.fn !== 'countDistinct';
    const shape = listShape(type);
    const list = shape === undefined ? undefined : (ELEMENT_SQL[shape.element] as OutputColumn['list']);
    return { planned: p, raw: int64 ? [`_f${i}`, `_f${i}_lo`] : [`_f${i}`], text: type === 'string', int64, list };
  });
}

export function rawSqlType(column: OutputColumn): string {
  return column.list !== undefined ? `${column.list}[]` : column.text ? 'VARCHAR' : 'DOUBLE';
}

type OutputValues = Float64Array | (string | null)[] | (ListValue | null)[];

/** The SQL expression (over the result table aliased `alias`) of a feature's typed value. */
export function typedSql(column: OutputColumn, alias: string): string {
  const [v, lo] = column.raw.map((r) => `${alias}.${r}`);
  switch (column.planned.feature.valueType) {
    case 'timestamp':
      return `epoch_ms(${v}::BIGINT)`;
    case 'bool':
      return `${v}::BOOLEAN`;
    case 'int64':
      return column.int64 ? `(${v}::HUGEINT + ${lo}::HUGEINT)::BIGINT` : `${v}::BIGINT`;
    default:
      return v!;
  }
}

/** Result columns of one chunk of points. */
export class OutputChunk {
  readonly pid = new Float64Array(CHUNK);
  readonly columns: OutputValues[];
  rows = 0;
  constructor(private readonly layout: readonly OutputColumn[]) {
    this.columns = layout.flatMap((c): OutputValues[] => (c.text || c.list !== undefined ? [new Array<null>(CHUNK)] : c.raw.map(() => new Float64Array(CHUNK))));
  }
  write(pid: number, values: readonly Scalar[]): void {
    const r = this.rows++;
    this.pid[r] = pid;
    let at = 0;
    for (let f = 0; f < this.layout.length; f++) {
      const v = values[f]!;
      const column = this.layout[f]!;
      if (column.text) (this.columns[at++] as (string | null)[])[r] = v as string | null;
      else if (column.list !== undefined) (this.columns[at++] as (ListValue | null)[])[r] = v as ListValue | null;
      else if (column.int64) {
        const hi = v === null ? NaN : Number(v);
        (this.columns[at++] as Float64Array)[r] = hi;
        (this.columns[at++] as Float64Array)[r] = typeof v === 'bigint' ? Number(v - BigInt(hi)) : 0;
      } else (this.columns[at++] as Float64Array)[r] = v === null ? NaN : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
    }
  }
}
