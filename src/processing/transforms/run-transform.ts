import type { SluiceContext } from '../../context.js';
import { contentHash, didYouMean, type Project, type ScalarType, type Source, type Transform } from '../../definitions/index.js';
import { DefinitionError, isSluiceError, NotFoundError, UserCodeError, ValidationError } from '../../errors.js';
import { commitOrRemove } from '../../ingest/commit-ingest.js';
import { KNOWN_AT_COLUMN, STORAGE_TYPE } from '../../ingest/validate-sql.js';
import { withLease } from '../../orchestration/lease.js';
import { trackRun } from '../../orchestration/track-run.js';
import { formatDuration } from '../../time/duration.js';
import { ident, literal, type EngineSandbox, type SqlEngine } from '../../storage/engine/sql-engine.js';
import type { Snapshot, TransformLineage } from '../../storage/metadata/metadata-store.js';
import { checkTransformSql } from './sandbox-sql.js';
import { checkBatch, verdictStats, type BatchVerdict } from '../../quality/run-checks.js';
import { classifiedColumns } from '../../compliance/masking/classified-columns.js';
import { enforceVerdict } from '../../quality/quarantine.js';
import { transformsBehind, transformTableState } from './transform-freshness.js';
import { dropErasedRows } from '../../compliance/erasure/erased-rows.js';
import { checkResultSchema, createInputViews, describeQuery } from './transform-schema.js';
import { repeatInterrupts } from '../../storage/engine/repeat-interrupts.js';

/** What a transform run needs besides the stores: an engine of its own, sandboxed to the files it reads and writes. */
export interface TransformContext extends SluiceContext {
  newEngine(threads?: number, options?: { readonly sandbox?: EngineSandbox }): Promise<SqlEngine>;
}

export interface TransformRunResult {
  readonly transform: string;
  /** The snapshot of the transform's table after the run (the one already there when skipped). */
  readonly snapshot: string | null;
  readonly mode: 'full' | 'incremental';
  /** Rows the run wrote. */
  readonly rows: number;
  /** Rows the run read: of every input, as its query saw them (an incremental run: the new files of its first input); 0 when skipped. */
  readonly rowsIn: number;
  /** Input name to the snapshot id the run read (null: the input had none). */
  readonly inputs: Readonly<Record<string, string | null>>;
  /** True when the table already holds this definition over these input snapshots: nothing was run. */
  readonly skipped: boolean;
  /** Why an incremental transform ran in full, when it did. */
  readonly note?: string;
  /** Transforms this one reads (directly or through others) whose table was not up to date with their own inputs: the run read them as they were. */
  readonly behind?: readonly string[];
}

export interface TransformRunOptions {
  /** How long the computation may take before it is stopped (nothing is committed); default {@link DEFAULT_TRANSFORM_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Stops the computation when aborted, as the time limit does (nothing is committed); the error is the signal's reason. */
  readonly signal?: AbortSignal;
}

/** A run's default time limit: a query that never ends (a recursive CTE without a stop) must not hold its lease forever. */
export const DEFAULT_TRANSFORM_TIMEOUT_MS = 3_600_000;

/**
 * Runs `work` on `engine`, interrupting its statements once `timeoutMs` has passed (again until
 * `work` returns, so a statement started after the first interrupt is stopped too); a run stopped
 * so fails with an error naming the limit.
 */
async function withTimeLimit<T>(engine: SqlEngine, transform: Transform, timeoutMs: number, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  let stopped = false;
  let interrupting: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    interrupting ??= repeatInterrupts(() => engine.interrupt());
  };
  const timer = setTimeout(stop, timeoutMs);
  signal?.addEventListener('abort', stop, { once: true });
  if (signal?.aborted) stop();
  try {
    const result = await work();
    if (stopped) throw new Error('interrupted');
    return result;
  } catch (error) {
    if (!stopped) throw error;
    if (signal?.aborted) throw signal.reason;
    throw new ValidationError('VALIDATION_FAILED', `transform "${transform.name}": its run did not finish within its time limit (${formatDuration(timeoutMs)}) and was stopped; nothing was committed. Make its SQL end sooner (a recursive CTE needs a stop condition) or give the run more time (sluice transform run --timeout)`, { cause: error });
  } finally {
    clearTimeout(timer);
    interrupting?.();
    signal?.removeEventListener('abort', stop);
  }
}

