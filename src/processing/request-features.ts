import type { ColumnType, RequestFeatureFunction, RequestView, RequestViewSpec } from '../definitions/index.js';
import { ValidationError } from '../errors.js';
import { REQUEST_INPUT } from '../definitions/index.js';
import type { Scalar } from './aggregations/index.js';
import { parseTimestampText } from '../time/index.js';

/**
 * The one home of request views' runtime rules, used by serving and by dataset builds alike:
 * how a request value is read, how a view's function is called, and what result it may give.
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** An int64 as every path holds it: a number when it is a safe integer, else a bigint. */
export function int64Scalar(value: bigint): number | bigint {
  return value >= SAFE_MIN && value <= SAFE_MAX ? Number(value) : value;
}

/**
 * A request value of `type` as a request view's function receives it, or `undefined` when it is
 * not one: float64 a finite number; int64 a safe integer or a string of decimal digits (exact
 * beyond 2^53, as a bigint); bool a boolean; string a string; timestamp an integer of epoch
 * milliseconds or ISO-8601 text (without an offset: UTC; see `parseTimestampText`, the rule the
 * dataset path shares), read as epoch milliseconds. Null is
 * not a request value. A negative zero is read as 0.
 */
export function requestValue(raw: unknown, type: ColumnType): Scalar | undefined {
  switch (type) {
    case 'float64':
      // + 0 turns -0 into 0, as ingest stores float64 values (`float64ValueSql`).
      return typeof raw === 'number' && Number.isFinite(raw) ? raw + 0 : undefined;
    case 'int64':
      if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : undefined;
      if (typeof raw === 'bigint') return raw >= INT64_MIN && raw <= INT64_MAX ? int64Scalar(raw) : undefined;
      if (typeof raw === 'string' && /^-?\d{1,19}$/.test(raw)) return requestValue(BigInt(raw), type);
      return undefined;
    case 'bool':
      return typeof raw === 'boolean' ? raw : undefined;
    case 'string':
      return typeof raw === 'string' ? raw : undefined;
    case 'timestamp': {
      if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : undefined;
      if (typeof raw !== 'string') return undefined;
      return parseTimestampText(raw);
    }
  }
}

/** What the wrong result `value` is, for an ERROR's reason; undefined when `value` is a `type` (or null). */
function resultProblem(value: unknown, type: ColumnType): string | undefined {
  if (value === null) return undefined;
  if (value === undefined) return 'returned undefined; return null for no value';
  if (type === 'float64' && typeof value === 'number') return Number.isFinite(value) ? undefined : `returned ${value}, which no dataset column or JSON answer holds; return null instead`;
  // The value itself is never quoted: it may be computed from classified inputs (see `USER_CODE_ERRORS`).
  if (type === 'int64' && (typeof value === 'number' || typeof value === 'bigint')) {
    return requestValue(value, 'int64') === undefined ? `returned a ${typeof value} that is not an int64 (a safe integer, or a bigint within 64 bits)` : undefined;
  }
  if (type === 'timestamp' && typeof value === 'number') return Number.isSafeInteger(value) ? undefined : 'returned a number that is not a timestamp (integer epoch milliseconds)';
  const expected = type === 'bool' ? 'boolean' : type === 'string' ? 'string' : undefined;
  if (expected !== undefined && typeof value === expected) return undefined;
  return `returned ${typeof value === 'object' ? 'an object' : `a ${typeof value}`}, not a ${type}`;
}

/**
 * The rule for errors of user functions (request views): what they throw is never echoed, since
 * a message like `bad email alice@x.com` would carry a classified value into logs, HTTP
 * answers, dataset manifests and error texts. A reason names the error's class only (`threw
 * TypeError`); the message is kept apart (`RequestOutcome.thrown`) for a keyed-hash token
 * (`userErrorReason`), so equal messages can be told apart from different ones. No flag shows
 * the message: reproduce the failure with the function and the input in a test.
 */
export const USER_CODE_ERRORS = 'never echoed';

const CLASS_NAME = /^[A-Za-z_$][\w$]{0,63}$/;

/** The class of a thrown value, as a reason may name it: its `name` when it is an identifier, else what kind of value it is. */
function thrownClass(error: unknown): string {
  if (error instanceof Error) return CLASS_NAME.test(error.name) ? error.name : 'Error';
  return `a ${error === null ? 'null' : typeof error} (not an Error)`;
}

