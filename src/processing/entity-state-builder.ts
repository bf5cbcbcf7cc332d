import type { ColumnType } from '../definitions/index.js';
import type { BaseAggregate, EntityState, EventColumn } from './entity-state.js';

/**
 * Builds one entity's columnar state from events streamed in (ts, seq) order: text columns are
 * dictionary-coded, others go to Float64Array with NaN for null. Reused across entities.
 */
export class EntityStateBuilder {
  private ts: number[] = [];
  private readonly values: unknown[][];

  constructor(private readonly types: readonly ColumnType[]) {
    this.values = types.map(() => []);
  }

  /** Adds the event at `row` of a result chunk, whose `columns` are in `types` order. */
  add(ts: number, columns: readonly { get(row: number): unknown }[], row: number): void {
    this.ts.push(ts);
    for (let c = 0; c < this.values.length; c++) this.values[c]!.push(columns[c]!.get(row));
  }

  finish(horizon: number, base: readonly (BaseAggregate | null)[]): EntityState {
    const columns: EventColumn[] = this.types.map((type, c) => {
      const values = this.values[c]!;
      if (type === 'string') {
        const dict: string[] = [];
        const index = new Map<string, number>();
        const codes = new Int32Array(values.length);
        for (let i = 0; i < values.length; i++) {
          const v = values[i] as string | null;
          if (v === null || v === undefined) codes[i] = -1;
          else {
            let code = index.get(v);
            if (code === undefined) index.set(v, (code = dict.push(v) - 1));
            codes[i] = code;
          }
        }
        return { dict, codes };
      }
      const out = new Float64Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        out[i] = v === null || v === undefined ? NaN : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
      }
      return out;
    });
    const state: EntityState = { horizon, base, ts: Float64Array.from(this.ts), columns };
    this.ts = [];
    for (const column of this.values) column.length = 0;
    return state;
  }
}
