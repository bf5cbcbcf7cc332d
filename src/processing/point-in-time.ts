import type { Feature } from '../definitions/index.js';
import type { AppendColumn, ColumnChunk, SqlEngine, TableAppender } from '../storage/engine/sql-engine.js';
import { withSortedStreamEnd } from '../storage/engine/stream-end.js';
import { windowAt, windowReachMs } from '../time/index.js';
import type { Evaluation, ListValue, Scalar } from './aggregations/index.js';
import { AsKnownSweep } from './as-known-sweep.js';
import { EventBufferBuilder, type ChunkColumn, type ChunkValues } from './event-buffer-builder.js';
import { createAccumulators, type ViewPlan } from './feature-plan.js';
import { CHUNK, OutputChunk, outputColumns, rawSqlType, typedSql } from './point-in-time-output.js';
import { bufferColumnNames } from './view-events-sql.js';

/** A chunk's DOUBLE column that has no NULL (a key number, a time, a point id) as an array. */
function numbers(chunk: ColumnChunk, c: number): Float64Array {
  const direct = chunk.doubles?.(c);
  if (direct !== undefined) return direct;
  const column = chunk.column(c);
  const values = new Float64Array(chunk.rowCount);
  for (let r = 0; r < chunk.rowCount; r++) values[r] = column.get(r) as number;
  return values;
}

/**
 * The points of a build sorted once for every view's sweep: entities numbered (`_kid`, table
 * `kids(_key, _lo, _hi, _kid)`), and each point's entity number, time and id in (entity, time)
 * order, 24 bytes per point. Each view's query then sorts only its own events.
 */
export interface SortedPoints {
  /** The table of entity numbers (drop it with `release`). */
  readonly kids: string;
  readonly kid: Float64Array;
  readonly time: Float64Array;
  readonly pid: Float64Array;
  /**
   * With `sortPoints`'s `rows`: how many output rows each point stands for (a dataset's spine
   * rows of one (key, ts) are one point, evaluated once), in the same order; else one each.
   */
  readonly rows?: Float64Array;
  release(): Promise<void>;
}

/** Options of `sortPoints`. */
export interface SortPointsOptions {
  /** Read each point's `_rows` column (how many output rows it stands for) into `SortedPoints.rows`. */
  readonly rows?: boolean;
}

/** The points' end marker row's sort keys: not NULL, which would widen DuckDB's sort keys for every row. */
const POINT_MARKER_KEYS = "'Infinity'::DOUBLE AS _kid, 'Infinity'::DOUBLE AS _t";

