import fc from 'fast-check';
import { expect, test } from 'vitest';
import { requestRowSpans } from './request-row-spans.js';

const scalar = fc.oneof(fc.string({ unit: 'binary' }), fc.double({ noNaN: true }), fc.integer(), fc.boolean(), fc.constant(null));
const row = fc.tuple(fc.string({ unit: 'binary' }), fc.array(fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })), { maxLength: 6 }), fc.option(fc.string({ unit: 'binary' })), fc.option(fc.dictionary(fc.string({ unit: 'binary' }), scalar, { maxKeys: 3 }), { nil: undefined }))
  .map(([key, values, status, keys]) => (keys !== undefined ? [key, values, status, keys] : status !== null ? [key, values, status] : [key, values]));
// Parts before `rows` that look like it: strings holding `"rows":[`, brackets and escapes, a nested key named rows.
const head = fc.record({ requestId: fc.string({ unit: 'binary' }), service: fc.constantFrom('rows', '"rows":[', 's'), views: fc.dictionary(fc.constantFrom('rows', 'v', ']['), fc.record({ snapshots: fc.dictionary(fc.string(), fc.option(fc.string())) })) });

test('the spans of a request line\'s rows are exactly each row\'s JSON, and cutting any of them out leaves the line with the others, its other bytes as they were', () => {
  fc.assert(fc.property(head, fc.array(row, { maxLength: 8 }), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (parts, rows, keep) => {
    const text = JSON.stringify({ ...parts, columns: 'id', rows });
    const spans = requestRowSpans(text)!;
    // The rows as their JSON reads back (-0 is written 0).
    expect(spans.rows.map((span) => JSON.parse(text.slice(...span)) as unknown)).toEqual(JSON.parse(JSON.stringify(rows)));
    expect(text.slice(0, spans.open)).toBe(JSON.stringify({ ...parts, columns: 'id', rows: [] }).slice(0, -2));
    const kept = spans.rows.filter((_s, i) => keep[i]);
    const cut = `${text.slice(0, spans.open)}${kept.map((s) => text.slice(...s)).join(',')}${text.slice(spans.close)}`;
    expect(cut).toBe(JSON.stringify({ ...parts, columns: 'id', rows: rows.filter((_r, i) => keep[i]) }));
  }), { numRuns: 300 });
});

test('a line without a top-level rows list has no spans', () => {
  expect(requestRowSpans('{"requestId":"r","views":{"rows":[1]}}')).toBeUndefined();
  expect(requestRowSpans('{"rows":"[[1]]"}')).toBeUndefined();
  expect(requestRowSpans('{"rows":[["a",[1]]')).toBeUndefined();
  expect(requestRowSpans('{"a":1, "rows" : [ ["a",[1]] , ["b",[2]] ]}')).toEqual({ open: 18, close: 41, rows: [[19, 28], [31, 40]] });
});
