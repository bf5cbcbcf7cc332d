import { exceedsKeyBytes, type FeatureView, type Project, type Source } from '../definitions/index.js';
import { sourceCompositeKeys, sourceKeys } from '../ingest/source-keys.js';
import { isCalendarDay } from '../time/timestamp-text.js';
import type { EventColumn } from '../processing/aggregations/index.js';
import { rowExpressions } from '../processing/row-transforms.js';
import type { DecodedEvents, EventPart } from './decode-events.js';
import { PART, timelinessBounds } from './decode-events.js';

/** The schema types whose every accepted JSON value reads the same in JavaScript as in DuckDB. */
const PLAIN_TYPES = new Set(['string', 'float64', 'bool', 'timestamp']);
/** Event times the plain path reads itself: 1970-01-01 up to (not including) 10000-01-01. */
const LAST_MS = 253_402_300_800_000;

type Decoded = DecodedEvents & { readonly counts: readonly (number | string)[] };

/**
 * Whether {@link decodePlainEvents} can ever take events of `source` (for `views`): a stream
 * source without checks, whose schema has only strings, float64, booleans and timestamps, whose
 * event id and join keys are strings of one column each, read by views without row transforms.
 */
export function plainDecodable(project: Project, source: Source, views: readonly FeatureView[]): boolean {
  if (source.kind !== 'stream' || (source.checks?.length ?? 0) > 0 || rowExpressions(views).length > 0) return false;
  if (sourceCompositeKeys(project, source.name).length > 0) return false;
  const schema = source.schema as Readonly<Record<string, string>>;
  // Names a JSON text can only spell one way (see the duplicate-key count in decodePlainEvents).
  if (Object.entries(schema).some(([c, type]) => !PLAIN_TYPES.has(type) || !/^[\w .-]+$/.test(c) || c === 'events')) return false;
  if (schema[source.timestamp] !== 'timestamp') return false;
  if (source.eventId !== undefined && schema[source.eventId] !== 'string') return false;
  return sourceKeys(project, source.name).every((k) => schema[k.column] === 'string');
}

/** Occurrences of `needle` in `text`. */
function occurrences(text: string, needle: string): number {
  let n = 0;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) n++;
  return n;
}

/** Where a push body's first event starts when the body is `JSON.stringify` of `{events}`. */
const EVENTS_OPEN = '{"events":[';

/**
 * The text of push body event `event` (the `i`-th of `count`), `JSON.stringify` of it, and
 * whether the body holds exactly that text at `at` followed by `,` (or `]` for the last):
 * then the text is the body's own slice (a few bytes that refer to the body, where a copy per
 * event cost about twice the body's size), and the next event starts past it. A body of
 * events thus matched from the first to the last, then `]}`, is the stringify of its parsed
 * events, which writes each key once, so it holds no key twice. One string compare per event
 * (joining the texts and comparing the whole cost a copy of the body more, and more time).
 */
function stringifiedEvent(body: string, event: unknown, at: number, i: number, count: number): { readonly text: string; readonly next: number } {
  const text = JSON.stringify(event);
  if (at < 0) return { text, next: -1 };
  const slice = body.slice(at, at + text.length);
  if (slice !== text || body.charCodeAt(at + text.length) !== (i === count - 1 ? 93 : 44)) return { text, next: -1 };
  return { text: slice, next: at + text.length + 1 };
}

/**
 * Whether a text is well-formed UTF-16 (no lone surrogate). DuckDB reads a lone surrogate as
 * U+FFFD, JavaScript keeps it: a library caller's string can hold one (a body read from HTTP cannot).
 * `isWellFormed` is native in Node 20 (ES2024, past this project's `lib`).
 */
const wellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/** The number written by the decimal digits `text[from, to)`, or -1 when one of them is not a digit. */
function digits(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * A timestamp text as epoch ms, when it is the canonical UTC form (`2024-03-01T12:00:00.000Z`) of
 * a time in range: exactly `toIso`'s text of that time (read digit by digit; `Date.parse` and
 * `toIso` of each event's time cost twice as much).
 */
export function canonicalTime(text: string): number | undefined {
  if (text.length !== 24 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || text.charCodeAt(19) !== 46 || text.charCodeAt(23) !== 90) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  const milli = digits(text, 20, 23);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || milli < 0) return undefined;
  if (!isCalendarDay(year, month, day)) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, milli);
  return ms < LAST_MS ? ms : undefined;
}

/**
 * A fast path for new streamed events that are plainly valid: decodes a group of batches in
 * JavaScript into exactly what `decodeEvents` would give (the same lines, texts, times, ids and
 * columns, with nothing rejected), or declines (undefined) as soon as any event of the group is
 * not plainly valid, and the caller decodes the group in DuckDB, where the validation rules live
 * and every refusal gets its reason. "Plainly valid" is a strict subset of what ingest accepts:
 * every event is a JSON object whose keys are schema columns (each once) holding null or a value
 * of the column's own JSON type (a finite number for float64, true/false for bool, a string for
 * string, the canonical ISO-8601 UTC text for a timestamp), with its event time, event id and
 * join keys present, the id and keys no longer than `MAX_KEY_BYTES`, and the event time within
 * the lateness and clock-skew limits of `ackTime` (when `streamed`).
 * Anything else (an escape `\u`, a lone surrogate, a number as text, a missing key, a late event, a body with more
 * than `events`) declines. Check {@link plainDecodable} first, and that no subject of the source
 * is erased. A push body's event texts are `JSON.stringify` of its events (the schema's values,
 * exactly, in the sender's key order).
 */
