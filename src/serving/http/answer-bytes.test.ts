import fc from 'fast-check';
import { expect, test } from 'vitest';
import { stringifyExact } from '../exact-json.js';
import { answerBytes, BYTES_FROM_ELEMENTS } from './answer-bytes.js';

// Values an answer can hold, and the awkward ones: -0, NaN and infinities (null in JSON), integers
// near 2^53, bigints (int64 beyond 2^53), strings with quotes, controls, non-ASCII and lone surrogates.
const value = fc.oneof(
  fc.double(), fc.constantFrom(-0, NaN, Infinity, -Infinity, 2 ** 53 - 1, -(2 ** 53) + 1, 1e21, 5e-324),
  fc.integer(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.constantFrom('"', '\\', '\n', '\u2028', '\ud800', 'é€😀'),
  fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.double(), { maxLength: 3 }),
);
const rareBigint = fc.oneof({ weight: 30, arbitrary: value }, { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 60n, max: 2n ** 62n }) });

/** The reference: JSON.stringify with bigints written exactly by a marking replacer, shared with nothing in the platform. */
function reference(answer: unknown): Buffer {
  return Buffer.from(JSON.stringify(answer, (_k, v: unknown) => (typeof v === 'bigint' ? `@@${v}@@` : v)).replace(/"@@(\d+)@@"/g, '$1'), 'utf8');
}

const answer = fc.record({
  asOf: fc.string(),
  features: fc.array(fc.string({ unit: 'binary' }), { maxLength: 6 }),
  rows: fc.array(fc.dictionary(fc.string({ unit: 'binary' }), rareBigint, { maxKeys: 6 }), { maxLength: 3 * BYTES_FROM_ELEMENTS }),
  metadata: fc.array(fc.record({ status: fc.array(fc.constantFrom('PRESENT', 'NOT_FOUND', 'NULL'), { maxLength: 4 }), ageMs: fc.array(fc.oneof(fc.integer(), fc.constant(null)), { maxLength: 4 }) }), { maxLength: 3 * BYTES_FROM_ELEMENTS }),
  views: fc.dictionary(fc.string(), fc.record({ status: fc.string(), snapshots: fc.dictionary(fc.string(), fc.integer()) }), { maxKeys: 3 }),
  stale: fc.integer({ min: 0 }),
  errors: fc.option(fc.integer({ min: 0 }), { nil: undefined }),
}, { requiredKeys: ['asOf', 'features', 'rows', 'metadata', 'views', 'stale'] });

test('an answer\'s bytes are those of JSON.stringify with exact int64s, for any values, sizes and chunk lengths', () => {
  fc.assert(fc.property(answer, fc.integer({ min: 1, max: 400 }), (response, chunkChars) => {
    const body = answerBytes(response, chunkChars) ?? stringifyExact(response);
    expect(Buffer.from(body).equals(reference(response))).toBe(true);
  }), { numRuns: 400 });
});

test('long answers are bytes, short ones and ones with a bigint left to the text serializer; keys in their order, omitted values omitted, at the default chunk length too', () => {
  const rows = Array.from({ length: 3000 }, (_, i) => ({ id: `k${i}`, v: i / 7, s: i % 3 === 0 ? 'é' : null, gone: undefined }));
  const long = { z: 1, rows, skipped: undefined, f: () => 1, metadata: rows.map(() => ({ status: ['PRESENT'], ageMs: [null] })), a: [1, 2] };
  expect(answerBytes(long)!.equals(reference(long))).toBe(true);
  expect(answerBytes({ rows: rows.slice(0, BYTES_FROM_ELEMENTS), views: {} })).toBeUndefined();
  expect(answerBytes({ rows: rows.map((r) => ({ ...r, n: 2n ** 63n - 1n })) })).toBeUndefined();
});

test('an answer made while another is being written (a value\'s toJSON) leaves both as JSON.stringify writes them', () => {
  const inner = { rows: Array.from({ length: 20 }, (_, i) => ({ id: `i${i}`, v: i / 3 })) };
  let innerBytes: Buffer | undefined;
  const nested = { toJSON: () => ((innerBytes = answerBytes(inner)), 'made') };
  const outer = { rows: Array.from({ length: 20 }, (_, i) => ({ id: `o${i}`, v: i * 1.5, n: [i, nested] })) };
  expect(answerBytes(outer)!.equals(reference(outer))).toBe(true);
  expect(innerBytes!.equals(reference(inner))).toBe(true);
});
