import fc from 'fast-check';
import { expect, test } from 'vitest';
import type { OnlineFeaturesResponse } from '../../serving/online-features.js';
import { answerRowsStart, nextAnswerRow } from './answer-rows.js';

// Strings that look like the text between two rows, or after the last one, must not cut a row.
const tricky = fc.constantFrom('},{"id":"k"', '}],"metadata":[', '"}]}', '\\', '},{\\"id\\":');
const value = fc.oneof(tricky, fc.string({ unit: 'binary' }), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.double(), { maxLength: 3 }));

test('the rows found in the answer\'s JSON bytes start each where the row\'s own JSON is, whatever the names and values', () => {
  fc.assert(fc.property(fc.uniqueArray(fc.oneof(tricky, fc.string({ unit: 'binary' })), { minLength: 1, maxLength: 4 }), fc.array(fc.array(value, { minLength: 4, maxLength: 4 }), { maxLength: 5 }), (features, values) => {
    const response: OnlineFeaturesResponse = {
      asOf: '2024-03-01T00:00:00.000Z', features, stale: 0,
      rows: values.map((row) => Object.fromEntries([['id', 'k'], ...features.map((f, i) => [f, row[i]])]) as never),
      metadata: values.map(() => ({ status: features.map(() => 'PRESENT' as const), ageMs: features.map(() => 0) })),
      views: { v: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: { '"rows":[]': null } } },
    };
    const bytes = Buffer.from(JSON.stringify(response));
    const rows: string[] = [];
    for (let at = response.rows.length === 0 ? -1 : answerRowsStart(bytes, response); at >= 0; at = nextAnswerRow(bytes, response, rows.length - 1, at)) {
      rows.push(bytes.toString('utf8', at, at + Buffer.byteLength(JSON.stringify(response.rows[rows.length]))));
    }
    expect(rows).toEqual(response.rows.map((row) => JSON.stringify(row)));
  }), { numRuns: 300 });
});

test('a row that does not start with the first row\'s first key is not found (the search would land on a later row)', () => {
  const row = (first: boolean, k: string): never => (first ? { id: k, v__a: 1 } : { v__a: 1, id: k }) as never;
  const response: OnlineFeaturesResponse = {
    asOf: '2024-03-01T00:00:00.000Z', features: ['v__a'], stale: 0, rows: [row(true, 'a'), row(false, 'b'), row(true, 'c')],
    metadata: [0, 1, 2].map(() => ({ status: ['PRESENT' as const], ageMs: [0] })),
    views: { v: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: {} } },
  };
  const bytes = Buffer.from(JSON.stringify(response));
  const first = answerRowsStart(bytes, response);
  expect(bytes.toString('utf8', first, first + 20)).toBe('{"id":"a","v__a":1},');
  expect(nextAnswerRow(bytes, response, 0, first)).toBe(-1);
});