/** Where one call's outcome goes (reused: no allocation per call): the value, or null and why it failed. */
export interface RequestOutcome {
  value: Scalar;
  /** Why it failed, without any value or thrown message (see `USER_CODE_ERRORS`). */
  error: string | undefined;
  /** What the function threw, as text: only ever turned into a keyed-hash token (`userErrorReason`), never logged or returned. */
  thrown?: string | undefined;
}

/**
 * Calls a request feature's function on one input and checks its result against the declared
 * `type`: a value of that type (int64 as a number or, beyond 2^53, a bigint) or null. A function
 * that throws, or returns anything else, gives null and the reason in `out.error`.
 */
export function callRequestFeature(fn: RequestFeatureFunction, input: Parameters<RequestFeatureFunction>[0], type: ColumnType, out: RequestOutcome): void {
  let result: unknown;
  try {
    result = fn(input);
  } catch (error) {
    out.value = null;
    out.error = `threw ${thrownClass(error)}`;
    out.thrown = error instanceof Error ? error.message : String(error);
    return;
  }
  out.thrown = undefined;
  const problem = resultProblem(result, type);
  if (problem !== undefined) {
    out.value = null;
    out.error = problem;
    return;
  }
  // A result of -0 is 0, as every stored value is: a dataset column would otherwise keep the sign the JSON answer drops.
  out.value = typeof result === 'bigint' ? int64Scalar(result) : typeof result === 'number' ? result + 0 : (result as Scalar);
  out.error = undefined;
}

/**
 * Builds a request view's function argument from a flat list of values: the request fields in
 * the view's order, then every feature of each input view in the view's feature order (see
 * `inputLayout`). Objects with a fixed set of keys get one hidden class: cheap on the serving path.
 */
export type InputBuilder = (values: readonly Scalar[]) => Parameters<RequestFeatureFunction>[0];

/** The names, in order, of the values `inputBuilder` reads: `[group, name]` with group `request` or an input view. */
export function inputLayout(view: RequestView, inputFeatures: readonly (readonly string[])[]): readonly (readonly [string, string])[] {
  return [...Object.keys(view.request).map((f) => [REQUEST_INPUT, f] as const), ...view.inputs.flatMap((input, i) => inputFeatures[i]!.map((f) => [input, f] as const))];
}

export function inputBuilder(layout: readonly (readonly [string, string])[]): InputBuilder {
  // `request` is always there, even for a view with no request fields.
  const groups = [REQUEST_INPUT, ...new Set(layout.map(([group]) => group).filter((g) => g !== REQUEST_INPUT))];
  const fields = groups.map((group) => `${JSON.stringify(group)}: { ${layout.flatMap(([g, name], i) => (g === group ? [`${JSON.stringify(name)}: v[${i}]`] : [])).join(', ')} }`);
  return new Function('v', `return { ${fields.join(', ')} };`) as InputBuilder;
}

/**
 * Evaluates each feature of a request view twice on each sample input and throws a
 * ValidationError naming the feature and the input when the two results differ: a function that
 * is not deterministic (reads the clock, `Math.random`, or state it changes) is a bug in the
 * project, since serving and training would compute different values. For tests; a pass on
 * samples is evidence, not proof.
 *
 * @example
 * checkDeterministic(paymentRisk, [{ request: { amount: 10, merchant_country: 'FR' }, txn_stats: {...}, profile: {...} }]);
 */
export function checkDeterministic(view: RequestViewSpec, samples: readonly Parameters<RequestFeatureFunction>[0][]): void {
  const first: RequestOutcome = { value: null, error: undefined, thrown: undefined };
  const second: RequestOutcome = { value: null, error: undefined, thrown: undefined };
  for (const sample of samples) {
    for (const [name, fn] of Object.entries(view.features)) {
      const type = view.types[name]!;
      callRequestFeature(fn, sample, type, first);
      callRequestFeature(fn, sample, type, second);
      if (!Object.is(first.value, second.value) || first.error !== second.error || first.thrown !== second.thrown) {
        const shown = (o: RequestOutcome) => (o.error ?? String(o.value));
        throw new ValidationError('VALIDATION_FAILED', `request view "${view.name}", feature "${name}" is not deterministic: on the same input it gave ${shown(first)}, then ${shown(second)}; make it depend only on its argument (no clock, random numbers or outside state)`, { details: { input: sample } });
      }
    }
  }
}
