import { stringifyExact } from '../exact-json.js';
import type { OnlineFeaturesResponse } from '../online-features.js';

/** An online answer's JSON text and, when it was built from them, each row's own JSON text. */
export interface AnswerJson {
  readonly text: string;
  /** Parallel to the answer's rows; absent when a value needed the exact form (a bigint). */
  readonly rows?: readonly string[];
}

/**
 * The answer's JSON exactly as `stringifyExact` writes it, built from each row's own
 * `JSON.stringify` text, so that the serving log can reuse those texts instead of serializing
 * its rows a second time. With a bigint in a row, the whole answer goes through
 * `stringifyExact` and no row texts are given.
 *
 * @example
 * const { text, rows } = answerJson(response); // text === stringifyExact(response)
 */
export function answerJson(response: OnlineFeaturesResponse): AnswerJson {
  const rows: string[] = new Array<string>(response.rows.length);
  try {
    for (let r = 0; r < rows.length; r++) rows[r] = JSON.stringify(response.rows[r]);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return { text: stringifyExact(response) };
  }
  // `"rows":[]` is first written as the key: before it come only `asOf` and `features`, whose
  // strings cannot hold an unescaped quote.
  const rest = stringifyExact({ ...response, rows: [] });
  const at = rest.indexOf('"rows":[]') + '"rows":['.length;
  return { text: `${rest.slice(0, at)}${rows.join(',')}${rest.slice(at)}`, rows };
}
