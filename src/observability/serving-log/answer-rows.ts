import type { OnlineFeaturesResponse } from '../../serving/online-features.js';

// `features` of an answer is the serving plan's array, the same for every request of a service:
// kept per array, its JSON length and the answer's keys before `rows` (the answers of one plan are
// built by one object literal, so their keys come in one order; the offset is checked anyway).
const layouts = new WeakMap<readonly string[], AnswerLayout>();

interface AnswerLayout {
  readonly featuresLength: number;
  readonly before: readonly string[];
  /** The texts that mark the rows, for the rows' first key and the answer's key after `rows` they were made for. */
  marks?: RowMarks;
}

/** `"rows":[{"<first>":`, the text between two rows and the one after the last row (`}],"<after>":`). */
interface RowMarks {
  readonly first: string;
  readonly after: string | undefined;
  readonly rowsOpen: string;
  readonly between: string;
  readonly close: string | undefined;
}

function marksOf(layout: AnswerLayout, first: string, after: string | undefined): RowMarks {
  let marks = layout.marks;
  if (marks === undefined || marks.first !== first || marks.after !== after) {
    const open = `{${JSON.stringify(first)}:`;
    layout.marks = marks = { first, after, rowsOpen: `"rows":[${open}`, between: `},${open}`, close: after === undefined ? undefined : `}],${JSON.stringify(after)}:` };
  }
  return marks;
}

function layoutOf(response: OnlineFeaturesResponse): AnswerLayout {
  let layout = layouts.get(response.features);
  if (layout === undefined) {
    const keys = Object.keys(response);
    const rows = keys.indexOf('rows');
    layout = { featuresLength: JSON.stringify(response.features).length, before: rows < 0 ? keys : keys.slice(0, rows) };
    layouts.set(response.features, layout);
  }
  return layout;
}

/**
 * Where `"rows":[<open>` is in the answer's text: worked out from the lengths of the keys before
 * `rows` (the features' JSON length and the keys' order are kept per features array) and checked
 * there, so the text before the rows is not scanned; searched for when the check fails. Before
 * the rows come only `asOf` and `features` (and in tests scalars), whose strings cannot hold an
 * unescaped quote, so the first occurrence is the rows'.
 */
function rowsAt(text: string, response: OnlineFeaturesResponse, layout: AnswerLayout, rows: string): number {
  const answer = response as unknown as Record<string, unknown>;
  const { featuresLength, before } = layout;
  let at = 1;
  for (let k = 0; k < before.length; k++) {
    const key = before[k]!;
    const value = answer[key];
    const length = key === 'features' && value === response.features ? featuresLength : (JSON.stringify(value) as string | undefined)?.length;
    // JSON.stringify leaves out a key whose value it cannot write (undefined, a function).
    if (length !== undefined) at += key.length + 4 + length;
  }
  return text.startsWith(rows, at) ? at : text.indexOf(rows);
}

/**
 * Each row's text within the answer's text (`JSON.stringify` of the answer), as slices of it: the
 * serving log cuts its row lines from the HTTP answer's own text instead of serializing the rows again.
 * A row holds scalars and lists of scalars only, so its text is a flat object: between two rows
 * the text is `},{"<first key>":`, which cannot occur inside a string (its quote would be escaped)
 * nor inside a row. Undefined when the answer is not laid out so (rows whose first keys differ).
 *
 * @example
 * answerRowTexts(JSON.stringify(response), response); // [JSON.stringify(response.rows[0]), ...]
 */
export function answerRowTexts(text: string, response: OnlineFeaturesResponse): string[] | undefined {
  const n = response.rows.length;
  let first: string | undefined;
  let after: string | undefined;
  let seen = false;
  for (const key in response.rows[0]) {
    first = key;
    break;
  }
  for (const key in response) {
    if (seen) {
      after = key;
      break;
    }
    seen = key === 'rows';
  }
  if (first === undefined) return undefined;
  const layout = layoutOf(response);
  const marks = marksOf(layout, first, after);
  let at = rowsAt(text, response, layout, marks.rowsOpen);
  if (at < 0) return undefined;
  at += '"rows":['.length;
  const rows = new Array<string>(n);
  const between = marks.between;
  for (let r = 0; r < n - 1; r++) {
    const end = text.indexOf(between, at);
    if (end < 0) return undefined;
    rows[r] = text.slice(at, end + 1);
    at = end + 2;
  }
  // The last row ends before `]` and the answer's next key (or the answer's end).
  const end = after === undefined ? (text.endsWith('}]}') ? text.length - 2 : -1) : text.indexOf(marks.close!, at) + 1;
  if (end <= at) return undefined;
  rows[n - 1] = text.slice(at, end);
  return rows;
}
