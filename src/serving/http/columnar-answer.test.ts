import { describe, expect, test } from 'vitest';
import type { OnlineFeaturesResponse } from '../online-features.js';
import { answerFormat, columnarAnswer } from './columnar-answer.js';

const response = (rows: OnlineFeaturesResponse['rows'], features: string[], extra: Partial<OnlineFeaturesResponse> = {}): OnlineFeaturesResponse => ({
  asOf: '2026-01-01T00:00:00.000Z',
  features,
  rows,
  metadata: rows.map((_, r) => ({ status: features.map((_f, i) => (i === 0 && r === 1 ? 'NOT_FOUND' : 'PRESENT')), ageMs: features.map((_f, i) => (i === 0 && r === 1 ? null : 1000 * r + i)) })),
  views: { v: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: {} } },
  stale: 0,
  ...extra,
});

describe('columnarAnswer', () => {
  test('one result per feature, values, statuses and ages in entity order; every other field kept', () => {
    const answer = columnarAnswer(response([
      { customer_id: 'c1', v__a: 1, v__b: 'x' },
      { customer_id: 'c2', v__a: 0, v__b: null },
    ], ['v__a', 'v__b'], { errors: 2 }));
    expect(answer).toEqual({
      asOf: '2026-01-01T00:00:00.000Z',
      metadata: { feature_names: ['v__a', 'v__b'] },
      results: [
        { values: [1, 0], statuses: ['PRESENT', 'NOT_FOUND'], ageMs: [0, null] },
        { values: ['x', null], statuses: ['PRESENT', 'PRESENT'], ageMs: [1, 1001] },
      ],
      views: { v: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: {} } },
      stale: 0,
      errors: 2,
    });
    expect(Object.keys(answer)).toEqual(['asOf', 'metadata', 'results', 'views', 'stale', 'errors']);
  });

  test('composite keys and an integer-like key name (which objects order first) read each feature by name', () => {
    const rows = [{ '7': 'k', region: 'eu', v__a: 3, v__b: 4 }, { '7': 'j', region: 'us', v__a: 5, v__b: 6 }];
    expect(columnarAnswer(response(rows, ['v__a', 'v__b'])).results.map((r) => r.values)).toEqual([[3, 5], [4, 6]]);
    const features = ['v__b', 'v__a'];
    expect(columnarAnswer(response([{ id: 'k', v__a: 1, v__b: 2 }], features)).results.map((r) => r.values)).toEqual([[2], [1]]);
  });

  test('no entities: the feature names and empty results', () => {
    expect(columnarAnswer(response([], ['v__a'])).results).toEqual([{ values: [], statuses: [], ageMs: [] }]);
  });
});

describe('answerFormat', () => {
  test('rows by default, columnar when asked; anything else is refused naming the formats', () => {
    expect(answerFormat(undefined)).toBe('rows');
    expect(answerFormat({})).toBe('rows');
    expect(answerFormat({ format: 'rows' })).toBe('rows');
    expect(answerFormat({ format: 'columnar' })).toBe('columnar');
    expect(() => answerFormat({ format: 'arrow' })).toThrow(/unknown answer format "arrow"; use \?format=columnar/);
    expect(() => answerFormat({ format: ['columnar', 'rows'] })).toThrow(/unknown answer format/);
  });
});