/** The result table inside the sandbox; `__` cannot appear in a user's name, so no input is called this. */
const RESULT = 'sluice__result';

/** How the run reads each input: which files, and whether only the new ones (incremental). */
interface ReadPlan {
  readonly mode: 'full' | 'incremental';
  readonly files: Map<string, readonly string[]>;
  readonly note?: string;
}

/**
 * Incremental only when the table was last written by this definition and its first input (the
 * one processed incrementally) grew by appending files since: its earlier snapshot's files are a
 * prefix of the current ones. The run then reads that input's new files and the other inputs
 * (lookups) whole, at their current snapshots.
 */
async function readPlan(ctx: SluiceContext, transform: Transform, current: ReadonlyMap<string, Snapshot | undefined>, last: TransformLineage | undefined): Promise<ReadPlan> {
  const all = new Map([...current].map(([name, s]) => [name, s?.files ?? []] as const));
  if (transform.incremental !== true) return { mode: 'full', files: all };
  if (last === undefined) return { mode: 'full', files: all, note: 'first run' };
  if (last.transformHash !== transform.hash) return { mode: 'full', files: all, note: 'the definition changed since the last run' };
  const driving = transform.inputs[0]!;
  const before = last.inputs[driving] ?? null;
  const earlier = before === null ? [] : (await ctx.metadata.snapshot(before))?.files;
  const now = all.get(driving) ?? [];
  if (earlier === undefined || !earlier.every((f, i) => now[i] === f)) return { mode: 'full', files: all, note: `input "${driving}" was not only appended to since the last run` };
  return { mode: 'incremental', files: new Map([...all, [driving, now.slice(earlier.length)]]) };
}

/** The declared columns in their lake types (timestamps as TIMESTAMP, to the millisecond, as ingest writes them). */
function typedResultSql(transform: Transform, sql: string): string {
  const columns = Object.entries(transform.schema).map(([c, type]) =>
    type === 'timestamp' ? `epoch_ms(epoch_ms(${ident(c)}::TIMESTAMP)) AS ${ident(c)}` : `${ident(c)}::${STORAGE_TYPE[type as ScalarType]} AS ${ident(c)}`,
  );
  return `SELECT ${columns.join(', ')} FROM (${sql})`;
}

/** Rows the lake cannot hold: a null event time, a non-finite float (ingest rejects both). */
async function checkResultRows(engine: SqlEngine, transform: Transform): Promise<number> {
  const floats = Object.entries(transform.schema).filter(([, t]) => t === 'float64').map(([c]) => c);
  const checks = [`count(*) FILTER (WHERE ${ident(transform.timestamp)} IS NULL) AS ${ident(`null timestamp "${transform.timestamp}"`)}`,
    ...floats.map((c) => `count(*) FILTER (WHERE NOT isfinite(${ident(c)})) AS ${ident(`non-finite (NaN or infinite) "${c}"`)}`)];
  const [row] = await engine.all<Record<string, number>>(`SELECT count(*) AS rows, ${checks.join(', ')} FROM ${RESULT}`);
  const { rows, ...bad } = row!;
  const problems = Object.entries(bad).filter(([, n]) => n > 0).map(([what, n]) => `${n} row(s) with a ${what}`);
  if (problems.length > 0) throw new ValidationError('VALIDATION_FAILED', `transform "${transform.name}": its result has ${problems.join(', ')}; filter or fix them in its SQL (nothing was committed)`);
  return rows!;
}

async function describeOrFail(engine: SqlEngine, transform: Transform, sql: string): Promise<Array<{ name: string; type: string }>> {
  try {
    return await describeQuery(engine, sql);
  } catch (error) {
    if (isSluiceError(error) && error.code === 'ADAPTER_FAILED') {
      throw new DefinitionError('DEFINITION_INVALID', `transform "${transform.name}": its SQL does not bind over its inputs: ${error.message.replace(/^DuckDB: /, '')}`, { cause: error });
    }
    throw error;
  }
}

/**
 * Checks a transform's SQL (the sandbox rules) and its result's columns against the declared
 * schema, on `engine` (sandboxed: it reads no file), over empty typed relations of its inputs:
 * what `plan` and `apply` check before anything runs. Throws the first problem found.
 *
 * @example
 * await checkTransform(engine, project, transform);
 */
export async function checkTransform(engine: SqlEngine, project: Project, transform: Transform): Promise<void> {
  const sql = await checkTransformSql(engine, transform);
  await createInputViews(engine, transform, new Map(project.sources.map((s) => [s.name, s])));
  checkResultSchema(transform, await describeOrFail(engine, transform, sql));
}

