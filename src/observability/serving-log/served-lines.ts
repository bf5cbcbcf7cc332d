import { createHash } from 'node:crypto';
import type { OnlineFeaturesResponse } from '../../serving/online-features.js';
import type { ValueStatus } from '../../processing/evaluate-online.js';
import type { LineChunks } from './line-chunks.js';
import { STATUS_CODES } from './served-row.js';

/**
 * Formats the lines of one answered request in the compact format (see `served-row.ts`): one
 * request line with the parts every row shares (request id, service, `asOf`, `servedAt`, views),
 * then per sampled row its entity key, join keys, the id of its names line, its values by
 * position and one status letter per value. Built for the serving path: a row's text is the one
 * the HTTP answer was built from (the native `JSON.stringify` of the row, join keys first), cut
 * after the join keys into `keys`, its features' part written into the file's chunk and its names
 * dropped there (`positionalValues`), then the status letters: no line string and no object is
 * built per row, no value is serialized again, and nothing of the answer is kept.
 */

/** The per feature list parts: the names, their JSON-quoted forms, and the names line rows refer to. */
interface FeatureShape {
  readonly names: readonly string[];
  readonly quoted: readonly string[];
  /** Per name, the UTF-8 bytes of its quoted form and the colon (`"<name>":`). */
  readonly nameBytes: Int32Array;
  readonly columns: ServedColumns;
}

/** A names line: `{"columns":"<id>","names":[...]}`, the id a hash of the names, the same in every process. */
export interface ServedColumns {
  readonly id: string;
  /** The line, with its newline. */
  readonly line: string;
}

// `features` of an answer is the serving plan's array, the same for every request of a service.
const shapes = new WeakMap<readonly string[], FeatureShape>();

function shapeOf(features: readonly string[]): FeatureShape {
  let shape = shapes.get(features);
  if (!shape) {
    const quoted = features.map((f) => `${JSON.stringify(f)}:`);
    const namesJson = JSON.stringify(features);
    const id = createHash('sha256').update(namesJson).digest('hex').slice(0, COLUMNS_ID_HEX);
    const columns = { id, line: `{"columns":"${id}","names":${namesJson}}\n` };
    shapes.set(features, (shape = { names: features, quoted, nameBytes: Int32Array.from(quoted, (q) => Buffer.byteLength(q)), columns }));
  }
  return shape;
}

/** Hex digits of a names line's id (64 bits: two lists of names in one log never share one). */
const COLUMNS_ID_HEX = 16;

/**
 * The names line the compact row lines of an answer with these `features` refer to (by `id`);
 * the writer puts it in a file before the first such row of each append.
 *
 * @example
 * servedColumns(['txn__count_7d']).line; // '{"columns":"3b1c…","names":["txn__count_7d"]}\n'
 */
export function servedColumns(features: readonly string[]): ServedColumns {
  return shapeOf(features).columns;
}

const STATUS_BYTES = new Map(Object.entries(STATUS_CODES).map(([status, code]) => [status, code.charCodeAt(0)]));
const UNKNOWN_STATUS = 0x3f; // '?': a status this build does not know; readers skip the row.
const STATUS_OPEN = Buffer.from(',"status":"');
const LINE_END = Buffer.from('"}\n');

/** `JSON.stringify`, with a bigint (an int64 beyond 2^53) as its decimal string; the replacer only when one is there. */
export function lineJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }
}

/** A value as JSON, `null` where `JSON.stringify` would leave it out. */
function valueJson(value: unknown): string {
  return value === undefined ? 'null' : lineJson(value);
}

/** The join keys of a row as the inside of `keys`, value by value. */
function keysText(keys: ServedKeys, row: Record<string, unknown>): string {
  let text = '';
  for (let k = 0; k < keys.quotedKeys.length; k++) text += `${k === 0 ? '' : ','}${keys.quotedKeys[k]}${valueJson(row[keys.joinKeys[k]!])}`;
  return text;
}

/** A row's `values` by position, value by value. */
function valuesText(shape: FeatureShape, row: Record<string, unknown>): string {
  let text = '[';
  for (let i = 0; i < shape.names.length; i++) text += `${i === 0 ? '' : ','}${valueJson(row[shape.names[i]!])}`;
  return `${text}]`;
}

/** What the lines of one request share. */
export interface ServedRequest {
  readonly service: string;
  readonly requestId: string;
  readonly servedAt: number;
}

/** The join keys rows are logged by. */
export interface ServedKeys {
  readonly joinKeys: readonly string[];
  /** `joinKeys` JSON-quoted, each followed by `:`. */
  readonly quotedKeys: readonly string[];
}

/**
 * A view's entry of the request line's `views` (`"<name>":{"definitionHash":...,"snapshots":...}`),
 * kept per served view: the serving path hands out the same `ServedView` object for a table while
 * it answers (see `servedView` in `served-table.ts`), so its entry is written once, not per request.
 * A `ServedView` is never changed once made; a new one (another table, a STALE verdict) gets its own.
 */
const viewEntries = new WeakMap<object, { readonly name: string; readonly json: string }>();

