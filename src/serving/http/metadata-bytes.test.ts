import fc from 'fast-check';
import { expect, test } from 'vitest';
import { answerBytes } from './answer-bytes.js';
import { putMetadata, type MetadataSink } from './metadata-bytes.js';

/** A sink starting at `size` bytes (small ones make it grow mid-row). */
function sink(size: number): MetadataSink & { text(): string } {
  const encoder = new TextEncoder();
  const s = {
    bytes: Buffer.alloc(size),
    at: 0,
    ensure(room: number) {
      if (s.at + room > s.bytes.length) s.bytes = Buffer.concat([s.bytes.subarray(0, s.at), Buffer.alloc(room + s.bytes.length)]);
    },
    put(text: string) {
      const bytes = encoder.encode(text);
      s.ensure(bytes.length);
      s.bytes.set(bytes, s.at);
      s.at += bytes.length;
    },
    text: () => s.bytes.subarray(0, s.at).toString('utf8'),
  };
  return s;
}

const age = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -1, max: 1e10 }) },
  fc.constantFrom(null, undefined, -0, NaN, Infinity, -Infinity, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 53, 1e21, 5e-324, 0.5, -1.5e-7, 123456789.125),
  fc.double(), fc.maxSafeInteger(),
);
const status = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('PRESENT', 'NOT_FOUND', 'OUTSIDE_TTL', 'NULL', 'STALE', 'NOT_MATERIALIZED', 'ERROR') },
  fc.string({ unit: 'binary' }), fc.constantFrom('"', '\\', '\n', '\u2028', '\ud800', 'é€😀', 'x'.repeat(300)), fc.constant(null),
);
const row = fc.record({ status: fc.array(status, { maxLength: 60 }), ageMs: fc.array(age, { maxLength: 60 }) });
// Elements JSON.stringify writes otherwise than a plain { status, ageMs } would be: the writer must give them up.
const odd = fc.oneof(
  row.map((r) => ({ ageMs: r.ageMs, status: r.status })),
  row.map((r) => ({ ...r, extra: 1 })),
  row.map((r) => ({ ...r, toJSON: () => 'j' })),
  row.map((r) => ({ status: r.status, ageMs: 'not an array' })),
  row.map((r) => ({ status: [...r.status, 7], ageMs: r.ageMs })),
  row.map((r) => ({ status: r.status, ageMs: [...r.ageMs, 'a'] })),
  row.map((r) => ({ status: r.status, ageMs: [...r.ageMs, { toJSON: () => 1 }] })),
  fc.constantFrom(null, 3, 'row', [1, 2]),
);
const metadata = fc.array(fc.oneof({ weight: 20, arbitrary: row }, odd), { maxLength: 20 });

test('metadata is written byte for byte as JSON.stringify writes it, or given up with nothing written', () => {
  fc.assert(fc.property(metadata, fc.integer({ min: 1, max: 2048 }), fc.string(), (rows, size, before) => {
    const out = sink(size);
    out.put(before);
    const written = putMetadata(out, rows);
    if (written) expect(out.text()).toBe(before + JSON.stringify(rows));
    else expect(out.text()).toBe(before);
    // A list of plain rows is always written.
    if (rows.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r) && Object.keys(r).join() === 'status,ageMs' && Array.isArray(r.status) && Array.isArray(r.ageMs) && r.status.every((s: unknown) => typeof s === 'string' || s == null) && r.ageMs.every((a: unknown) => typeof a === 'number' || a == null))) expect(written).toBe(true);
  }), { numRuns: 500 });
});

test('rows that repeat status lists (the same arrays or equal ones) and ages are written as JSON.stringify writes them', () => {
  // A few status lists, reused by reference and as copies, some with long statuses put as text; ages drawn from a few values, so neighbours repeat.
  const statuses = fc.array(fc.array(fc.oneof({ weight: 6, arbitrary: status }, fc.constant('y'.repeat(200))), { maxLength: 12 }), { minLength: 1, maxLength: 6 });
  const ages = fc.array(fc.constantFrom(null, undefined, 0, -0, 7, 4341798847, 10937959, 1.5, NaN, 2 ** 53), { maxLength: 12 });
  const rows = statuses.chain((pool) => fc.array(fc.record({ pick: fc.nat(pool.length - 1), copy: fc.boolean(), ageMs: ages }), { maxLength: 30 })
    .map((picks) => picks.map(({ pick, copy, ageMs }) => ({ status: copy ? [...pool[pick]!] : pool[pick]!, ageMs }))));
  fc.assert(fc.property(rows, fc.integer({ min: 1, max: 512 }), (metadata, size) => {
    const out = sink(size);
    expect(putMetadata(out, metadata)).toBe(true);
    expect(out.text()).toBe(JSON.stringify(metadata));
  }), { numRuns: 500 });
});

test('holes in the arrays are null, as JSON.stringify writes them; an answer with metadata is the same bytes as its JSON', () => {
  const holes = [{ status: new Array<string>(3), ageMs: new Array<number>(2) }];
  holes[0]!.status[1] = 'PRESENT';
  const out = sink(4);
  expect(putMetadata(out, holes)).toBe(true);
  expect(out.text()).toBe(JSON.stringify(holes));
  fc.assert(fc.property(fc.array(fc.oneof({ weight: 10, arbitrary: row }, odd), { minLength: 9, maxLength: 30 }), (rows) => {
    const answer = { asOf: 'x', rows: rows.map((_, i) => ({ k: i })), metadata: rows, stale: 0 };
    expect(answerBytes(answer)!.toString('utf8')).toBe(JSON.stringify(answer));
  }), { numRuns: 200 });
});