/** Numbers the entities of `points(_pid, _key, _t[, _rows])` and reads the points in (entity, time) order. */
export async function sortPoints(engine: SqlEngine, points: string, options: SortPointsOptions = {}): Promise<SortedPoints> {
  const kids = `${points}_kids`;
  // A regular table: the views' sweeps stream on sessions of their own (`startSweep`).
  await engine.run(`CREATE OR REPLACE TABLE ${kids} AS SELECT _key, min(_t) AS _lo, max(_t) AS _hi, row_number() OVER ()::DOUBLE AS _kid FROM ${points} GROUP BY _key`);
  const [{ n }] = (await engine.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM ${points} WHERE _key IS NOT NULL`)) as [{ n: number }];
  const kid = new Float64Array(n);
  const time = new Float64Array(n);
  const pid = new Float64Array(n);
  const rows = options.rows ? new Float64Array(n) : undefined;
  let at = 0;
  const sql = withSortedStreamEnd(`SELECT k._kid, p._t::DOUBLE AS _t, p._pid::DOUBLE AS _pid${rows ? ', p._rows::DOUBLE AS _rows' : ''} FROM ${points} p JOIN ${kids} k ON k._key = p._key`, '_kid, _t', POINT_MARKER_KEYS);
  for await (const chunk of engine.streamChunks(sql, { carriesEndMarker: true })) {
    kid.set(numbers(chunk, 0), at);
    time.set(numbers(chunk, 1), at);
    pid.set(numbers(chunk, 2), at);
    rows?.set(numbers(chunk, 3), at);
    at += chunk.rowCount;
  }
  return { kids, kid, time, pid, ...(rows ? { rows } : {}), release: async () => engine.run(`DROP TABLE IF EXISTS ${kids}`) };
}

/**
 * Computes features of one view at every point of `points(_pid, _key, _t)` in one sweep: DuckDB
 * sorts the view's events in (key, time) order and the sweep merges them with the points (sorted
 * once per build, `sortPoints`), points before events at the same instant (an event at `t` is not
 * visible at `t`); each entity's events enter the accumulators once and leave each window once as
 * its tail (`t - W`, or its hop floor) passes them (windows from `time/`). Linear in events plus
 * points after the sort, whatever the window lengths.
 *
 * With `asKnown`, a point at `t` sees only the events with `ts < t` and `known_at < t` (the
 * events' `_known_at` column): the values serving could have answered at `t` (see
 * `AsKnownSweep`, and its cost where events became known late).
 *
 * Leaves table `out(_pid, ...)`, its rows in the sorted points' order (the same for every view
 * given the same `sorted`), and returns, per feature, the SQL of its typed value over `out`
 * aliased `alias`. Without `sorted`, sorts the points itself.
 */
export async function computePointInTime(engine: SqlEngine, plan: ViewPlan, features: readonly Feature[], events: string, points: string, out: string, alias: string, asKnown = false, sorted?: SortedPoints): Promise<string[]> {
  const own = sorted === undefined ? await sortPoints(engine, points) : undefined;
  try {
    return await finishSweep(engine, startSweep(engine, plan, features, events, (sorted ?? own)!, asKnown), out, alias);
  } finally {
    await own?.release();
  }
}

/**
 * A view's sweep whose query is already running (`startSweep`): DuckDB scans and sorts its events
 * on a session of its own while the caller does other work (say, sweeps the view before it).
 * Finish it with `finishSweep`, or `cancel` it.
 */
export interface StartedSweep {
  readonly plan: ViewPlan;
  readonly features: readonly Feature[];
  readonly sorted: SortedPoints;
  readonly asKnown: boolean;
  /** The query's rows: `_kid`, `_time`, the buffer columns, `_known` with `asKnown`, `_seq`. */
  readonly sql: string;
  readonly chunks: AsyncIterator<ColumnChunk>;
  /** The first chunk, asked for at the start: DuckDB sorts meanwhile. */
  readonly first: Promise<IteratorResult<ColumnChunk>>;
  cancel(): Promise<void>;
}

/** Whether each buffer column (`bufferColumnNames`) is a number column: NULL comes as NaN, the column as one array. */
function numberColumns(plan: ViewPlan): boolean[] {
  return plan.columnKinds.flatMap((kind) => (kind === 'int64' ? [true, true] : [kind === 'number' || kind === 'bool']));
}

/** The features' accumulator slots, and their windows (length and hop) grouped: the slots of one window share a tail. */
function sweepSlots(plan: ViewPlan, features: readonly Feature[]) {
  const planned = features.map((f) => plan.features[plan.view.features.indexOf(f)]!);
  const slots = [...new Set(planned.map((p) => p.slot))];
  const windowed = slots.filter((s) => plan.slots[s]!.windowMs !== undefined);
  const sameWindow = (a: number, b: number) => plan.slots[a]!.windowMs === plan.slots[b]!.windowMs && plan.slots[a]!.hopMs === plan.slots[b]!.hopMs;
  const groups = windowed.filter((s, i) => windowed.findIndex((o) => sameWindow(o, s)) === i)
    .map((s) => ({ windowMs: plan.slots[s]!.windowMs, hopMs: plan.slots[s]!.hopMs, slots: windowed.filter((o) => sameWindow(o, s)), tail: 0 }));
  return { planned, slots, groups, unbounded: windowed.length < slots.length };
}

/** Starts a view's sweep query (see `StartedSweep`); `computePointInTime` does both steps at once. */
export function startSweep(engine: SqlEngine, plan: ViewPlan, features: readonly Feature[], events: string, sorted: SortedPoints, asKnown = false): StartedSweep {
  const { groups, unbounded } = sweepSlots(plan, features);
  const bufferColumns = bufferColumnNames(plan);
  const numberColumn = numberColumns(plan);
  const reach = unbounded ? '' : ` AND e._ts >= r._lo - ${Math.max(...groups.map((g) => windowReachMs(g.windowMs, g.hopMs)))}`;
  const from = `FROM (${events}) e JOIN ${sorted.kids} r ON r._key = e._key WHERE e._ts < r._hi${reach}${asKnown ? ' AND e._known_at < r._hi' : ''}`;
  const sql = withSortedStreamEnd(
    // Entities are numbered (`_kid`): the sort and the sweep compare numbers, not key strings.
    // Number columns with NULL as NaN (what the event buffer holds) come as whole arrays (`numbers`).
    `SELECT r._kid, e._ts::DOUBLE AS _time${bufferColumns.map((c, i) => `, ${numberColumn[i] ? `coalesce(e.${c}, ${c.endsWith('_lo') ? '0' : "'NaN'"}::DOUBLE) AS ${c}` : `e.${c}`}`).join('')}${asKnown ? ', e._known_at::DOUBLE AS _known' : ''}, e._seq AS _seq ${from}`,
    '_kid, _time, _seq',
    "'Infinity'::DOUBLE AS _kid, 'Infinity'::DOUBLE AS _time, 0::BIGINT AS _seq",
  );
  // A result cut short (a failure mid-way) raises in `streamChunks`: the sweep never sees part of its events as all of them.
  const chunks = engine.streamChunks(sql, { ownSession: true, carriesEndMarker: true })[Symbol.asyncIterator]();
  const first = chunks.next();
  // Its failure is reported by `finishSweep`, not as an unhandled rejection meanwhile.
  first.catch(() => undefined);
  return {
    plan, features, sorted, asKnown, sql, chunks, first,
    cancel: async () => {
      await first.catch(() => undefined);
      await chunks.return?.();
    },
  };
}

/**
 * Sweeps a started view query into table `out` (see `computePointInTime`) and returns, per
 * feature, the SQL of its typed value over `out` aliased `alias`. Adds to `overflows[f]` the
 * output cells whose value of feature `f` is null because it is outside the float64 range
 * (`setNumber`): each such point counts the rows it stands for (`SortedPoints.rows`).
 */
export async function finishSweep(engine: SqlEngine, started: StartedSweep, out: string, alias: string, overflows: number[] = []): Promise<string[]> {
  const { plan, features, sorted, asKnown } = started;
  const { planned, slots, groups } = sweepSlots(plan, features);
  const layout = outputColumns(planned);
  const rawColumns = layout.flatMap((c) => c.raw.map((r) => `${r} ${rawSqlType(c)}`));
  const openOutput = async (): Promise<TableAppender> => {
    // A regular table: results are appended while the sweep's stream is still open.
    await engine.run(`CREATE OR REPLACE TABLE ${out} (_pid DOUBLE${rawColumns.map((c) => `, ${c}`).join('')})`);
    // One appender for the whole sweep: one commit at its end, not one per chunk of points.
    return engine.openAppender(out, { whileStreaming: true });
  };
  const appender = await openOutput().catch(async (error: unknown) => {
    await started.cancel();
    throw error;
  });

  const builder = new EventBufferBuilder(plan.columnKinds);
  const accumulators = createAccumulators(plan, builder.buffer);
  const known = asKnown ? new AsKnownSweep(plan, builder.buffer) : undefined;
  const spans = [...groups, { slots: slots.filter((s) => plan.slots[s]!.windowMs === undefined), tail: 0 }];
  const values: Scalar[] = new Array(planned.length);
  const scratch: Evaluation = { value: null, expired: false, absent: false, overflow: false };
  const chunk = new OutputChunk(layout);
  // Per chunk column (after `_pid`): the element type of a list column.
  const listOfChunk = layout.flatMap((c) => (c.text || c.list !== undefined ? [c.list] : c.raw.map(() => undefined)));
  const flush = (): void => {
    if (chunk.rows === 0) return;
    const columns = [chunk.pid, ...chunk.columns].map((values, c): AppendColumn => {
      if (values instanceof Float64Array) return { type: 'double', values };
      const list = c === 0 ? undefined : listOfChunk[c - 1];
      return list === undefined ? { type: 'text', values: values as (string | null)[] } : { type: 'list', element: list, values: values as (ListValue | null)[] };
    });
    appender.append(columns, chunk.rows);
    chunk.rows = 0;
  };

  const bufferColumns = bufferColumnNames(plan);
  const numberColumn = numberColumns(plan);

  let key = -1;
  let added = 0;
  const enter = (k: number): void => {
    key = k;
    builder.reset();
    added = 0;
    for (const s of slots) accumulators[s]!.reset();
    for (const g of groups) g.tail = 0;
    known?.reset();
  };
  const point = (i: number): void => {
    const k = sorted.kid[i]!;
    if (k !== key) enter(k);
    const time = sorted.time[i]!;
    // Events enter and leave the accumulators a range at a time, at points: one call per slot
    // and point, the loop inside each accumulator's own (monomorphic) method.
    if (added < builder.length) {
      for (const s of slots) accumulators[s]!.addRange(added, builder.length);
      added = builder.length;
    }
    const ts = builder.buffer.ts;
    for (const g of groups) {
      const start = windowAt(time, g.windowMs, g.hopMs).start;
      let tail = g.tail;
      while (tail < builder.length && ts[tail]! < start) tail++;
      if (tail > g.tail) {
        for (const s of g.slots) accumulators[s]!.removeRange(g.tail, tail);
        g.tail = tail;
      }
    }
    const using = known ? known.at(time, builder.length, spans, accumulators) : accumulators;
    for (let f = 0; f < planned.length; f++) {
      const p = planned[f]!;
      p.aggregation.evaluate(using[p.slot]!, time, plan.view.ttlMs, scratch);
      values[f] = scratch.value;
      if (scratch.overflow) overflows[f] = (overflows[f] ?? 0) + (sorted.rows?.[i] ?? 1);
    }
    chunk.write(sorted.pid[i]!, values);
  };

  const pointCount = sorted.pid.length;
  let next = 0;
  try {
    for (let step = await started.first; step.done !== true; step = await started.chunks.next()) {
      const result = step.value;
      const columns = Array.from({ length: 2 + bufferColumns.length + (known ? 1 : 0) }, (_, c): ChunkValues => (numberColumn[c - 2] ? numbers(result, c) : result.column(c)));
      const keys = numbers(result, 0);
      const times = numbers(result, 1);
      for (let r = 0; r < result.rowCount; r++) {
        const k = keys[r]!;
        const time = times[r]!;
        // The points at or before this event in (entity, time) order come first.
        while (next < pointCount && (sorted.kid[next]! < k || (sorted.kid[next] === k && sorted.time[next]! <= time))) {
          point(next++);
          if (chunk.rows === CHUNK) flush();
        }
        if (k !== key) enter(k);
        const i = builder.append(time, columns, 2, r);
        known?.append(i, time, (columns[2 + bufferColumns.length] as ChunkColumn).get(r) as number);
      }
    }
    while (next < pointCount) {
      point(next++);
      if (chunk.rows === CHUNK) flush();
    }
    flush();
  } finally {
    await started.cancel();
    await appender.close();
  }
  return layout.map((c) => typedSql(c, alias));
}
