/** An escaped UTF-16 surrogate without its pair (`\ud800`): `JSON.parse` takes it, DuckDB's reader refuses it, and no character is one. */
const LONE_SURROGATE = /\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/;

/** `isWellFormed` is native in Node 20 (ES2024, past this project's `lib`). */
const wellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Why a JSON text breaks {@link strictJsonProblem}'s rule: which part of it, and what is wrong said of the text (the caller names the text: `the body`, `the event`). */
export interface JsonTextProblem {
  readonly kind: 'byte order mark' | 'syntax' | 'escaped surrogate' | 'lone surrogate';
  readonly what: string;
}

/** The fix for a surrogate, said to every sender alike; undefined for the other problems (each sender says what to send). */
export function surrogateFix(problem: JsonTextProblem): string | undefined {
  if (problem.kind === 'escaped surrogate') return 'send text as UTF-8 or escape a character outside the BMP as a surrogate pair (\\ud83d\\ude00)';
  return problem.kind === 'lone surrogate' ? 'send text as UTF-8' : undefined;
}

/**
 * The one rule on what a JSON text of events must be, for every way in (push bodies, JetStream
 * messages, Postgres changes, library callers): JSON as RFC 8259 defines it, which `JSON.parse`
 * reads, with no byte order mark and no lone UTF-16 surrogate (escaped, as `\ud800`, or held by
 * a caller's string). DuckDB's JSON reader, which reads the values, is lenient (it takes `NaN`,
 * `Infinity`, `-Infinity` and trailing commas), so every text is held to this first. Undefined
 * when the text keeps it. A `JSON.parse` per text.
 *
 * @example
 * strictJsonProblem('{"amount": NaN}'); // { kind: 'syntax', what: 'is not valid JSON (Unexpected token \'N\', ...)' }
 * strictJsonProblem('{"amount": 1}'); // undefined
 */
export function strictJsonProblem(text: string): JsonTextProblem | undefined {
  try {
    JSON.parse(text);
  } catch (error) {
    if (text.charCodeAt(0) === 0xfeff) return { kind: 'byte order mark', what: 'starts with a byte order mark (U+FEFF), which JSON does not allow' };
    return { kind: 'syntax', what: `is not valid JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  if (text.includes('\\u') && LONE_SURROGATE.test(text)) {
    return { kind: 'escaped surrogate', what: 'has an escaped lone UTF-16 surrogate (such as \\ud800), which is not a character' };
  }
  if (!wellFormed(text)) return { kind: 'lone surrogate', what: 'holds a lone UTF-16 surrogate, which is not a character' };
  return undefined;
}

/**
 * Why an event's text (a connector's message, a change, a library caller's text) is refused by
 * {@link strictJsonProblem}'s rule, as its dead letter says it; undefined when it keeps it.
 *
 * @example
 * eventTextProblem('{"amount": Infinity}'); // 'the event is not valid JSON (Unexpected token ...)'
 */
export function eventTextProblem(text: string): string | undefined {
  const problem = strictJsonProblem(text);
  if (problem === undefined) return undefined;
  const fix = problem.kind === 'byte order mark' ? 'remove it' : surrogateFix(problem);
  return `the event ${problem.what}${fix === undefined ? '' : `; ${fix}`}`;
}
