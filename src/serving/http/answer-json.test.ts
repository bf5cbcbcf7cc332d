import fc from 'fast-check';
import { expect, test } from 'vitest';
import type { OnlineFeaturesResponse } from '../online-features.js';
import { answerJson } from './answer-json.js';

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