/**
 * Checks every transform of a project (see {@link checkTransform}) in one sandboxed engine of its
 * own: what `plan` and `apply` run, so a bad query or schema is found before any run.
 *
 * @example
 * await checkTransforms(platform, project);
 */
export async function checkTransforms(ctx: Pick<TransformContext, 'newEngine'>, project: Project): Promise<void> {
  if ((project.transforms ?? []).length === 0) return;
  const engine = await ctx.newEngine(1, { sandbox: { allowedPaths: [] } });
  try {
    for (const transform of project.transforms ?? []) await checkTransform(engine, project, transform);
  } finally {
    await engine.close();
  }
}

/** Computes the transform in a sandboxed engine and writes its rows as one staged Parquet file with the lake's system columns; returns its row count. */
async function compute(ctx: TransformContext, project: Project, transform: Transform, plan: ReadPlan, staged: string, timeoutMs: number, signal?: AbortSignal): Promise<Computed> {
  const sources = new Map(project.sources.map((s) => [s.name, s] as const));
  const files = new Map([...plan.files].map(([name, list]) => [name, list.map((f) => ctx.lake.resolve(f))] as const));
  // One thread: in parallel, DuckDB adds partial float sums and picks first()/list() rows in an
  // order that varies between runs, and a run must give the same table from the same snapshots.
  const engine = await ctx.newEngine(1, { sandbox: { allowedPaths: [...[...files.values()].flat(), staged] } });
  try {
    return await withTimeLimit(engine, transform, timeoutMs, () => computeOn(ctx, engine, sources, transform, files, staged, project), signal);
  } finally {
    await engine.close();
  }
}

/** A computed run: its rows (staged unless none), and its checks' verdict when the transform declares checks. */
interface Computed {
  readonly rows: number;
  readonly rowsIn: number;
  readonly firstSeq: number;
  readonly verdict?: BatchVerdict;
}

async function computeOn(ctx: TransformContext, engine: SqlEngine, sources: ReadonlyMap<string, Source>, transform: Transform, files: ReadonlyMap<string, readonly string[]>, staged: string, project: Project): Promise<Computed> {
  const sql = await checkTransformSql(engine, transform);
  await createInputViews(engine, transform, sources, files);
  const rowsIn = await inputRows(engine, transform);
  const described = await describeOrFail(engine, transform, sql);
  checkResultSchema(transform, described);
  await engine.run(`CREATE TEMP TABLE ${RESULT} AS ${typedResultSql(transform, sql)}`).catch((error: unknown) => {
    if (!isSluiceError(error) || error.code !== 'ADAPTER_FAILED') throw error;
    throw new UserCodeError(`transform "${transform.name}": its SQL failed over its inputs (nothing was committed): ${error.message.replace(/^DuckDB: /, '')}`, error);
  });
  // A result row of an erased subject is not written, however the query derived it.
  await dropErasedRows(engine, RESULT, project, sources.get(transform.name)!, { erasure: ctx.metadata.erasure, dataDir: ctx.dataDir });
  const rows = await checkResultRows(engine, transform);
  // The result's checks, before anything is written: a blocked result is staged for the quarantine, not the lake.
  const verdict = await checkBatch(engine, sources.get(transform.name)!, `SELECT * FROM ${RESULT}`, { now: ctx.now(), classified: classifiedColumns(project, transform.name), observedColumns: Object.fromEntries(described.map((c) => [c.name, c.type])) });
  const checked = verdict ? { verdict } : {};
  if (rows === 0 && !verdict?.blocking.length) return { rows, rowsIn, firstSeq: 0, ...checked };
  const firstSeq = rows === 0 ? 0 : await ctx.metadata.reserveSeq(transform.name, rows);
  const ts = ident(transform.timestamp);
  // `_seq` follows the rows' sorted order, so equal inputs give an equal file whatever order the query produced.
  const order = Object.keys(transform.schema).map(ident).join(', ');
  await engine.run(
    `COPY (SELECT *, epoch_ms(${ts}) AS _ts, (${firstSeq} + row_number() OVER (ORDER BY ${order}) - 1)::BIGINT AS _seq, epoch_ms(${ts})::BIGINT AS ${KNOWN_AT_COLUMN} FROM ${RESULT} ORDER BY _seq) TO ${literal(staged)} (FORMAT PARQUET, COMPRESSION ZSTD)`,
  );
  return { rows, rowsIn, firstSeq, ...checked };
}

