import type { OnlineFeaturesResponse } from '../../serving/online-features.js';
import type { LineChunks } from './line-chunks.js';

/**
 * The request line of the serving log (see `served-row.ts`): what the rows of one answered request
 * share (its id, service, `asOf`, `servedAt` and the views' definition hashes and snapshots), and
 * since 2026-11-30 (17) its rows (`served-lines.ts`), written into the file's chunk from bytes made
 * once (the service's part per plan, the views' part per list of served views) and the request's
 * short parts written in place.
 */

/** The request line's opening, `{"requestId":`, and its `servedAt` key. */
const REQUEST_OPEN = Buffer.from('{"requestId":');
const SERVED_AT = Buffer.from(',"servedAt":');

/** `JSON.stringify`, with a bigint (an int64 beyond 2^53) as its decimal string; the replacer only when one is there. */
export function lineJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }
}

/** The request line's `views`: exactly `lineJson` of `{ name: { definitionHash, snapshots } }` for each view in order. */
function viewsJson(views: OnlineFeaturesResponse['views']): string {
  const entries: string[] = [];
  for (const name in views) {
    const view = views[name]!;
    entries.push(`${JSON.stringify(name)}:${lineJson({ definitionHash: view.viewHash ?? '', snapshots: view.snapshots })}`);
  }
  return `{${entries.join(',')}}`;
}

/**
 * The request line's `views` part (`,"views":{...}`), kept per list of
 * served views: the serving path hands out the same `ServedView` object for a table while it
 * answers (see `servedView` in `served-table.ts`), and a `ServedView` is never changed once made; a
 * new one (another table, a STALE verdict) makes new bytes.
 */
interface ViewsBytes {
  readonly names: readonly string[];
  readonly views: readonly object[];
  readonly bytes: Buffer;
}

// Keyed by the first `ServedView` of an answer; the names and the other views are checked.
const viewsBytesCache = new WeakMap<object, ViewsBytes>();

/**
 * The bytes of `,"views":<viewsJson(views)>`: made once for as long as the answers
 * hand out the same `ServedView` objects under the same names (the serving path does while the same
 * tables answer), not serialized, joined and encoded per request.
 */
function viewsBytes(views: OnlineFeaturesResponse['views']): Buffer {
  let cached: ViewsBytes | undefined;
  let i = 0;
  let same = true;
  for (const name in views) {
    const view = views[name]!;
    if (i === 0) cached = viewsBytesCache.get(view);
    if (cached === undefined || cached.names[i] !== name || cached.views[i] !== view) {
      same = false;
      break;
    }
    i++;
  }
  if (same && cached !== undefined && cached.names.length === i) return cached.bytes;
  const names: string[] = [];
  const list: object[] = [];
  for (const name in views) {
    names.push(name);
    list.push(views[name]!);
  }
  const bytes = Buffer.from(`,"views":${viewsJson(views)}`);
  if (list.length > 0) viewsBytesCache.set(list[0]!, { names, views: list, bytes });
  return bytes;
}

/**
 * The request line's part between the request id and `asOf` (`,"service":"<service>","joinKeys":[...],"asOf":`),
 * as bytes; the writer keeps it per service. `joinKeys` (since 2026-11-30 (10)) names the key of the
 * row lines that leave `keys` out.
 *
 * @example
 * writeRequestLine(chunks, 'r1', String(Date.now()), response, servicePart('fraud_v1', ['customer_id']));
 */
export function servicePart(service: string, joinKeys: readonly string[]): Buffer {
  return Buffer.from(`,"service":${JSON.stringify(service)},"joinKeys":${JSON.stringify(joinKeys)},"asOf":`);
}

/**
 * Writes the opening of the request line of an answer into `out`:
 * `{"requestId":<id>,"service":<service>,"joinKeys":[...],"asOf":<asOf>,"servedAt":<servedAt>,"views":{...}`
 * then `rowsOpening` (`,"columns":"<id>","rows":[`, see `served-lines.ts`): exactly what `lineJson`
 * of those fields in that order writes; its rows and the line's end follow. `servedAt` is the
 * number's text (`String(servedAt)`), `service` the bytes of `servicePart(service, joinKeys)`. No line
 * string is built: the fixed parts are copied as bytes, the id and `asOf` written in place.
 *
 * @example
 * writeRequestLine(chunks, 'r1', String(Date.now()), response, servicePart('fraud_v1', ['customer_id']), rowsOpening(response.features));
 */
export function writeRequestLine(out: LineChunks, requestId: string, servedAt: string, response: OnlineFeaturesResponse, service: Uint8Array, rowsOpening: Uint8Array): void {
  const views = viewsBytes(response.views);
  out.reserve(REQUEST_OPEN.length + 6 * requestId.length + 2 + service.length + 6 * response.asOf.length + 2 + SERVED_AT.length + servedAt.length + views.length + rowsOpening.length);
  out.copy(REQUEST_OPEN);
  out.jsonString(requestId);
  out.copy(service);
  out.jsonString(response.asOf);
  out.copy(SERVED_AT);
  out.ascii(servedAt);
  out.copy(views);
  out.copy(rowsOpening);
}
