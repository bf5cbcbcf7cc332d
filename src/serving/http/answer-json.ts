import { stringifyExact } from '../exact-json.js';
import type { OnlineFeaturesResponse } from '../online-features.js';

/** An online answer's JSON text, and whether it is plain `JSON.stringify`'s (no bigint in it). */
export interface AnswerJson {
  readonly text: string;
  /**
   * True when the text is `JSON.stringify` of the answer (no value needed the exact form of a
   * bigint): the serving log may then cut its rows' texts from it (`answerRowTexts`).
   */
  readonly plain: boolean;
}

/**
 * The answer's JSON exactly as `stringifyExact` writes it and whether it is plain
 * `JSON.stringify`'s, which the serving log reuses instead of serializing its rows a second time.
 *
 * @example
 * const { text, plain } = answerJson(response); // text === stringifyExact(response)
 */
export function answerJson(response: OnlineFeaturesResponse): AnswerJson {
  try {
    return { text: JSON.stringify(response), plain: true };
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return { text: stringifyExact(response), plain: false };
  }
}
