import type { SluiceContext } from '../context.js';
import { CHECK_NOW_COLUMN, isListType, type Check, type Project, type Source } from '../definitions/index.js';
import { classifiedColumns } from '../compliance/masking/classified-columns.js';
import { typedValueSql } from '../ingest/validate-sql.js';
import { ident, literal, type SqlEngine } from '../storage/engine/sql-engine.js';
import type { CheckResult } from './evaluate-checks.js';
import { typedRowsSql } from './ingest-checks.js';
import { checkBatch, recordVerdict, type BatchVerdict } from './run-checks.js';

/** The column the inline checks' reason is in, between the stages of a streamed group's validation. */
export const CHECK_REASON = '_check_reason';

/** Row checks that reject single events inline: row-level, `error`, every row must pass. */
const inline = (check: Check): boolean => check.predicate !== undefined && check.severity === 'error' && check.mostly === 1;

/** The reason an event is rejected for a failing check: `check <name>: <what it asserts>`. */
const reasonOf = (check: Check): string => `check ${check.name}: ${check.description}`;

/**
 * Wraps the text relation of a streamed group (`_line, _raw, _problem` and the schema's text
 * columns) so that it also gives `_check_reason`: the first inline check (row-level, `error`,
 * no `mostly`) the event fails, over its typed values, in the same query that validates the group
 * (no extra pass). Undefined when the source has no such check.
 *
 * @example
 * const wrapped = inlineCheckSql(source, textSql, ackTime) ?? textSql;
 */
export function inlineCheckSql(source: Source, text: string, now: number): string | undefined {
  const checks = (source.checks ?? []).filter(inline);
  if (checks.length === 0) return undefined;
  const scalar = Object.entries(source.schema).filter(([, type]) => !isListType(type));
  const kept = (c: string) => ident(`_qtxt_${c}`);
  const typed = scalar.map(([c, type]) => `${typedValueSql(c, type)} AS ${ident(c)}`);
  const cases = checks.map((c) => `WHEN (${c.predicate}) IS FALSE THEN ${literal(reasonOf(c))}`).join(' ');
  return `SELECT * EXCLUDE (${[...scalar.map(([c]) => ident(c)), ...scalar.map(([c]) => kept(c)), ident(CHECK_NOW_COLUMN)].join(', ')}), ${scalar.map(([c]) => `${kept(c)} AS ${ident(c)}`).join(', ')}
    FROM (SELECT *, CASE ${cases} END AS ${CHECK_REASON} FROM (
      SELECT * REPLACE (${typed.join(', ')}), make_timestamp(${Math.trunc(now)}::BIGINT * 1000) AS ${ident(CHECK_NOW_COLUMN)} FROM (
        SELECT *, ${scalar.map(([c]) => `${ident(c)} AS ${kept(c)}`).join(', ')} FROM (${text}))))`;
}

/**
 * The checks of a streamed group that need the whole group (unique, rowCount, freshness, any
 * `mostly` or `warn` row check), over its accepted rows in `table` (`_reason = ''`); a failing
 * `error` one rejects every accepted event of the group (`check <name>: <what was found>`), as a
 * stream cannot be held back. Undefined (and nothing read) when the source has none.
 */
export async function checkWholeGroup(engine: SqlEngine, project: Project, source: Source, table: string, now: number): Promise<BatchVerdict | undefined> {
  const rest = (source.checks ?? []).filter((c) => !inline(c));
  if (rest.length === 0) return undefined;
  const grouped = await checkBatch(engine, { name: source.name, schema: source.schema, checks: rest }, typedRowsSql(source, table), { now, classified: classifiedColumns(project, source.name) });
  if (grouped && grouped.blocking.length > 0) {
    const reason = grouped.blocking.map((r) => `check ${r.check}: ${r.message}`).join('; ');
    await engine.run(`UPDATE ${table} SET _reason = ${literal(reason)} WHERE _reason = ''`);
  }
  return grouped;
}

/**
 * Every check's result on a streamed group: those of {@link checkWholeGroup}, and the inline
 * ones counted from the group's rejection reasons (no query). Undefined when the source has no checks.
 */
export function groupVerdict(source: Source, grouped: BatchVerdict | undefined, reasons: readonly string[], events: number): BatchVerdict | undefined {
  const checks = source.checks ?? [];
  if (checks.length === 0) return undefined;
  const rejectedBy = new Map<string, number>();
  for (const reason of reasons) if (reason.startsWith('check ')) rejectedBy.set(reason, (rejectedBy.get(reason) ?? 0) + 1);
  const results = checks.map((check): CheckResult => {
    const found = grouped?.results.find((r) => r.check === check.name);
    if (found) return found;
    const failing = rejectedBy.get(reasonOf(check)) ?? 0;
    return {
      dataset: source.name, check: check.name, kind: check.kind, severity: check.severity, passed: failing === 0, failingRows: failing, totalRows: events,
      observedFraction: events === 0 ? 1 : (events - failing) / events, samples: [], message: failing === 0 ? `${check.description}: all ${events} events pass` : `${check.description}: ${failing} of ${events} events rejected`,
    };
  });
  return { results, blocking: results.filter((r) => !r.passed && r.severity === 'error'), profile: grouped?.profile ?? { rowCount: events, nullCounts: {} }, checks };
}

/**
 * Records streamed groups' check results without a write per group: a source's results are
 * recorded (and its health conditions reported) when a check's outcome changes, and at most
 * every `intervalMs` otherwise. Writes are queued in order; the hot path never waits for them.
 *
 * @example
 * const record = streamCheckRecorder(platform, (error) => log.warn(error.message));
 * record(verdict);
 */
export function streamCheckRecorder(ctx: SluiceContext, onError: (error: Error) => void, intervalMs = 60_000): (verdict: BatchVerdict) => void {
  const last = new Map<string, { state: string; at: number }>();
  let queue: Promise<void> = Promise.resolve();
  return (verdict) => {
    const dataset = verdict.results[0]?.dataset;
    if (dataset === undefined) return;
    const state = verdict.results.map((r) => (r.passed ? '1' : '0')).join('');
    const before = last.get(dataset);
    const now = ctx.now();
    if (before && before.state === state && now - before.at < intervalMs) return;
    last.set(dataset, { state, at: now });
    queue = queue.then(() => recordVerdict(ctx, verdict)).catch((error: unknown) => onError(error as Error));
  };
}
