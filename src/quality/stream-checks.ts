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

/** The checks of a source that judge a streamed request's events together (see {@link checkWholeGroup}): every check but the inline ones. */
export const wholeRequestChecks = (source: Source): readonly Check[] => (source.checks ?? []).filter((c) => !inline(c));

/**
 * Whether a check passing on a group implies it passes on each request of the group: `unique`
 * on every row (no repeated key in the group, none in a part of it) and `rowCount` with only a
 * maximum. A `mostly` share, a minimum count or freshness can pass on a group and fail on one
 * of its requests.
 */
const impliedByGroup = (check: Check): boolean =>
  (check.kind === 'unique' && check.mostly === 1) || (check.kind === 'rowCount' && check.minRows === undefined);

/**
 * The checks of a streamed group that need a whole batch (unique, rowCount, freshness, any
 * `mostly` or `warn` row check), over its accepted rows in `table` (`_reason = ''`). A group
 * merges the requests of several clients (push bodies, connector fetches): `requests.count` of
 * them, the rows of request `p` with `_line` in `[p * span, (p + 1) * span)`. Each request is
 * judged on its own rows: a failing `error` one rejects every accepted event of that request
 * (`check <name>: <what was found>`), as a stream cannot be held back, and no other request's.
 * The group is evaluated once; each request alone only when that could differ (the group fails
 * an `error` check, or has one a group can pass while a request fails, see {@link impliedByGroup}),
 * and the verdict is then the requests' merged ({@link mergeVerdicts}). Undefined (and nothing
 * read) when the source has none.
 */
export async function checkWholeGroup(engine: SqlEngine, project: Project, source: Source, table: string, now: number, requests: { readonly count: number; readonly span: number }): Promise<BatchVerdict | undefined> {
  const rest = wholeRequestChecks(source);
  if (rest.length === 0) return undefined;
  const dataset = { name: source.name, schema: source.schema, checks: rest };
  const options = { now, classified: classifiedColumns(project, source.name) };
  const reject = async (verdict: BatchVerdict, only: string) => {
    if (verdict.blocking.length === 0) return;
    const reason = verdict.blocking.map((r) => `check ${r.check}: ${r.message}`).join('; ');
    await engine.run(`UPDATE ${table} SET _reason = ${literal(reason)} WHERE _reason = ''${only}`);
  };
  const whole = (await checkBatch(engine, dataset, typedRowsSql(source, table), options))!;
  if (requests.count <= 1 || (whole.blocking.length === 0 && rest.every((c) => c.severity !== 'error' || impliedByGroup(c)))) {
    await reject(whole, '');
    return whole;
  }
  const verdicts: BatchVerdict[] = [];
  for (const { p } of await engine.all<{ p: number }>(`SELECT DISTINCT floor(_line / ${requests.span})::DOUBLE AS p FROM ${table} ORDER BY 1`)) {
    const mine = ` AND _line >= ${p * requests.span} AND _line < ${(p + 1) * requests.span}`;
    const verdict = (await checkBatch(engine, dataset, typedRowsSql(source, `(SELECT * FROM ${table} WHERE TRUE${mine})`), options))!;
    verdicts.push(verdict);
    await reject(verdict, mine);
  }
  return mergeVerdicts(verdicts);
}

/**
 * The verdict of a group from its requests' verdicts (same checks, in order): a check passes
 * when it passes on every request; rows, failing rows and null counts add up; the message and
 * samples are those of the first request it fails on (else the first request's).
 */
export function mergeVerdicts(verdicts: readonly BatchVerdict[]): BatchVerdict {
  if (verdicts.length === 1) return verdicts[0]!;
  const results = verdicts[0]!.results.map((first, i): CheckResult => {
    const all = verdicts.map((v) => v.results[i]!);
    const shown = all.find((r) => !r.passed) ?? first;
    const totalRows = all.reduce((n, r) => n + r.totalRows, 0);
    const failingRows = all.reduce((n, r) => n + r.failingRows, 0);
    return { ...shown, passed: all.every((r) => r.passed), totalRows, failingRows, observedFraction: totalRows === 0 ? 1 : (totalRows - failingRows) / totalRows };
  });
  const nullCounts: Record<string, number> = {};
  for (const v of verdicts) for (const [c, n] of Object.entries(v.profile.nullCounts)) nullCounts[c] = (nullCounts[c] ?? 0) + n;
  const profile = { rowCount: verdicts.reduce((n, v) => n + v.profile.rowCount, 0), nullCounts };
  return { results, blocking: results.filter((r) => !r.passed && r.severity === 'error'), profile, checks: verdicts[0]!.checks };
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