/** The rows of a transform's inputs as its query reads them (the views `createInputViews` made), summed. */
async function inputRows(engine: SqlEngine, transform: Transform): Promise<number> {
  const counts = transform.inputs.map((input) => `(SELECT count(*) FROM ${ident(input)})`).join(' + ');
  const [row] = await engine.all<{ n: number | bigint }>(`SELECT (${counts})::BIGINT AS n`);
  return Number(row!.n);
}

/** A transform of the project; a NotFoundError naming the known ones when it is not there. */
export function findTransform(project: Project, name: string): Transform {
  const transform = project.transforms?.find((t) => t.name === name);
  if (!transform) {
    throw new NotFoundError('NOT_FOUND', `transform "${name}" is not in the registry${didYouMean(name, (project.transforms ?? []).map((t) => t.name))}; run "sluice apply" after adding it`);
  }
  return transform;
}

/**
 * Runs a SQL transform: reads the current snapshot of each input (pinned for the whole run),
 * computes the query in a sandbox that can read only those files, checks the result against the
 * declared schema, and commits it as the next snapshot of the transform's table, atomically,
 * with the input snapshot ids (its lineage; also in run history). By default the snapshot
 * replaces the table (full refresh); an `incremental` transform whose first input was only
 * appended to reads just that input's new files (its other inputs whole) and appends. A run over the same input snapshots as the
 * last one, with the same definition, does nothing (`skipped`). Runs of one transform are
 * serialized by the lease `transform:<name>`.
 *
 * @example
 * const result = await runTransform(platform, project, 'customer_360');
 */
export async function runTransform(ctx: TransformContext, project: Project, name: string, options: TransformRunOptions = {}): Promise<TransformRunResult> {
  const transform = findTransform(project, name);
  return withLease(ctx.metadata, `transform:${name}`, { waitMs: 600_000, purpose: `run of transform "${name}"` }, async () => {
    const { current, inputs, latest, last, upToDate } = await transformTableState(ctx, transform);
    const stale = await transformsBehind(ctx, project, transform);
    const behind = stale.length > 0 ? { behind: stale } : {};
    if (latest && last && upToDate) return { transform: name, snapshot: latest.id, mode: last.mode, rows: 0, rowsIn: 0, inputs, skipped: true, ...behind };
    const plan = await readPlan(ctx, transform, current, last);
    return trackRun(ctx, 'transform', { transform: name, source: name, mode: plan.mode, inputs }, async () => {
      const staged = ctx.lake.stagingPath(name);
      try {
        const { rows, rowsIn, firstSeq, verdict } = await compute(ctx, project, transform, plan, staged, options.timeoutMs ?? DEFAULT_TRANSFORM_TIMEOUT_MS, options.signal);
        const lineage: TransformLineage = { transformHash: transform.hash, mode: plan.mode, inputs };
        const hash = `transform:${contentHash(lineage)}`;
        if (verdict) await enforceVerdict(ctx, verdict, async () => ({ dataset: name, origin: `the run of transform "${name}" over ${Object.entries(inputs).map(([i, id]) => `${i}=${id ?? 'empty'}`).join(', ')}`, staged, rows, contentHash: hash, lineage }));
        const published = rows > 0 ? await ctx.lake.publish(name, staged, `seq${firstSeq}-${hash.slice(10, 22)}`) : undefined;
        const snapshot = (await commitOrRemove(ctx, published, async () => ({
          committed: true, snapshot: await ctx.metadata.commitTransform({ source: name, files: published ? [published] : [], rows, contentHash: hash, lineage, createdAt: ctx.now() }),
        }))).snapshot;
        const result: TransformRunResult = { transform: name, snapshot: snapshot.id, mode: plan.mode, rows, rowsIn, inputs, skipped: false, ...(plan.note && transform.incremental ? { note: plan.note } : {}), ...behind };
        return { result, stats: { snapshot: snapshot.id, rows, rowsIn, mode: plan.mode, inputs, ...verdictStats(verdict) } };
      } finally {
        await ctx.lake.discard(staged);
      }
    }, project);
  });
}

/** The output table of a transform, as the source views read. */
export function transformSource(project: Project, name: string): Source {
  return project.sources.find((s) => s.name === name && s.kind === 'transform')!;
}
