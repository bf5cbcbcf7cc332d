/**
 * Whether text holds an entity key: the one rule every purge uses to find a subject's rows among
 * texts that are not parsed by their source's schema (rejected rows as received, check samples,
 * torn serving-log lines, the durable log's rejected events). A key part counts only as a whole
 * value: next to a character that continues a value (a letter, a digit, `_`, `.`, `-`, `@`) it is
 * inside another value (a date, a decimal, a keyed hash, an e-mail, a longer key), not the
 * subject's key. Before this rule a mention was any substring, so erasing key `2` removed every
 * rejected row with a date in it (review rev11, finding 4).
 */

/** A character after or before which a key part would be inside a longer value. */
const CONTINUES = /[\p{L}\p{N}_.\-@]/u;
/** A part that a JSON writer may write in another form (`1e2` is 100) or a JSON reader may round. */
const NUMERIC = /^[-+0-9.eE]+$/;

/** The character before position `at` (a whole code point), or '' at the start. */
function charBefore(text: string, at: number): string {
  if (at === 0) return '';
  const low = text.charCodeAt(at - 1);
  return low >= 0xdc00 && low <= 0xdfff && at >= 2 ? text.slice(at - 2, at) : text[at - 1]!;
}

/** The character at position `at` (a whole code point), or '' past the end. */
function charAt(text: string, at: number): string {
  const code = text.codePointAt(at);
  return code === undefined ? '' : String.fromCodePoint(code);
}

/**
 * Whether `part` occurs in `text` as a whole value: at some occurrence, neither neighbour continues a value.
 *
 * @example
 * occursWhole('c2,2024-01-01', 'c2'); // true
 * occursWhole('c1,2024-01-01', '2'); // false
 */
export function occursWhole(text: string, part: string): boolean {
  if (part === '') return false;
  for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) {
    if (!CONTINUES.test(charBefore(text, at)) && !CONTINUES.test(charAt(text, at + part.length))) return true;
  }
  return false;
}

/** Every string, member name and (exactly representable) number of a JSON value, decoded. */
function decodedTexts(value: unknown, into: string[]): string[] {
  if (typeof value === 'string') into.push(value);
  // An integer past 2^53 was rounded by the parse: its literal in the text is matched instead.
  else if (typeof value === 'number' && !(Number.isInteger(value) && !Number.isSafeInteger(value))) into.push(String(value));
  else if (Array.isArray(value)) for (const v of value) decodedTexts(v, into);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      into.push(k);
      decodedTexts(v, into);
    }
  }
  return into;
}

/** `part` as a JSON writer writes it inside a string (`a\\"b` for `a"b`). */
const escaped = (part: string): string => JSON.stringify(part).slice(1, -1);

/**
 * Whether raw text (a rejected row as received, a check sample, a serving-log line) holds every
 * part of a key as a whole value (`occursWhole`): when it is JSON, in one of its decoded strings,
 * member names or numbers (a row may write a key with escapes, `"c\\u0037"` for `c7`, or a number
 * in another form, `1e2` for 100), or a numeric part as its literal; otherwise (CSV, a torn JSON
 * line) as written or as a JSON writer escapes it.
 *
 * @example
 * rawMentions('{"customer_id":"c\\u0037"}', ['c7']); // true
 * rawMentions('c1,2024-01-01T00:00:00Z,5', ['2']); // false
 */
export function rawMentions(text: string, parts: readonly string[]): boolean {
  if (parts.length === 0) return false;
  // Cheap refusal: no part in the text in any written form, and nothing that decoding could reveal.
  const anyForm = parts.every((p) => text.includes(p) || text.includes(escaped(p)));
  if (!anyForm && !text.includes('\\') && !parts.some((p) => NUMERIC.test(p))) return false;
  const first = text.trimStart()[0];
  if (first === '{' || first === '[') {
    let decoded: string[] | undefined;
    try {
      decoded = decodedTexts(JSON.parse(text), []);
    } catch {
      decoded = undefined;
    }
    if (decoded !== undefined) return parts.every((p) => decoded.some((d) => occursWhole(d, p)) || (NUMERIC.test(p) && occursWhole(text, p)));
  }
  return parts.every((p) => occursWhole(text, p) || occursWhole(text, escaped(p)));
}

/** Whether a dead letter (its raw text and its reason) holds every part of a key: each part in the raw text (`rawMentions`) or, as a whole value, in the reason. */
export function deadLetterMentions(raw: string, reason: string, parts: readonly string[]): boolean {
  return parts.length > 0 && parts.every((p) => rawMentions(raw, [p]) || occursWhole(reason, p) || occursWhole(reason, escaped(p)));
}
