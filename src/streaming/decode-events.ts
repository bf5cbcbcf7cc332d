import { CDC_OP, type FeatureView, type Project, type Source } from '../definitions/index.js';
import { jsonColumnsSql, listColumns } from '../ingest/load-raw.js';
import { withSentValues } from '../ingest/sent-values.js';
import { sourceCompositeKeys, sourceKeys } from '../ingest/source-keys.js';
import { parsedValueSql, rejectReasonSql, storageType } from '../ingest/validate-sql.js';
import type { EventColumn } from '../processing/aggregations/index.js';
import { ident, literal, type SqlEngine, readPathList } from '../storage/engine/sql-engine.js';
import { readDecodedEvents } from './read-decoded.js';
import { bodyEventTexts } from './body-event-texts.js';
import { eventTextProblem, strictJsonProblem, surrogateFix } from '../ingest/strict-json.js';
import { CHECK_REASON, checkWholeGroup, groupVerdict, inlineCheckSql, wholeRequestChecks } from '../quality/stream-checks.js';
import { markRequestDuplicates, splitRefused } from './request-duplicates.js';
import type { BatchVerdict } from '../quality/run-checks.js';
import type { RejectedEvent } from '../storage/log/event-log.js';
import type { UpstreamDetails } from '../ingest/connectors/connector.js';
import { formatDuration, isoTimestampSql, toIso } from '../time/index.js';
import { ERASED_REASON, markErasedRows, type ErasureCheck } from '../compliance/erasure/erased-rows.js';
import { classifiedColumns } from '../compliance/masking/classified-columns.js';

/**
 * A batch of a source's events, validated and decoded for the online state: per accepted event
 * (in batch order) its event time and every schema column in the layout accumulators read
 * (numbers, booleans and timestamps as float64 with NaN null, text dictionary-coded, int64 as
 * two float64 halves), and the join key columns as canonical text (int64 in decimal).
 */
export interface DecodedEvents {
  /** Index in the batch of each accepted event. */
  readonly lines: readonly number[];
  /** The accepted events' JSON texts (as DuckDB re-serializes a pushed event: digits kept). */
  readonly raws: readonly string[];
  readonly ts: Float64Array;
  readonly columns: ReadonlyMap<string, EventColumn>;
  /**
   * The values of the row-transform expressions (filters and derived columns, see
   * `row-transforms.ts`) of the views the events were decoded for, by the expression's SQL.
   */
  readonly derived?: ReadonlyMap<string, EventColumn>;
  /** The accepted events' ids (text), when the source declares `eventId`. */
  readonly ids?: readonly string[];
  readonly rejected: readonly RejectedEvent[];
  /**
   * Lines of new events left out as duplicates before the log (see `markRequestDuplicates`):
   * answered as duplicates, neither stored nor rejected.
   */
  readonly duplicates?: readonly number[];
  /** New events of a source with checks: every check's result on the group (see `checkGroup`). */
  readonly checks?: BatchVerdict;
}

const LINES = 'stream_lines';
const CHECKED = 'stream_checked';

/**
 * The event times a streamed event may have, against its acknowledgement time: from `ackTime -
 * allowedLateness` (older is `late`) to `ackTime + maxClockSkew` (newer is `future`); unbounded
 * where the source sets no limit or the events are not streamed (files, replay).
 */
export function timelinessBounds(source: Source, ackTime: number, streamed: boolean): { readonly earliest?: number; readonly latest?: number } {
  return {
    ...(streamed && source.allowedLatenessMs !== undefined ? { earliest: ackTime - source.allowedLatenessMs } : {}),
    ...(streamed && source.maxClockSkewMs !== undefined ? { latest: ackTime + source.maxClockSkewMs } : {}),
  };
}

