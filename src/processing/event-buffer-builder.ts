import type { EventBuffer, EventColumn, Int64Column, TextColumn, ColumnKind, ListColumn, ListValue } from './aggregations/index.js';

/** A value reader over one column of a result chunk. */
export interface ChunkColumn {
  get(row: number): unknown;
}

/** A chunk column as `append` reads it: a reader, or (a number column without NULL, NaN for null) its values as one array. */
export type ChunkValues = ChunkColumn | Float64Array;

function numberAt(values: ChunkValues, row: number): number | null {
  return values instanceof Float64Array ? values[row]! : (values.get(row) as number | null);
}

interface TextBuilder {
  dict: string[];
  index: Map<string, number>;
}

/**
 * One entity's events, columnar, growing as rows stream in from the engine in (ts, ingestion)
 * order: numbers and booleans as Float64Array (NaN null), text dictionary-coded, int64 as two
 * float64 halves, vectors and lists as arrays (a chunk gives them as arrays, see `ColumnChunk`). `buffer` is what accumulators read; its arrays are replaced as they grow.
 * Reused across entities (`reset`).
 */
export class EventBufferBuilder {
  readonly buffer: EventBuffer = { ts: new Float64Array(64), columns: [] };
  length = 0;
  private readonly text: (TextBuilder | undefined)[];

  constructor(private readonly kinds: readonly ColumnKind[]) {
    this.text = kinds.map((k) => (k === 'text' ? { dict: [], index: new Map() } : undefined));
    this.buffer.columns = kinds.map((k, c) => this.column(k, c, 64));
  }

  reset(): void {
    this.length = 0;
    for (const t of this.text) {
      if (!t) continue;
      t.dict.length = 0;
      t.index.clear();
    }
  }

  /**
   * Appends the event at `row` of a chunk: `chunk[0]` is its ts, then per column its value (int64
   * columns take two chunk columns, hi then lo). Number columns may be given as arrays (`ChunkValues`).
   * Returns its index.
   */
  append(ts: number, values: readonly ChunkValues[], first: number, row: number): number {
    const i = this.length;
    if (i === this.buffer.ts.length) this.grow();
    this.buffer.ts[i] = ts;
    let at = first;
    for (let c = 0; c < this.kinds.length; c++) {
      const kind = this.kinds[c]!;
      const column = this.buffer.columns[c]!;
      if (kind === 'text') {
        const v = (values[at++] as ChunkColumn).get(row) as string | null;
        const t = this.text[c]!;
        let code = -1;
        if (v !== null) {
          code = t.index.get(v) ?? -1;
          if (code < 0) t.index.set(v, (code = t.dict.push(v) - 1));
        }
        (column as TextColumn).codes[i] = code;
      } else if (kind === 'list') {
        (column as ListColumn).lists[i] = (values[at++] as ChunkColumn).get(row) as ListValue | null;
      } else if (kind === 'int64') {
        const hi = numberAt(values[at++]!, row);
        const lo = numberAt(values[at++]!, row);
        (column as Int64Column).hi[i] = hi ?? NaN;
        (column as Int64Column).lo![i] = lo ?? 0;
      } else {
        (column as Float64Array)[i] = numberAt(values[at++]!, row) ?? NaN;
      }
    }
    this.length = i + 1;
    return i;
  }

  /** A compact copy of events `[from, length)`: what the online store keeps. */
  slice(from: number): { ts: Float64Array; columns: EventColumn[] } {
    const to = this.length;
    const columns = this.buffer.columns.map((column, c): EventColumn => {
      if (column instanceof Float64Array) return column.slice(from, to);
      if (this.kinds[c] === 'list') return { lists: (column as ListColumn).lists.slice(from, to) };
      if (this.kinds[c] === 'text') {
        const { dict, codes } = column as TextColumn;
        const used = new Map<number, number>();
        const out: string[] = [];
        const recoded = new Int32Array(to - from);
        for (let i = from; i < to; i++) {
          const code = codes[i]!;
          if (code < 0) recoded[i - from] = -1;
          else {
            let next = used.get(code);
            if (next === undefined) used.set(code, (next = out.push(dict[code]!) - 1));
            recoded[i - from] = next;
          }
        }
        return { dict: out, codes: recoded };
      }
      const { hi, lo } = column as Int64Column;
      const rest = lo!.slice(from, to);
      return { hi: hi.slice(from, to), lo: rest.some((v) => v !== 0) ? rest : null };
    });
    return { ts: this.buffer.ts.slice(from, to), columns };
  }

  private column(kind: ColumnKind, c: number, capacity: number): EventColumn {
    if (kind === 'text') return { dict: this.text[c]!.dict, codes: new Int32Array(capacity) };
    if (kind === 'int64') return { hi: new Float64Array(capacity), lo: new Float64Array(capacity) };
    if (kind === 'list') return { lists: new Array<ListValue | null>(capacity).fill(null) };
    return new Float64Array(capacity);
  }

  private grow(): void {
    const capacity = this.buffer.ts.length * 2;
    const ts = new Float64Array(capacity);
    ts.set(this.buffer.ts);
    this.buffer.ts = ts;
    this.buffer.columns = this.buffer.columns.map((old, c) => {
      const next = this.column(this.kinds[c]!, c, capacity);
      if (old instanceof Float64Array) (next as Float64Array).set(old);
      else if (this.kinds[c] === 'list') {
        const lists = (old as ListColumn).lists;
        for (let i = 0; i < lists.length; i++) (next as ListColumn).lists[i] = lists[i]!;
      } else if (this.kinds[c] === 'text') (next as TextColumn).codes.set((old as TextColumn).codes);
      else {
        (next as Int64Column).hi.set((old as Int64Column).hi);
        (next as Int64Column).lo!.set((old as Int64Column).lo!);
      }
      return next;
    });
  }
}