/** The request line's `views`: exactly `lineJson` of `{ name: { definitionHash, snapshots } }` for each view in order. */
function viewsJson(views: OnlineFeaturesResponse['views']): string {
  let json = '';
  for (const name in views) {
    const view = views[name]!;
    let entry = viewEntries.get(view);
    if (entry === undefined || entry.name !== name) {
      entry = { name, json: `${JSON.stringify(name)}:${lineJson({ definitionHash: view.viewHash ?? '', snapshots: view.snapshots })}` };
      viewEntries.set(view, entry);
    }
    json = json === '' ? entry.json : `${json},${entry.json}`;
  }
  return `{${json}}`;
}

/**
 * The request line (with its newline) and the head every row line of the request starts with.
 * `serviceJson`, when given, is `JSON.stringify(request.service)` (kept by the caller per service).
 *
 * @example
 * const { line, rowHead } = requestLines({ service: 'fraud_v1', requestId: 'r1', servedAt: Date.now() }, response);
 */
export function requestLines(request: ServedRequest, response: OnlineFeaturesResponse, serviceJson?: string): { readonly line: string; readonly rowHead: string } {
  const id = JSON.stringify(request.requestId);
  const servedAt = String(request.servedAt);
  return {
    line: `{"requestId":${id},"service":${serviceJson ?? JSON.stringify(request.service)},"asOf":${JSON.stringify(response.asOf)},"servedAt":${servedAt},"views":${viewsJson(response.views)}}\n`,
    rowHead: `{"requestId":${id},"servedAt":${servedAt},"entityKey":`,
  };
}

/**
 * Writes the row line of row `r` of the answer (its entity key already computed) into `out`:
 * `rowHead + entityKey + ',"keys":{...},"columns":"<id>","values":[...],"status":"PPN..."}\n'`
 * (`id` that of `servedColumns(response.features)`). `rowJson`, when given, is `JSON.stringify`
 * of that row (no bigint in it). The fast path cuts that text after the join keys, checking that
 * they open it and the first feature follows, and drops the names of the rest in the chunk
 * (checked: the features in order, nothing after); any other row (another key order, a feature
 * list of another entity) is written value by value. True when it took a new chunk.
 *
 * @example
 * writeRowLine(chunks, rowHead, { joinKeys: ['customer_id'], quotedKeys: ['"customer_id":'] }, response, 0, 'c1');
 */
export function writeRowLine(out: LineChunks, rowHead: string, keys: ServedKeys, response: OnlineFeaturesResponse, r: number, entityKey: string, rowJson?: string): boolean {
  const shape = shapeOf(response.features);
  const row = response.rows[r]!;
  let head: string | undefined;
  // The row's features with their names (`"<name>":<value>,...}`), cut from its text.
  let named = '';
  if (shape.quoted.length > 0) {
    const text = rowJson ?? lineJson(row);
    let at = 1;
    let fits = true;
    // With one join key holding the entity key itself (a string key), its JSON is the key's.
    let keyJson: string | undefined;
    for (let k = 0; fits && k < keys.quotedKeys.length; k++) {
      const name = keys.quotedKeys[k]!;
      fits = text.startsWith(name, at);
      if (fits) {
        const value = row[keys.joinKeys[k]!];
        const start = at + name.length;
        // A scalar's JSON ends at the next `,"` (a quote inside a JSON string is escaped): no second serialization.
        const end = typeof value !== 'object' ? text.indexOf(',"', start) : start + valueJson(value).length;
        if (keys.quotedKeys.length === 1 && value === entityKey) keyJson = text.slice(start, end);
        fits = end > start && text.charCodeAt(end) === 44; // ','
        at = end + 1;
      }
    }
    if (fits && text.startsWith(shape.quoted[0]!, at)) {
      head = `${rowHead}${keyJson ?? JSON.stringify(entityKey)},"keys":{${text.slice(1, at - 1)}},"columns":"${shape.columns.id}","values":`;
      named = text.slice(at);
    }
  }
  if (head === undefined) head = `${rowHead}${JSON.stringify(entityKey)},"keys":{${keysText(keys, row)}},"columns":"${shape.columns.id}","values":`;
  const statuses: readonly ValueStatus[] = response.metadata[r]!.status;
  const tail = STATUS_OPEN.length + statuses.length + LINE_END.length;
  let took = false;
  if (named !== '') {
    took = out.reserve(3 * (head.length + named.length) + tail);
    const lineStart = out.mark();
    out.text(head);
    if (!out.positional(named, shape.nameBytes)) {
      out.rewind(lineStart);
      named = '';
    }
  }
  if (named === '') {
    const values = valuesText(shape, row);
    took = out.reserve(3 * (head.length + values.length) + tail) || took;
    out.text(head);
    out.text(values);
  }
  for (let i = 0; i < STATUS_OPEN.length; i++) out.byte(STATUS_OPEN[i]!);
  // Neighbouring features mostly share a status: look a status up only when it changes.
  let previous: ValueStatus | undefined;
  let code = UNKNOWN_STATUS;
  for (let i = 0; i < statuses.length; i++) {
    const status = statuses[i]!;
    if (status !== previous) code = STATUS_BYTES.get((previous = status)) ?? UNKNOWN_STATUS;
    out.byte(code);
  }
  for (let i = 0; i < LINE_END.length; i++) out.byte(LINE_END[i]!);
  return took;
}