export function decodePlainEvents(project: Project, source: Source, parts: readonly EventPart[], ackTime: number, streamed = true): Decoded | undefined {
  const schema = source.schema as Readonly<Record<string, string>>;
  const columns = Object.keys(schema);
  const quoted = columns.map((c) => `"${c}"`);
  const keys = sourceKeys(project, source.name).map((k) => k.column);
  const required = [source.timestamp, ...(source.eventId === undefined ? [] : [source.eventId]), ...keys];
  const bounds = timelinessBounds(source, ackTime, streamed);
  const earliest = bounds.earliest ?? -Infinity;
  const latest = bounds.latest ?? Infinity;
  const lines: number[] = [];
  const raws: string[] = [];
  const counts: number[] = [];
  const events: Record<string, unknown>[] = [];
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    const texts = 'texts' in part ? part.texts : [part.body];
    let present = 0;
    if ('texts' in part && part.upstream?.problems?.some((p) => p !== undefined)) return undefined;
    for (const text of texts) if (text.includes('\\u') || !wellFormed(text)) return undefined;
    let batch: unknown[];
    try {
      if ('texts' in part) batch = part.texts.map((t) => JSON.parse(t) as unknown);
      else {
        const body = JSON.parse(part.body) as unknown;
        if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length !== 1) return undefined;
        const list = (body as { events?: unknown }).events;
        if (!Array.isArray(list)) return undefined;
        batch = list;
      }
    } catch {
      return undefined;
    }
    // Where the next event's text starts in a body that is so far the stringify of its events (-1: it is not).
    let at = 'body' in part && part.body.startsWith(EVENTS_OPEN) ? EVENTS_OPEN.length : -1;
    for (let i = 0; i < batch.length; i++) {
      const event = batch[i];
      if (event === null || typeof event !== 'object' || Array.isArray(event)) return undefined;
      for (const key in event) {
        if (!Object.hasOwn(schema, key)) return undefined;
        present++;
      }
      events.push(event as Record<string, unknown>);
      lines.push(p * PART + i);
      if ('texts' in part) raws.push(part.texts[i]!);
      else {
        const sent = stringifiedEvent(part.body, event, at, i, batch.length);
        raws.push(sent.text);
        at = sent.next;
      }
    }
    const stringified = 'body' in part && (batch.length === 0 ? part.body === `${EVENTS_OPEN}]}` : at === part.body.length - 1 && part.body.charCodeAt(at) === 125);
    // No key twice (JSON.parse keeps the last, DuckDB the first): a body written by JSON.stringify
    // has none; else each schema column's quoted name once per event that has it, and "events" once.
    if (!stringified) {
      let quotes = 0;
      for (const text of texts) for (const q of quoted) quotes += occurrences(text, q);
      if (quotes !== present || ('body' in part && occurrences(part.body, '"events"') !== 1)) return undefined;
    }
    counts.push(batch.length);
  }
  const n = events.length;
  const out = new Map<string, EventColumn>();
  let ts: Float64Array | undefined;
  for (const column of columns) {
    const type = schema[column]!;
    const must = required.includes(column);
    if (type === 'string') {
      const dict: string[] = [];
      const index = new Map<string, number>();
      const codes = new Int32Array(n);
      const key = keys.includes(column);
      // A join key or an event id too long for the stores' keys: DuckDB refuses it, with its reason.
      const bounded = key || column === source.eventId;
      for (let r = 0; r < n; r++) {
        const v = events[r]![column];
        if (v === undefined || v === null) {
          if (must) return undefined;
          codes[r] = -1;
          continue;
        }
        if (typeof v !== 'string' || (key && v === '') || (bounded && exceedsKeyBytes(v))) return undefined;
        let code = index.get(v);
        if (code === undefined) index.set(v, (code = dict.push(v) - 1));
        codes[r] = code;
      }
      out.set(column, { dict, codes });
      continue;
    }
    const values = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      const v = events[r]![column];
      if (v === undefined || v === null) {
        if (must) return undefined;
        values[r] = NaN;
      } else if (type === 'float64') {
        if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
        values[r] = v + 0;
      } else if (type === 'bool') {
        if (typeof v !== 'boolean') return undefined;
        values[r] = v ? 1 : 0;
      } else {
        const ms = typeof v === 'string' ? canonicalTime(v) : undefined;
        if (ms === undefined || (column === source.timestamp && (ms < earliest || ms > latest))) return undefined;
        values[r] = ms;
      }
    }
    if (column === source.timestamp) ts = values;
    out.set(column, values);
  }
  const ids = source.eventId === undefined ? undefined : events.map((e) => e[source.eventId!] as string);
  return { lines, raws, ts: ts!, columns: out, ...(ids === undefined ? {} : { ids }), rejected: [], counts };
}