/** Why a streamed event is refused for its time: `late` or `future` against the acknowledgement time. */
function timelinessSql(source: Source, ackTime: number, streamed: boolean): string {
  const ts = parsedValueSql(source.timestamp, 'timestamp');
  const checks: string[] = [];
  const refuse = (test: string, reason: string, limit: string) =>
    checks.push(`WHEN ${ts} ${test} THEN ${literal(`${reason}: event time `)} || (${isoTimestampSql(`make_timestamp(${ts} * 1000)`)}) || ${literal(` is more than ${limit} its acknowledgement at ${toIso(ackTime)}`)}`);
  const { earliest, latest } = timelinessBounds(source, ackTime, streamed);
  if (earliest !== undefined) refuse(`< ${earliest}`, 'late', `the allowed lateness (${formatDuration(source.allowedLatenessMs!)}) before`);
  if (latest !== undefined) refuse(`> ${latest}`, 'future', `the maximum clock skew (${formatDuration(source.maxClockSkewMs!)}) after`);
  if (source.kind === 'cdc') checks.push(`WHEN ${ident(CDC_OP)} IS NULL OR ${ident(CDC_OP)} NOT IN ('insert', 'update', 'delete', 'snapshot') THEN ${literal(`column "${CDC_OP}": must be insert, update, delete or snapshot`)}`);
  return checks.length === 0 ? 'NULL' : `CASE ${checks.join(' ')} END`;
}

/**
 * Why a push body is refused: it breaks the rule every JSON text of events keeps
 * (`strictJsonProblem`: JSON itself, where DuckDB's lenient reader takes NaN, Infinity and
 * trailing commas; no byte order mark; no lone surrogate); or it is not `{"events": [...]}`, or
 * gives "events" twice (DuckDB would read the first, JavaScript the last), which only DuckDB's
 * check found (looked into on this error path only).
 */
function badBody(body: string, source: Source, problem = strictJsonProblem(body)): string {
  const expected = `a JSON object {"events": [{...}, ...]} of events of source "${source.name}"`;
  if (problem !== undefined) {
    if (problem.kind === 'byte order mark') return `the body ${problem.what}; send ${expected} without it`;
    return `the body ${problem.what}; ${surrogateFix(problem) ?? `send ${expected}`}`;
  }
  const parsed = JSON.parse(body) as unknown;
  if (parsed !== null && typeof parsed === 'object' && Array.isArray((parsed as { events?: unknown }).events)) {
    return `the body gives "events" more than once (however spelled), so which list it sends is ambiguous; send one list: ${expected}`;
  }
  return `the body must be ${expected}`;
}

/** One batch handed in: event texts (a connector, with what it knows of them upstream), or a push request body `{"events": [...]}`. */
export type EventPart = { readonly texts: readonly string[]; readonly upstream?: UpstreamDetails } | { readonly body: string };

/** Where decoded line `line` came from: part `line / PART` and index `line % PART` in it. */
export const PART = 2 ** 32;

/**
 * Validates batches of events for a source, set-based in DuckDB with the same rules as file
 * ingest (`rejectReasonSql`), plus, for streamed events, lateness and clock skew against
 * `ackTime`. Push bodies are read by DuckDB's JSON reader, so numbers keep every digit. Returns
 * the accepted events decoded (with the row transforms of `views`, by default the source's
 * views in the project) and the rejected ones with reasons, their `lines` (and rejected
 * `index`) numbered `part * PART + index`, and per part its event count, or the reason its
 * body is not `{"events": [...]}` (none of its events is read then). With `erasure`, events of
 * an erased subject are rejected as `erased` (see `markErasedRows`). New events are each counted
 * once: a request's repeats (and, when checks judge a request together, events whose ids
 * `remembered` finds in the log) are in `duplicates`, neither accepted nor rejected (see
 * `markRequestDuplicates`, `splitRefused`). The engine must not be used by anything else
 * meanwhile (it uses fixed temporary tables).
 */
