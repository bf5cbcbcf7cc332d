import { stringifyExact } from '../exact-json.js';
import type { OnlineFeaturesResponse } from '../online-features.js';
import type { ServedView } from '../served-table.js';

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
 * An answer of the usual shape is written with its repeated parts' text kept (see
 * {@link answerText}); any other, or one with a bigint, by `JSON.stringify` / `stringifyExact`.
 *
 * @example
 * const { text, plain } = answerJson(response); // text === stringifyExact(response)
 */
export function answerJson(response: OnlineFeaturesResponse): AnswerJson {
  try {
    return { text: answerText(response) ?? JSON.stringify(response), plain: true };
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return { text: stringifyExact(response), plain: false };
  }
}

/** The answer's keys in the order `getOnlineFeatures` builds them (`errors` only with request views). */
const ANSWER_KEYS = ['asOf', 'features', 'rows', 'metadata', 'views', 'stale'];

// The features' text per feature list (one frozen array per serving plan), and per view the text of the last ServedView seen.
const featureTexts = new WeakMap<readonly string[], string>();
const viewTexts = new Map<string, { readonly served: ServedView; readonly text: string }>();

function sameKeys(keys: readonly string[], expected: readonly string[]): boolean {
  if (keys.length !== expected.length) return false;
  for (let i = 0; i < keys.length; i++) if (keys[i] !== expected[i]) return false;
  return true;
}

function featuresText(features: readonly string[]): string {
  let text = featureTexts.get(features);
  if (text === undefined) featureTexts.set(features, (text = JSON.stringify(features)));
  return text;
}

/** `JSON.stringify(views)`, each view's part kept while the same ServedView object answers for it; undefined for a name it cannot write so. */
function viewsText(views: Readonly<Record<string, ServedView>>): string | undefined {
  let text = '{';
  for (const name of Object.keys(views)) {
    // `views["__proto__"]` reads the prototype, not an own key of that name.
    if (name === '__proto__') return undefined;
    const served = views[name];
    if (served === undefined) continue;
    let cached = viewTexts.get(name);
    if (cached?.served !== served) {
      const value = JSON.stringify(served) as string | undefined;
      if (value === undefined) continue;
      cached = { served, text: `${JSON.stringify(name)}:${value}` };
      if (viewTexts.size < 1_000) viewTexts.set(name, cached);
    }
    text += text.length === 1 ? cached.text : `,${cached.text}`;
  }
  return `${text}}`;
}

/**
 * `JSON.stringify(response)` for an answer of the usual shape (its own keys, in the order
 * `getOnlineFeatures` builds them), with the parts that repeat across answers written once: the
 * features' text per feature list, and each view's text while the same ServedView object answers
 * for it (they are cached and never changed). The rows and metadata are `JSON.stringify`'s.
 * Undefined for another shape; throws a `TypeError` for a bigint, as `JSON.stringify` does.
 *
 * @example
 * answerText(response) === JSON.stringify(response); // or undefined
 */
export function answerText(response: OnlineFeaturesResponse): string | undefined {
  const keys = Object.keys(response);
  const errors = keys.length === ANSWER_KEYS.length + 1 && keys[ANSWER_KEYS.length] === 'errors';
  if (!(errors ? sameKeys(keys.slice(0, -1), ANSWER_KEYS) : sameKeys(keys, ANSWER_KEYS))) return undefined;
  const { asOf, features, views, stale } = response;
  if (typeof asOf !== 'string' || !Array.isArray(features) || views === null || typeof views !== 'object' || Array.isArray(views) || typeof stale !== 'number') return undefined;
  if (errors && typeof response.errors !== 'number') return undefined;
  // An array that is not a plain string list (a getter, a toJSON) is written by JSON.stringify as a whole.
  if (Object.getPrototypeOf(features) !== Array.prototype || Object.hasOwn(views, 'toJSON') || 'toJSON' in features) return undefined;
  const viewText = viewsText(views);
  if (viewText === undefined) return undefined;
  const text = `{"asOf":${JSON.stringify(asOf)},"features":${featuresText(features)},"rows":${JSON.stringify(response.rows)},"metadata":${JSON.stringify(response.metadata)},"views":${viewText},"stale":${JSON.stringify(stale)}`;
  return errors ? `${text},"errors":${JSON.stringify(response.errors)}}` : `${text}}`;
}
