import { CHECK_NOW_COLUMN, isListType, type Check, type ColumnType, type Schema } from '../definitions/index.js';
import { storageType } from '../ingest/validate-sql.js';
import { ident, literal, type SqlEngine } from '../storage/engine/sql-engine.js';
import type { CheckOutcome } from '../storage/metadata/quality-store.js';
import { formatDuration, toIso } from '../time/index.js';

/** Failing values kept per check, for a person to look at. */
export const SAMPLE_SIZE = 5;

/** The outcome of one check on one batch (the record the quality store keeps). */
export type CheckResult = CheckOutcome;

/** What one scan of a batch learns besides the checks: for OpenLineage's dataQualityMetrics. */
export interface BatchProfile {
  readonly rowCount: number;
  readonly nullCounts: Readonly<Record<string, number>>;
}

/** A dataset whose batch is checked: its name, its typed columns and its compiled checks. */
export interface CheckedBatch {
  readonly dataset: string;
  readonly schema: Schema;
  readonly checks: readonly Check[];
  /** Classified columns: samples show `[classified]` in place of their values (samples reach results, alerts and logs). */
  readonly classified?: ReadonlySet<string>;
}

export interface EvaluateOptions {
  /** The evaluation time (epoch ms): `now()` in predicates, and what freshness compares with. */
  readonly now: number;
  /** The columns the input actually had (name to its type, or null when the input says none): what `schema` checks compare. Default: the declared schema. */
  readonly observedColumns?: Readonly<Record<string, string | null>>;
}

const f = (i: number, part: string): string => ident(`_q${i}_${part}`);
/** What a sample shows in place of a classified column's value. */
export const CLASSIFIED_SAMPLE = '[classified]';

/** The SELECT list items of one check in the scan, and the CTE it needs (unique). */
function checkSql(check: Check, i: number, schema: Schema, classified: ReadonlySet<string>): { items: string[]; cte?: string } {
  const shown = (c: string): string => (classified.has(c) ? literal(CLASSIFIED_SAMPLE) : ident(c));
  const json = (columns: readonly string[]): string => (columns.length === 1 ? `to_json(${shown(columns[0]!)})::VARCHAR` : `to_json({${columns.map((c) => `${literal(c)}: ${shown(c)}`).join(', ')}})::VARCHAR`);
  if (check.predicate !== undefined) {
    const failing = `(${check.predicate}) IS FALSE`;
    // A missing value says nothing by itself: the row it is missing from does.
    const sample = check.kind === 'notNull' || check.columns.length === 0 ? json(Object.keys(schema)) : json(check.columns);
    // CASE, not FILTER: an aggregate's argument would be computed for every row; the sample only for failing ones.
    return { items: [`count(*) FILTER (WHERE ${failing})::DOUBLE AS ${f(i, 'n')}`, `to_json(min(CASE WHEN ${failing} THEN ${sample} END, ${SAMPLE_SIZE}))::VARCHAR AS ${f(i, 's')}`] };
  }
  if (check.kind === 'unique') {
    const keys = check.columns.map(ident).join(', ');
    const notNull = check.columns.map((c) => `${ident(c)} IS NOT NULL`).join(' AND ');
    // Grouped by the key's own values: only repeated keys are rendered as samples.
    const cte = `${f(i, 'dup')} AS MATERIALIZED (SELECT ${keys}, count(*) AS _n FROM rows WHERE ${notNull} GROUP BY ${keys} HAVING count(*) > 1)`;
    return { cte, items: [`(SELECT coalesce(sum(_n), 0)::DOUBLE FROM ${f(i, 'dup')}) AS ${f(i, 'n')}`, `(SELECT to_json(min(${json(check.columns)}, ${SAMPLE_SIZE}))::VARCHAR FROM ${f(i, 'dup')}) AS ${f(i, 's')}`] };
  }
  if (check.kind === 'freshness') return { items: [`epoch_ms(max(${ident(check.columns[0]!)}))::DOUBLE AS ${f(i, 'newest')}`] };
  return { items: [] };
}

/**
 * The one query that evaluates every check of a batch but `schema`: a single scan of
 * `relation` counts the rows, the nulls per column and each row-level check's failing rows
 * (`count(*) FILTER (WHERE NOT ...)`) with a few samples, and the newest event for freshness;
 * each `unique` check adds one grouped subquery over the same rows.
 */
export function checksQuery(batch: CheckedBatch, relation: string, now: number): string {
  const parts = batch.checks.map((check, i) => checkSql(check, i, batch.schema, batch.classified ?? new Set()));
  const nulls = Object.keys(batch.schema).map((c, i) => `count(*) FILTER (WHERE ${ident(c)} IS NULL)::DOUBLE AS ${ident(`_null${i}`)}`);
  const ctes = [`rows AS NOT MATERIALIZED (SELECT *, make_timestamp(${Math.trunc(now)}::BIGINT * 1000) AS ${ident(CHECK_NOW_COLUMN)} FROM (${relation}))`, ...parts.flatMap((p) => (p.cte ? [p.cte] : []))];
  return `WITH ${ctes.join(', ')} SELECT count(*)::DOUBLE AS _total, ${[...nulls, ...parts.flatMap((p) => p.items)].join(', ')} FROM rows`;
}

function samplesOf(text: unknown): string[] {
  return typeof text === 'string' ? (JSON.parse(text) as unknown[] | null ?? []).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))) : [];
}

