const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;

/** Where the rows of a request line are in its text: the inside of its `rows` list, `[open, close)`, and each row's `[start, end)`. */
export interface RequestRowSpans {
  readonly open: number;
  readonly close: number;
  readonly rows: readonly (readonly [number, number])[];
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * The spans of the rows of a request line (`{..., "rows":[[...],[...]]}`, see `served-row.ts`),
 * found by a scan of its JSON text (strings skipped, depth counted), so that a purge can cut a row
 * out and keep every other byte of the line as written; undefined when the line is not a JSON
 * object with a top-level `rows` list. The text is assumed to parse (`JSON.parse` read it first).
 *
 * @example
 * requestRowSpans('{"rows":[["a",[1]],["b",[2]]]}'); // { open: 9, close: 28, rows: [[9, 18], [19, 28]] }
 */
export function requestRowSpans(text: string): RequestRowSpans | undefined {
  let depth = 0;
  let lastKey = '';
  let open = -1;
  let start = -1;
  let end = -1;
  const rows: [number, number][] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const from = i;
      for (i++; i < text.length && text.charCodeAt(i) !== QUOTE; i++) if (text.charCodeAt(i) === BACKSLASH) i++;
      if (depth === 1) lastKey = text.slice(from + 1, i);
      if (open >= 0 && depth === 2 && start < 0) start = from;
      end = i + 1;
      continue;
    }
    if (isSpace(c)) continue;
    if (open >= 0 && depth === 2) {
      if (c === COMMA || c === CLOSE_LIST) {
        if (start >= 0) rows.push([start, end]);
        start = -1;
        if (c === CLOSE_LIST) return { open, close: i, rows };
        continue;
      }
      if (start < 0) start = i;
    }
    if (c === OPEN_OBJECT || c === OPEN_LIST) {
      if (depth === 1 && c === OPEN_LIST && lastKey === 'rows' && open < 0 && text.charCodeAt(prevNonSpace(text, i)) === COLON) open = i + 1;
      depth++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_LIST) {
      depth--;
      end = i + 1;
    } else if (c !== COLON && c !== COMMA) end = i + 1;
  }
  return undefined;
}

function prevNonSpace(text: string, at: number): number {
  let i = at - 1;
  while (i > 0 && isSpace(text.charCodeAt(i))) i--;
  return i;
}
