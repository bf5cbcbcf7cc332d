import type { OnlineFeaturesResponse } from '../../serving/online-features.js';

// `features` of an answer is the serving plan's array, the same for every request of a service:
// kept per array, its JSON's UTF-8 length and the answer's keys before `rows` (the answers of one
// plan are built by one object literal, so their keys come in one order; the offset is checked anyway).
const layouts = new WeakMap<readonly string[], AnswerLayout>();

interface AnswerLayout {
  readonly featuresBytes: number;
  readonly before: readonly string[];
  /** The bytes that mark the rows, for the rows' first key they were made for. */
  marks?: RowMarks;
}

/** `"rows":[{"<first>":` and the bytes between two rows, `},{"<first>":`. */
interface RowMarks {
  readonly first: string;
  readonly rowsOpen: Buffer;
  readonly between: Buffer;
}

function marksOf(layout: AnswerLayout, first: string): RowMarks {
  let marks = layout.marks;
  if (marks === undefined || marks.first !== first) {
    const open = `{${JSON.stringify(first)}:`;
    layout.marks = marks = { first, rowsOpen: Buffer.from(`"rows":[${open}`), between: Buffer.from(`},${open}`) };
  }
  return marks;
}

function layoutOf(response: OnlineFeaturesResponse): AnswerLayout {
  let layout = layouts.get(response.features);
  if (layout === undefined) {
    const keys = Object.keys(response);
    const rows = keys.indexOf('rows');
    layout = { featuresBytes: Buffer.byteLength(JSON.stringify(response.features)), before: rows < 0 ? keys : keys.slice(0, rows) };
    layouts.set(response.features, layout);
  }
  return layout;
}

/** The first key of a row. */
function firstKey(row: object | undefined): string | undefined {
  for (const key in row) return key;
  return undefined;
}

function startsWith(bytes: Uint8Array, at: number, mark: Uint8Array): boolean {
  if (at + mark.length > bytes.length) return false;
  for (let i = 0; i < mark.length; i++) if (bytes[at + i] !== mark[i]) return false;
  return true;
}

/**
 * Where the answer's first row (its `{`) is in the answer's UTF-8 bytes (`JSON.stringify` of the
 * answer), or -1: worked out from the lengths of the keys before `rows` (the features' JSON length
 * and the keys' order are kept per features array) and checked there, so the bytes before the
 * rows are not scanned; searched for when the check fails. Before the rows come only `asOf` and
 * `features` (and in tests scalars), whose strings cannot hold an unescaped quote, so the first
 * occurrence of `"rows":[{"<first key>":` is the rows'.
 *
 * @example
 * answerRowsStart(Buffer.from(JSON.stringify(response)), response); // the offset of the first row's `{`
 */
export function answerRowsStart(bytes: Buffer, response: OnlineFeaturesResponse): number {
  const first = firstKey(response.rows[0]);
  if (first === undefined) return -1;
  const layout = layoutOf(response);
  const { rowsOpen } = marksOf(layout, first);
  const answer = response as unknown as Record<string, unknown>;
  let at = 1;
  for (const key of layout.before) {
    const value = answer[key];
    let length: number | undefined = layout.featuresBytes;
    if (key !== 'features' || value !== response.features) {
      const json = JSON.stringify(value) as string | undefined;
      length = json === undefined ? undefined : Buffer.byteLength(json);
    }
    // JSON.stringify leaves out a key whose value it cannot write (undefined, a function).
    if (length !== undefined) at += Buffer.byteLength(key) + 4 + length;
  }
  if (!startsWith(bytes, at, rowsOpen)) at = bytes.indexOf(rowsOpen);
  return at < 0 ? -1 : at + '"rows":['.length;
}

/**
 * Where row `row + 1` starts, row `row` starting at `at`: found by the bytes between two rows,
 * `},{"<first key>":`, once row `row + 1` is known to start with the first key of the answer's
 * first row (else the search would find a later row). A row holds scalars and lists of scalars
 * only, so its text is a flat object, and those bytes cannot occur inside a string (its quote
 * would be escaped) nor inside a row: the first occurrence after `at` ends row `row`. -1 when it
 * cannot be found so (the rows' first keys differ, or `row` is the last row).
 *
 * @example
 * nextAnswerRow(bytes, response, 0, answerRowsStart(bytes, response)); // the second row's `{`
 */
export function nextAnswerRow(bytes: Buffer, response: OnlineFeaturesResponse, row: number, at: number): number {
  const first = firstKey(response.rows[0]);
  if (first === undefined || firstKey(response.rows[row + 1]) !== first) return -1;
  const end = bytes.indexOf(marksOf(layoutOf(response), first).between, at);
  return end < 0 ? -1 : end + 2;
}