function schemaResult(check: Check, observed: Readonly<Record<string, string | null>>): { passed: boolean; message: string; samples: string[] } {
  const expected = check.expected ?? {};
  const lower = new Map(Object.keys(observed).map((c) => [c.toLowerCase(), c]));
  const missing = Object.keys(expected).filter((c) => !lower.has(c.toLowerCase()));
  const known = new Set(Object.keys(expected).map((c) => c.toLowerCase()));
  const extra = Object.keys(observed).filter((c) => !known.has(c.toLowerCase()));
  const retyped = Object.entries(expected).flatMap(([c, type]) => {
    const found = lower.get(c.toLowerCase());
    const actual = found === undefined ? null : observed[found];
    return type !== null && actual !== null && actual !== undefined && !sameType(type, actual) ? [`${c} is ${actual}, expected ${type}`] : [];
  });
  const problems = [
    ...(missing.length > 0 ? [`missing ${missing.join(', ')}`] : []),
    ...(extra.length > 0 ? [`unexpected ${extra.join(', ')}`] : []),
    ...retyped,
  ];
  return { passed: problems.length === 0, message: problems.length === 0 ? 'columns as expected' : `schema changed: ${problems.join('; ')}`, samples: problems };
}

/** Whether an input column's type (Sluice's name, or the DuckDB type a Parquet file has) is the expected one. */
function sameType(expected: ColumnType, actual: string): boolean {
  if (actual === expected) return true;
  const storage = storageType(expected).toUpperCase();
  const upper = actual.toUpperCase();
  return upper === storage || (expected === 'timestamp' && upper.startsWith('TIMESTAMP')) || (expected === 'int64' && ['INTEGER', 'SMALLINT', 'TINYINT'].includes(upper)) || (expected === 'float64' && upper === 'FLOAT') || (isListType(expected) && upper.endsWith('[]'));
}

function rowMessage(check: Check, failing: number, total: number, passed: boolean): string {
  const share = total === 0 ? 1 : (total - failing) / total;
  const mostly = check.mostly < 1 ? ` (at least ${(check.mostly * 100).toFixed(2).replace(/\.?0+$/, '')}% must pass, ${(share * 100).toFixed(2).replace(/\.?0+$/, '')}% did)` : '';
  return passed && failing === 0 ? `${check.description}: all ${total} rows pass` : `${check.description}: ${failing} of ${total} rows fail${mostly}`;
}

/**
 * Evaluates a batch's checks (see {@link checksQuery}: one scan) over `relation`, SQL of the
 * batch's rows in their typed columns. A row-level or unique check passes when at least `mostly`
 * of the rows pass (an empty batch passes); rowCount within its bounds; freshness when the
 * newest event is at most `maxAge` before `now` (no event: fails); schema when the observed
 * columns are the expected ones.
 *
 * @example
 * const { results } = await evaluateChecks(engine, { dataset: 'txns', schema, checks }, 'SELECT * FROM batch', { now: Date.now() });
 */
export async function evaluateChecks(engine: SqlEngine, batch: CheckedBatch, relation: string, options: EvaluateOptions): Promise<{ results: CheckResult[]; profile: BatchProfile }> {
  const [row] = await engine.all<Record<string, unknown>>(checksQuery(batch, relation, options.now));
  const value = (name: string): number => Number(row![name] ?? 0);
  const total = value('_total');
  const nullCounts = Object.fromEntries(Object.keys(batch.schema).map((c, i) => [c, value(`_null${i}`)]));
  const results = batch.checks.map((check, i): CheckResult => {
    const base = { dataset: batch.dataset, check: check.name, kind: check.kind, severity: check.severity, totalRows: total };
    if (check.predicate !== undefined || check.kind === 'unique') {
      const failing = value(`_q${i}_n`);
      const share = total === 0 ? 1 : (total - failing) / total;
      const passed = share >= check.mostly;
      return { ...base, passed, failingRows: failing, observedFraction: share, samples: samplesOf(row![`_q${i}_s`]), message: rowMessage(check, failing, total, passed) };
    }
    if (check.kind === 'rowCount') {
      const passed = (check.minRows === undefined || total >= check.minRows) && (check.maxRows === undefined || total <= check.maxRows);
      return { ...base, passed, failingRows: 0, observedFraction: passed ? 1 : 0, samples: [], message: `${check.description}: the batch has ${total} rows` };
    }
    if (check.kind === 'freshness') {
      const newest = row![`_q${i}_newest`];
      const age = newest === null || newest === undefined ? undefined : options.now - Number(newest);
      const passed = age !== undefined && age <= check.maxAgeMs!;
      const found = age === undefined ? 'the batch has no event' : `the newest is ${toIso(Number(newest))}, ${formatDuration(Math.max(0, Math.round(age / 1000)) * 1000)} old`;
      return { ...base, passed, failingRows: 0, observedFraction: passed ? 1 : 0, samples: age === undefined ? [] : [toIso(Number(newest))], message: `${check.description}: ${found}` };
    }
    const observed = options.observedColumns ?? batch.schema;
    const { passed, message, samples } = schemaResult(check, observed);
    return { ...base, passed, failingRows: 0, observedFraction: passed ? 1 : 0, samples, message };
  });
  return { results, profile: { rowCount: total, nullCounts } };
}

/**
 * SQL that binds every row-level predicate of `checks` over an empty row of `schema`: DuckDB
 * refuses it when a predicate's literal argument is invalid (a regex that does not compile).
 */
export function checkProbeSql(schema: Schema, check: Check): string | undefined {
  if (check.predicate === undefined) return undefined;
  const row = Object.entries(schema).map(([c, type]) => `NULL::${storageType(type)} AS ${ident(c)}`);
  return `SELECT (${check.predicate}) AS probe FROM (SELECT ${[...row, `NULL::TIMESTAMP AS ${ident(CHECK_NOW_COLUMN)}`].join(', ')}) WHERE false`;
}