export async function decodeEvents(
  engine: SqlEngine, project: Project, source: Source, parts: readonly EventPart[], ackTime: number, streamed = true, views = sourceViews(project, source), erasure?: ErasureCheck,
  remembered?: (ids: readonly string[]) => readonly number[],
): Promise<DecodedEvents & { readonly counts: readonly (number | string)[] }> {
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${LINES} (_line DOUBLE, _raw VARCHAR, _problem VARCHAR)`);
  const counts: (number | string)[] = parts.map((part) => ('texts' in part ? part.texts.length : 0));
  const texts = parts.flatMap((part, p) => ('texts' in part ? part.texts.map((_, i) => p * PART + i) : []));
  if (texts.length > 0) {
    await engine.appendColumns(LINES, [
      { type: 'double', values: Float64Array.from(texts) },
      { type: 'text', values: parts.flatMap((part) => ('texts' in part ? part.texts : [])) },
      // What a connector could not read (invalid UTF-8) is refused for that, before any other rule;
      // then a new event's text is held to JSON itself, as a push body is (a log entry replays as accepted).
      { type: 'text', values: parts.flatMap((part) => ('texts' in part ? part.texts.map((text, i) => part.upstream?.problems?.[i] ?? (streamed ? eventTextProblem(text) : undefined) ?? null) : [])) },
    ]);
  }
  // DuckDB's reader is lenient (NaN, Infinity, trailing commas): a body is first held to JSON itself.
  const bodies = parts.flatMap((part, p) => {
    if (!('body' in part)) return [];
    const problem = strictJsonProblem(part.body);
    if (problem === undefined) return [p];
    counts[p] = badBody(part.body, source, problem);
    return [];
  });
  if (bodies.length > 0) {
    await engine.run(`CREATE OR REPLACE TEMP TABLE stream_bodies (p DOUBLE, b VARCHAR)`);
    await engine.appendColumns('stream_bodies', [
      { type: 'double', values: Float64Array.from(bodies) },
      { type: 'text', values: bodies.map((p) => (parts[p] as { body: string }).body) },
    ]);
    // "events" twice (DuckDB would read the first, JavaScript the last) is no body of events: keys are listed only where it can be.
    const eventsOnce = `NOT (contains(b, '\\') OR contains(substr(b, strpos(b, '"events"') + 8), '"events"')) OR len(list_filter(json_keys(b), k -> k = 'events')) = 1`;
    await engine.run(`CREATE OR REPLACE TEMP TABLE stream_shapes AS SELECT p, b, coalesce(CASE WHEN json_valid(b) THEN json_type(b) = 'OBJECT' AND json_type(b, '$.events') = 'ARRAY' AND (${eventsOnce}) END, false) AS ok FROM stream_bodies`);
    for (const { p, ok, n } of await engine.all<{ p: number; ok: boolean; n: number | null }>(`SELECT p, ok, CASE WHEN ok THEN json_array_length(b, '$.events') END::INTEGER AS n FROM stream_shapes`)) {
      counts[p] = ok ? (n ?? 0) : badBody((parts[p] as { body: string }).body, source);
    }
    await engine.run(`INSERT INTO ${LINES} SELECT p * ${PART} + unnest(range(json_array_length(b, '$.events')::BIGINT)), unnest(json_extract(b, '$.events[*]'))::VARCHAR, NULL FROM (SELECT p, CASE WHEN ok THEN b ELSE '{"events": []}' END AS b FROM stream_shapes)`);
    await engine.run('DROP TABLE stream_bodies; DROP TABLE stream_shapes');
  }
  // Texts handed in as texts need not come back from DuckDB: only a push body's events do.
  const decoded = await decodeLines(engine, project, source, ackTime, streamed, bodies.length > 0, views, parts.length, erasure, remembered);
  const raws = bodies.length > 0 ? decoded.raws : decoded.lines.map((line) => (parts[Math.floor(line / PART)] as { texts: readonly string[] }).texts[line % PART]!);
  const rejected = bodies.length > 0 ? withSentTexts(decoded.rejected, parts) : decoded.rejected;
  return { ...decoded, raws, counts, rejected: rejected.map((r) => sentRejection(r, parts)) };
}

/** Rejected events of push bodies with the text the client sent (DuckDB's extraction re-writes it), cut from the body once per body with a refusal. */
function withSentTexts(rejected: readonly RejectedEvent[], parts: readonly EventPart[]): readonly RejectedEvent[] {
  const sent = new Map<number, string[] | undefined>();
  return rejected.map((r) => {
    const p = Math.floor(r.index / PART);
    const part = parts[p]!;
    if (!('body' in part)) return r;
    if (!sent.has(p)) sent.set(p, bodyEventTexts(part.body));
    const text = sent.get(p)?.[r.index % PART];
    // An erased subject's event keeps no text of its own (see markErasedRows).
    return text === undefined || r.reason === ERASED_REASON ? r : { ...r, raw: text };
  });
}

/** A rejected event as its sender sent it: its reason quoting values as written (DuckDB re-writes 1e3 as 1000.0), and where upstream holds it (an erased subject's event keeps its own keyed text: see `markErasedRows`). */
function sentRejection(r: RejectedEvent, parts: readonly EventPart[]): RejectedEvent {
  const part = parts[Math.floor(r.index / PART)]!;
  const at = 'texts' in part ? part.upstream?.at?.[r.index % PART] : undefined;
  return { ...r, reason: withSentValues(r.reason, r.raw), ...(at === undefined ? {} : { at }) };
}

/** The views of a source: whose row transforms decoding computes by default. */
export function sourceViews(project: Project, source: Source): readonly FeatureView[] {
  return project.featureViews.filter((v) => v.source === source.name);
}

async function decodeLines(
  engine: SqlEngine, project: Project, source: Source, ackTime: number, streamed: boolean, withRaw: boolean, views: readonly FeatureView[], requests: number, erasure?: ErasureCheck,
  remembered?: (ids: readonly string[]) => readonly number[],
): Promise<DecodedEvents> {
  const columns = Object.keys(source.schema);
  const basic = rejectReasonSql(source, sourceKeys(project, source.name), sourceCompositeKeys(project, source.name), classifiedColumns(project, source.name));
  // A log entry decoded again replays as it was accepted: the key rules of the way in are not applied again.
  const text = jsonColumnsSql(columns, LINES, listColumns(source), !streamed);
  // New events (not a log entry decoded again) meet the source's checks: single-row ones here, in the validating query.
  const checked = streamed ? inlineCheckSql(source, text, ackTime) : undefined;
  const reasons = [`nullif(${basic}, '')`, timelinessSql(source, ackTime, streamed), ...(checked ? [CHECK_REASON] : []), `''`];
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${CHECKED} AS SELECT *${checked ? ` EXCLUDE (${CHECK_REASON})` : ''}, coalesce(${reasons.join(', ')}) AS _reason FROM (${checked ?? text})`);
  // An erased subject's events are refused (reason `erased`), kept in the log's rejects without their text.
  if (erasure) await markErasedRows(engine, CHECKED, project, source, erasure);
  // Checks that judge a request together judge each new event once: a request's repeats and events the log has are duplicates.
  if (streamed && wholeRequestChecks(source).length > 0) await markRequestDuplicates(engine, source, CHECKED, PART, remembered ?? (() => []));
  const grouped = streamed ? await checkWholeGroup(engine, project, source, CHECKED, ackTime, { count: requests, span: PART }) : undefined;
  const refused = await engine.all<{ index: number; raw: string; reason: string }>(`SELECT _line AS index, _raw AS raw, _reason AS reason FROM ${CHECKED} WHERE _reason <> '' ORDER BY _line`);
  const { rejected, duplicates } = streamed ? splitRefused(source, refused, PART) : { rejected: refused, duplicates: [] };
  const decoded = await readDecodedEvents(engine, source, `SELECT * FROM ${CHECKED} WHERE _reason = ''`, 'text', withRaw, views);
  const checks = streamed ? groupVerdict(source, grouped, rejected.map((r) => r.reason), rejected.length + decoded.lines.length) : undefined;
  return { ...decoded, rejected, ...(duplicates.length > 0 ? { duplicates } : {}), ...(checks ? { checks } : {}) };
}

/**
 * The events of committed lake files (a snapshot's new files), decoded as {@link decodeEvents}
 * decodes accepted events, in `_seq` order; `raws` are empty (the lake holds typed values).
 */
export async function decodeLakeFiles(engine: SqlEngine, source: Source, files: readonly string[], views: readonly FeatureView[] = []): Promise<DecodedEvents> {
  const schema = Object.entries(source.schema).map(([c, type]) => `NULL::${storageType(type)} AS ${ident(c)}`).join(', ');
  const lake = files.length === 0 ? '' : `SELECT * FROM read_parquet(${readPathList(files)}, union_by_name = true) UNION ALL BY NAME `;
  const relation = `SELECT *, row_number() OVER (ORDER BY _seq)::DOUBLE AS _line, NULL::VARCHAR AS _raw FROM (${lake}SELECT ${schema}, NULL::BIGINT AS _ts, NULL::BIGINT AS _seq WHERE FALSE)`;
  return { ...(await readDecodedEvents(engine, source, relation, 'lake', true, views)), rejected: [] };
}
