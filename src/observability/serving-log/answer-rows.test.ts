import fc from 'fast-check';
import { expect, test } from 'vitest';
import type { OnlineFeaturesResponse } from '../../serving/online-features.js';
import { answerRowTexts } from './answer-rows.js';

// Strings that look like the text between two rows, or after the last one, must not cut a row.
const tricky = fc.constantFrom('},{"id":"k"', '}],"metadata":[', '"}]}', '\\', '},{\\"id\\":');
const value = fc.oneof(tricky, fc.string({ unit: 'binary' }), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.double(), { maxLength: 3 }));

test('the rows\' texts cut from the answer\'s JSON text are each row\'s own JSON, whatever the names and values', () => {
  fc.assert(fc.property(fc.uniqueArray(fc.oneof(tricky, fc.string({ unit: 'binary' })), { minLength: 1, maxLength: 4 }), fc.array(fc.array(value, { minLength: 4, maxLength: 4 }), { maxLength: 5 }), (features, values) => {
    const response: OnlineFeaturesResponse = {
      asOf: '2024-03-01T00:00:00.000Z', features, stale: 0,
      rows: values.map((row) => Object.fromEntries([['id', 'k'], ...features.map((f, i) => [f, row[i]])]) as never),
      metadata: values.map(() => ({ status: features.map(() => 'PRESENT' as const), ageMs: features.map(() => 0) })),
      views: { v: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: { '"rows":[]': null } } },
    };
    const rows = response.rows.length === 0 ? [] : answerRowTexts(JSON.stringify(response), response);
    expect(rows).toEqual(response.rows.map((row) => JSON.stringify(row)));
  }), { numRuns: 300 });
});
