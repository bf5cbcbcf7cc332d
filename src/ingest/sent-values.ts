/**
 * The text of each member's value of a JSON object, exactly as written (`{"qty": 1e3}` gives
 * `qty` -> `1e3`), by key (the first of a key given twice, as DuckDB reads it); undefined when
 * the text is not one JSON object. One pass, no parse of the values.
 *
 * @example
 * memberTexts('{"qty": 1e3, "tags": [1, 2]}'); // Map { 'qty' => '1e3', 'tags' => '[1, 2]' }
 */
export function memberTexts(text: string): Map<string, string> | undefined {
  const members = new Map<string, string>();
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 0x7b) return undefined;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === 0x7d) return skipSpace(text, i + 1) === text.length ? members : undefined;
  for (;;) {
    if (text.charCodeAt(i) !== 0x22) return undefined;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) return undefined;
    let key: string;
    try {
      key = JSON.parse(text.slice(i, keyEnd)) as string;
    } catch {
      return undefined;
    }
    i = skipSpace(text, keyEnd);
    if (text.charCodeAt(i) !== 0x3a) return undefined;
    const from = skipSpace(text, i + 1);
    const to = valueEnd(text, from);
    if (to <= from) return undefined;
    if (!members.has(key)) members.set(key, text.slice(from, to));
    i = skipSpace(text, to);
    const c = text.charCodeAt(i);
    if (c === 0x7d) return skipSpace(text, i + 1) === text.length ? members : undefined;
    if (c !== 0x2c) return undefined;
    i = skipSpace(text, i + 1);
  }
}

/**
 * The text of each element of a JSON array, exactly as written (without the whitespace around
 * it); undefined when the text is not one JSON array.
 *
 * @example
 * elementTexts('[{"qty": 1e3}, 7 ]'); // ['{"qty": 1e3}', '7']
 */
export function elementTexts(text: string): string[] | undefined {
  const elements: string[] = [];
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 0x5b) return undefined;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === 0x5d) return skipSpace(text, i + 1) === text.length ? elements : undefined;
  for (;;) {
    const to = valueEnd(text, i);
    if (to <= i) return undefined;
    elements.push(text.slice(i, to));
    i = skipSpace(text, to);
    const c = text.charCodeAt(i);
    if (c === 0x5d) return skipSpace(text, i + 1) === text.length ? elements : undefined;
    if (c !== 0x2c) return undefined;
    i = skipSpace(text, i + 1);
  }
}

const skipSpace = (text: string, from: number): number => {
  let i = from;
  while (i < text.length && ' \n\r\t'.includes(text[i]!)) i++;
  return i;
};

/** The index after the string that starts at `from` (a `"`), or -1 when it does not end. */
function stringEnd(text: string, from: number): number {
  for (let i = from + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  return -1;
}

/** The index after the value that starts at `from`: a string, a nested object or array (strings in it skipped), or a scalar token. */
function valueEnd(text: string, from: number): number {
  const first = text.charCodeAt(from);
  if (first === 0x22) return stringEnd(text, from);
  if (first === 0x7b || first === 0x5b) {
    let depth = 0;
    for (let i = from; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i = stringEnd(text, i) - 1;
        if (i < 0) return -1;
      } else if (c === 0x7b || c === 0x5b) depth++;
      else if ((c === 0x7d || c === 0x5d) && --depth === 0) return i + 1;
    }
    return -1;
  }
  let i = from;
  while (i < text.length && !',}] \n\r\t'.includes(text[i]!)) i++;
  return i;
}

/** `column "<name>": "<value>"`: how a reason quotes a refused value (see `rejectReasonSql`). */
const QUOTED_VALUE = /column "([^"]*)": ("(?:[^"\\]|\\.)*")/g;

/**
 * A refusal's reason with each value it quotes as the sender wrote it in `sent` (the event's
 * JSON text): DuckDB's JSON reader re-writes a number that is not a plain integer (`1e3` reads
 * as `1000.0`, `2.50E+1` as `25.0`), and a reason must quote what the sender can find in what
 * it sent. Only numbers differ (strings, booleans and integers come back as written); a reason
 * without a quoted value, a value not written as a number, and a `sent` that is not a JSON
 * object (a CSV line) are left as they are. For the error path only: one pass over `sent`.
 *
 * @example
 * withSentValues('column "qty": "1000.0" is not an int64', '{"qty": 1e3}'); // 'column "qty": "1e3" is not an int64'
 */
export function withSentValues(reason: string, sent: string | undefined): string {
  if (sent === undefined || !reason.includes('column "')) return reason;
  let members: Map<string, string> | undefined | null = null;
  return reason.replace(QUOTED_VALUE, (whole, column: string, quoted: string) => {
    members ??= memberTexts(sent);
    const written = members?.get(column);
    if (written === undefined || !/^-?[0-9]/.test(written) || JSON.stringify(written) === quoted) return whole;
    return `column "${column}": ${JSON.stringify(written)}`;
  });
}
