import type { OnlineFeaturesResponse } from '../../serving/online-features.js';
import type { ServedRow } from './served-row.js';

/**
 * Formats the `ServedRow` lines of one answered request (see `served-row.ts`), fields in the
 * contract's order. Built for the serving path: the request's common parts (service, request id,
 * time, views) are serialized once per request; each row is serialized once, by the native
 * `JSON.stringify` of the answer's row (join keys first, then the features, as the answer builds
 * it), and cut into its `keys` and `values` parts; a row's statuses, usually all one status, come
 * from a cache per feature list. No object is built per row, and nothing of the answer is kept.
 */

/** The per feature list parts: quoted names, and the `statuses` object of rows whose statuses are all one. */
interface FeatureShape {
  readonly names: readonly string[];
  readonly quoted: readonly string[];
  readonly uniform: Map<string, string>;
}

// `features` of an answer is the serving plan's array, the same for every request of a service.
const shapes = new WeakMap<readonly string[], FeatureShape>();

function shapeOf(features: readonly string[]): FeatureShape {
  let shape = shapes.get(features);
  if (!shape) shapes.set(features, (shape = { names: features, quoted: features.map((f) => `${JSON.stringify(f)}:`), uniform: new Map() }));
  return shape;
}

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

function statusesJson(shape: FeatureShape, statuses: readonly string[]): string {
  const first = statuses[0];
  let uniform = first !== undefined;
  for (let i = 1; uniform && i < statuses.length; i++) uniform = statuses[i] === first;
  if (uniform) {
    const cached = shape.uniform.get(first!);
    if (cached !== undefined) return cached;
  }
  // Status values are the fixed upper-case names of `ValueStatus`, which need no escaping.
  let text = '{';
  for (let i = 0; i < shape.quoted.length; i++) text += `${i === 0 ? '' : ','}${shape.quoted[i]}"${statuses[i]}"`;
  text += '}';
  if (uniform && shape.uniform.size < 16) shape.uniform.set(first!, text);
  return text;
}

/**
 * `"keys":{...}<time>,"values":{...}` of one row. The fast path cuts the row's own JSON (the one
 * the HTTP answer was built from, when given: see `answerJson`) after its
 * join keys, checking that the join keys open it and the first feature follows; any other row
 * (another key order, a feature list of another entity) is written value by value.
 */
function keysAndValues(row: Readonly<Record<string, unknown>>, rowJson: string | undefined, quotedKeys: readonly string[], joinKeys: readonly string[], shape: FeatureShape, time: string): string {
  if (shape.quoted.length > 0) {
    const text = rowJson ?? lineJson(row);
    let at = 1;
    let fits = true;
    for (let k = 0; fits && k < quotedKeys.length; k++) {
      const name = quotedKeys[k]!;
      fits = text.startsWith(name, at);
      if (fits) {
        at += name.length + valueJson(row[joinKeys[k]!]).length;
        fits = text.charCodeAt(at) === 44; // ','
        at++;
      }
    }
    if (fits && text.startsWith(shape.quoted[0]!, at)) return `"keys":{${text.slice(1, at - 1)}}${time},"values":{${text.slice(at)}`;
  }
  let keys = '';
  for (let k = 0; k < quotedKeys.length; k++) keys += `${k === 0 ? '' : ','}${quotedKeys[k]}${valueJson(row[joinKeys[k]!])}`;
  let values = '';
  for (let i = 0; i < shape.names.length; i++) values += `${i === 0 ? '' : ','}${shape.quoted[i]}${valueJson(row[shape.names[i]!])}`;
  return `"keys":{${keys}}${time},"values":{${values}}`;
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
 * The request's parts every line shares: `[head, time, tail]`, a line being
 * `head + entityKey + ',' + keysAndValues + ',"statuses":' + statuses + tail`.
 */
export function requestParts(request: ServedRequest, response: OnlineFeaturesResponse): readonly [string, string, string] {
  const views: Record<string, ServedRow['views'][string]> = {};
  for (const name in response.views) {
    const v = response.views[name]!;
    views[name] = { definitionHash: v.viewHash ?? '', snapshots: v.snapshots };
  }
  return [
    `{"requestId":${JSON.stringify(request.requestId)},"service":${JSON.stringify(request.service)},"entityKey":`,
    `,"asOf":${JSON.stringify(response.asOf)},"servedAt":${request.servedAt}`,
    `,"views":${lineJson(views)}}\n`,
  ];
}

/**
 * One line (with its newline) of row `r` of the answer, its entity key already computed;
 * `rowJson`, when given, is `JSON.stringify` of that row (no bigint in it).
 *
 * @example
 * const parts = requestParts(request, response);
 * const text = servedLine(parts, { joinKeys: ['customer_id'], quotedKeys: ['"customer_id":'] }, response, 0, 'c1');
 */
export function servedLine(parts: readonly [string, string, string], keys: ServedKeys, response: OnlineFeaturesResponse, r: number, entityKey: string, rowJson?: string): string {
  const shape = shapeOf(response.features);
  return `${parts[0]}${JSON.stringify(entityKey)},${keysAndValues(response.rows[r]!, rowJson, keys.quotedKeys, keys.joinKeys, shape, parts[1])},"statuses":${statusesJson(shape, response.metadata[r]!.status)}${parts[2]}`;
}
