import fc from 'fast-check';
import { expect, test } from 'vitest';
import type { OnlineFeaturesResponse } from '../online-features.js';
import { answerJson, answerText } from './answer-json.js';

const value = fc.oneof(fc.string({ unit: 'binary' }), fc.double(), fc.boolean(), fc.constant(null), fc.bigInt({ min: 2n ** 60n, max: 2n ** 62n }), fc.array(fc.double(), { maxLength: 3 }));

test('the answer\'s text is what JSON.stringify with exact int64s writes, and it is plain JSON.stringify\'s exactly when no bigint is in it', () => {
  fc.assert(fc.property(fc.uniqueArray(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 4 }), fc.array(fc.array(value, { minLength: 4, maxLength: 4 }), { maxLength: 5 }), (features, values) => {
    const response: OnlineFeaturesResponse = {
      asOf: '2024-03-01T00:00:00.000Z', features, stale: 0,
      rows: values.map((row) => Object.fromEntries([['id', 'k'], ...features.map((f, i) => [f, row[i]])]) as never),
      metadata: values.map(() => ({ status: features.map(() => 'PRESENT' as const), ageMs: features.map(() => 0) })),
      views: { v: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: {} } },
    };
    // The reference: a replacer that marks bigints, shared with nothing in the platform.
    const reference = JSON.stringify(response, (_k, v: unknown) => (typeof v === 'bigint' ? `@@${v}@@` : v)).replace(/"@@(\d+)@@"/g, '$1');
    const { text, plain } = answerJson(response);
    expect(text).toBe(reference);
    expect(plain).toBe(!values.some((row) => row.slice(0, features.length).some((v) => typeof v === 'bigint')));
  }), { numRuns: 200 });
});

// Values and keys JSON.stringify treats apart: omitted (undefined, functions), written as null (NaN, infinities,
// holes in arrays), reordered (integer-like keys first), escaped (quotes, control characters, lone surrogates).
const anyValue = fc.oneof(value, fc.constantFrom(undefined, Number.NaN, Infinity, -Infinity, -0, 0.1 + 0.2, 1e21, 5e-324, () => 1), fc.string({ unit: 'grapheme' }), fc.date({ noInvalidDate: true }));
const key = fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), fc.constantFrom('__proto__', 'toJSON', '0', '12', 'id', 'constructor', 'a"b', 'é'));
const status = fc.oneof(fc.constantFrom('PRESENT', 'NULL', 'NOT_FOUND', 'STALE', 'constructor', 'toString'), fc.string(), fc.constant(undefined));
const served = fc.record({ status: fc.constantFrom('FRESH', 'STALE'), viewHash: fc.string(), previousDefinition: fc.boolean(), materializedAt: fc.constant(null), snapshots: fc.dictionary(fc.string(), fc.string()) });

test('an answer written with its repeated parts kept is JSON.stringify\'s text for any keys and values; another shape is left to JSON.stringify', () => {
  fc.assert(fc.property(
    fc.array(key, { minLength: 1, maxLength: 5 }), fc.array(fc.array(anyValue, { minLength: 6, maxLength: 6 }), { maxLength: 4 }),
    fc.array(fc.tuple(fc.array(status, { maxLength: 4 }), fc.array(fc.oneof(fc.integer(), fc.constant(null), fc.constant(undefined)), { maxLength: 4 }), fc.boolean()), { maxLength: 4 }),
    fc.dictionary(key, served, { maxKeys: 3 }), fc.option(fc.nat()), fc.boolean(), fc.boolean(),
    (names, values, metadata, views, errors, sameFeatures, reshaped) => {
      const features = sameFeatures ? FEATURES : names;
      const rows = values.map((row) => Object.fromEntries([['customer_id', 'c1'], ...names.map((f, i) => [f, row[i]])]) as never);
      const response = {
        asOf: '2024-03-01T00:00:00.000Z', features, rows,
        metadata: metadata.map(([s, ages, reordered]) => (reordered ? { ageMs: ages, status: s } : { status: withHole(s), ageMs: ages })) as never,
        views: JSON.parse(JSON.stringify(views)) as never, stale: values.length, ...(errors === null ? {} : { errors }),
      };
      const answer = reshaped ? { extra: 1, ...response } : response;
      const reference = (() => {
        try {
          return JSON.stringify(answer);
        } catch {
          return undefined; // a bigint: answerText throws a TypeError too
        }
      })();
      let text: string | undefined;
      try {
        text = answerText(answer as OnlineFeaturesResponse);
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError);
        expect(reference).toBeUndefined();
        return;
      }
      // Undefined: left to JSON.stringify (which may throw for a bigint, then to stringifyExact).
      if (text !== undefined) expect(text).toBe(reference);
    },
  ), { numRuns: 500 });
});

const FEATURES = ['v__a', 'v__b'];

/** The values, a hole (JSON.stringify writes null), then one more value. */
function withHole(values: readonly unknown[]): unknown[] {
  const holey = [...values];
  holey.length += 1;
  holey.push('PRESENT');
  return holey;
}

test('an answer of the usual shape is written with its repeated parts kept (not left to JSON.stringify), and a changed view is written anew', () => {
  const row = (id: string, a: number | null) => ({ customer_id: id, v__a: a, v__b: 'x"y' });
  const views = { v: { status: 'FRESH' as const, viewHash: 'h', previousDefinition: false, materializedAt: '2024-03-01T00:00:00.000Z', snapshots: { s: 's@1' } } };
  const answer = (ids: string[]): OnlineFeaturesResponse => ({
    asOf: '2024-03-01T00:00:00.000Z', features: FEATURES, rows: ids.map((id, i) => row(id, i === 0 ? null : i + 0.5)),
    metadata: ids.map(() => ({ status: ['PRESENT', 'NULL'], ageMs: [12, null] })), views, stale: 0,
  });
  for (const ids of [['c1'], ['c1', 'c2', 'c3'], []]) {
    expect(answerText(answer(ids))).toBe(JSON.stringify(answer(ids)));
  }
  // Another views object with the same ServedView: the same text.
  expect(answerText({ ...answer(['c9']), views: { ...views } })).toBe(JSON.stringify(answer(['c9'])));
  // A changed ServedView for the view: its new text.
  const stale = { ...answer(['c9']), views: { v: { ...views.v, status: 'STALE' as const, reason: 'newer' } } };
  expect(answerText(stale)).toBe(JSON.stringify(stale));
});
