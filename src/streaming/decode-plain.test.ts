import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compileProject, count, defineProject, entity, featureView, last, streamSource, sum, type Project } from '../definitions/index.js';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import { decodeEvents, sourceViews, type EventPart } from './decode-events.js';
import { canonicalTime, decodePlainEvents, plainDecodable } from './decode-plain.js';
import { toIso } from '../time/index.js';

const ACK = Date.parse('2026-11-29T06:00:00.000Z');
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({
  name: 'payments', timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h', maxClockSkew: '5m',
  schema: { payment_id: 'string', account_id: 'string', amount: 'float64', channel: 'string', flagged: 'bool', seen: 'timestamp', ts: 'timestamp' },
});
const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n: count({ window: '1h' }), usd: sum('amount', { window: '1h' }), ch: last('channel') } });
const project: Project = compileProject(defineProject({ name: 'plain', entities: [account], sources: [payments], featureViews: [stats] }));
const source = project.sources[0]!;

let engine: SqlEngine;
beforeAll(async () => {
  engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
});
afterAll(async () => engine.close());

/** Both decodings of a group: the plain path's (or undefined: declined) and DuckDB's. */
async function both(parts: readonly EventPart[], streamed = true) {
  const plain = decodePlainEvents(project, source, parts, ACK, streamed);
  const duck = await decodeEvents(engine, project, source, parts, ACK, streamed, sourceViews(project, source));
  return { plain, duck };
}

/** What the two paths must agree on; raws by their JSON values (DuckDB writes `1.0`, JavaScript `1`). */
function comparable(d: Awaited<ReturnType<typeof decodeEvents>>) {
  return { ...d, raws: d.raws.map((r) => JSON.parse(r) as unknown), columns: Object.fromEntries([...d.columns].map(([c, v]) => [c, v instanceof Float64Array ? [...v].map((x) => (Object.is(x, -0) ? '-0' : x)) : v])) };
}

const plainEvent = fc.record({
  // Not a column's name: a value spelling "ts" makes the plain path decline (it counts quoted names).
  payment_id: fc.string({ minLength: 1, maxLength: 6, unit: 'grapheme' }).filter((id) => !(id in payments.schema) && !id.includes('\\u')),
  account_id: fc.constantFrom('a1', 'a2', 'é3', 'a 4'),
  amount: fc.option(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.constantFrom(-0, 1e300, 5e-324, 2 ** 53 + 2, 0.1)), { nil: null }),
  channel: fc.option(fc.constantFrom('card', 'web', '', 'ü/"\\\n'), { nil: null }),
  flagged: fc.option(fc.boolean(), { nil: null }),
  seen: fc.option(fc.integer({ min: 0, max: 253_402_300_799_999 }).map((ms) => new Date(ms).toISOString()), { nil: null }),
  ts: fc.integer({ min: ACK - 3_600_000, max: ACK + 300_000 }).map((ms) => new Date(ms).toISOString()),
}, { requiredKeys: ['payment_id', 'account_id', 'ts'] });

describe('decodePlainEvents', () => {
  test('takes only sources it can read exactly like DuckDB', () => {
    expect(plainDecodable(project, source, sourceViews(project, source))).toBe(true);
    const int = compileProject(defineProject({ name: 'p', entities: [account], sources: [streamSource({ ...payments, schema: { ...payments.schema, amount: 'int64' } })], featureViews: [] }));
    expect(plainDecodable(int, int.sources[0]!, [])).toBe(false);
  });

  test('plainly valid events: the same decoding as DuckDB, bodies and texts', async () => {
    let taken = 0;
    await fc.assert(fc.asyncProperty(fc.array(fc.array(plainEvent, { maxLength: 6 }), { minLength: 1, maxLength: 3 }), fc.boolean(), async (batches, asTexts) => {
      const parts: EventPart[] = batches.map((events) => (asTexts ? { texts: events.map((e) => JSON.stringify(e)) } : { body: JSON.stringify({ events }) }));
      const { plain, duck } = await both(parts);
      // Declines only for text with a \u escape (JSON.stringify writes control characters and lone surrogates so).
      if (plain === undefined) {
        expect(parts.some((p) => ('body' in p ? p.body : p.texts.join('')).includes('\\u'))).toBe(true);
        return;
      }
      taken++;
      expect(duck.rejected).toEqual([]);
      expect(comparable(plain)).toEqual(comparable(duck));
    }), { numRuns: 150 });
    expect(taken).toBeGreaterThan(75);
  });

  test('declines every group DuckDB would refuse or read differently', async () => {
    const ok = { payment_id: 'p1', account_id: 'a1', amount: 1.5, ts: '2026-11-29T05:59:00.000Z' };
    const event = (over: Record<string, unknown>) => JSON.stringify({ ...ok, ...over });
    const declined: string[] = [
      `{"events": [${event({ amount: '1.5' })}]}`, // a number as text: DuckDB reads it, the plain path does not
      `{"events": [${event({ ts: '2026-11-29 05:59:00' })}]}`, // a time not in the canonical form
      `{"events": [${event({ ts: '2026-11-29T04:00:00.000Z' })}]}`, // late
      `{"events": [${event({ ts: '2026-11-29T06:06:00.000Z' })}]}`, // future
      `{"events": [${event({ account_id: '' })}]}`, // empty join key
      `{"events": [${event({ account_id: null })}]}`,
      `{"events": [${event({ payment_id: undefined })}]}`, // no event id
      `{"events": [${event({ payment_id: 'é'.repeat(513) })}]}`, // an event id too long for the log
      `{"events": [${event({ other: 1 })}]}`, // a column not in the schema
      `{"events": [${event({ channel: { nested: true } })}]}`,
      `{"events": [${event({ channel: 'x\\u0041' })}]}`,
      `{"events": [{"payment_id": "p1", "account_id": "a1", "account_id": "a2", "amount": 1, "ts": "2026-11-29T05:59:00.000Z"}]}`, // a key twice
      `{"events": [${event({})}], "events": []}`,
      // Compact, as JSON.stringify writes bodies: a key twice is still seen (the body is not the stringify of what JSON.parse kept).
      `{"events":[{"payment_id":"p1","account_id":"a1","account_id":"a2","amount":1,"ts":"2026-11-29T05:59:00.000Z"}]}`,
      `{"events":[{"payment_id":"p1","account_id":"a2","amount":1,"ts":"2026-11-29T05:59:00.000Z","account_id":"a1"}]}`,
      `{"events":[${event({})}],"events":[]}`,
      `{"events":[],"events":[${event({})}]}`,
      `{"events": [${event({})}], "extra": 1}`,
      `{"events": [${event({ amount: 7 }).replace('7', '1e400')}]}`,
      `{"events": [${event({})}, 7]}`,
      `{"events": {}}`,
      `[${event({})}]`,
      `{"events": [${event({})}`,
    ];
    for (const body of declined) {
      expect(decodePlainEvents(project, source, [{ body }], ACK), body).toBeUndefined();
      const duck = await decodeEvents(engine, project, source, [{ body }], ACK, true, sourceViews(project, source)).catch(() => undefined);
      // Where DuckDB accepts the whole group, it is a case the plain path leaves to it on purpose.
      if (duck !== undefined && duck.rejected.length === 0 && typeof duck.counts[0] === 'number') expect(['1.5', '2026-11-29 05:59:00', '"extra"']).toContain(['1.5', '2026-11-29 05:59:00', '"extra"'].find((s) => body.includes(s)));
    }
  });

  test('an event with a schema column twice is refused by DuckDB too (one reason), not taken with its first value; a body with "events" twice is refused whole', async () => {
    const twice = 'column "account_id": the key is given twice (JSON gives a column one value)';
    const events = [
      '{"payment_id": "p1", "account_id": "a1", "account_id": "a2", "amount": 1, "ts": "2026-11-29T05:59:00.000Z"}',
      '{"payment_id":"p2","account_id":"a2","amount":1,"ts":"2026-11-29T05:59:00.000Z","account_id":"a1"}',
      // The same key spelled with an escape: JSON reads both as account_id.
      '{"payment_id": "p3", "\\u0061ccount_id": "a1", "account_id": "a2", "ts": "2026-11-29T05:59:00.000Z"}',
      '{"payment_id": "p4", "account_id": "a1", "channel": "\\"account_id\\": \\"a2\\"", "ts": "2026-11-29T05:59:00.000Z"}',
      '{"payment_id": "p5", "account_id": "a1", "amount": 1, "amount": null, "ts": "2026-11-29T05:59:00.000Z"}',
    ];
    for (const parts of [[{ body: `{"events": [${events.join(', ')}]}` }], [{ texts: events }]] satisfies EventPart[][]) {
      const duck = await decodeEvents(engine, project, source, parts, ACK, true, sourceViews(project, source));
      expect(duck.rejected.map((r) => [r.index, r.reason])).toEqual([[0, twice], [1, twice], [2, twice], [4, 'column "amount": the key is given twice (JSON gives a column one value)']]);
      expect(duck.ids).toEqual(['p4']);
      expect(decodePlainEvents(project, source, parts, ACK)).toBeUndefined();
    }
    for (const body of [`{"events":[],"events":[${events[3]}]}`, `{"events":[${events[3]}],"events":[]}`, `{"events":[], "\\u0065vents":[${events[3]}]}`]) {
      const duck = await decodeEvents(engine, project, source, [{ body }], ACK, true, sourceViews(project, source));
      expect(duck.counts, body).toEqual(['the body gives "events" more than once (however spelled), so which list it sends is ambiguous; send one list: a JSON object {"events": [{...}, ...]} of events of source "payments"']);
      expect(duck.lines).toEqual([]);
    }
    // A byte order mark is named as the fault, not the shape.
    const bom = await decodeEvents(engine, project, source, [{ body: `\uFEFF{"events": [${events[3]}]}` }], ACK, true, sourceViews(project, source));
    expect(bom.counts).toEqual(['the body starts with a byte order mark (U+FEFF), which JSON does not allow; send a JSON object {"events": [{...}, ...]} of events of source "payments" without it']);
  });

  test('a refused event of a push body keeps the text the client sent, not DuckDB\'s re-writing of it', async () => {
    const sent = '{"payment_id": "p1", "account_id": "a1", "amount": 1e3, "flagged": 1.50e0, "ts": "2026-11-29T05:59:00.000Z"}';
    const body = `{"events": [${sent},\n  {"payment_id": "p2", "account_id": "a1", "amount": 2.50e0, "ts": "2026-11-29T05:59:00.000Z"} ]}`;
    const duck = await decodeEvents(engine, project, source, [{ body }], ACK, true, sourceViews(project, source));
    expect(duck.rejected.map((r) => [r.index, r.raw])).toEqual([[0, sent]]);
  });

  test('an event with a key that differs from a schema column only in case is refused naming both (not taken with a null); the plain path declines it', async () => {
    const events = [
      '{"payment_id": "p1", "account_id": "a1", "Amount": 1, "ts": "2026-11-29T05:59:00.000Z"}',
      '{"payment_id": "p2", "account_id": "a1", "amount": 2, "AMOUNT": 3, "ts": "2026-11-29T05:59:00.000Z"}',
    ];
    for (const parts of [[{ body: `{"events": [${events.join(', ')}]}` }], [{ texts: events }]] satisfies EventPart[][]) {
      const duck = await decodeEvents(engine, project, source, parts, ACK, true, sourceViews(project, source));
      expect(duck.rejected.map((r) => [r.index, r.reason])).toEqual([[0, 'column "amount": key "Amount" differs only in case: JSON keys must match the schema exactly']]);
      expect(duck.ids).toEqual(['p2']);
      expect(decodePlainEvents(project, source, parts, ACK)).toBeUndefined();
    }
  });

  test('a body written by JSON.stringify is taken even when values spell column names or "events"; the same body with spaces is declined', async () => {
    const events = [
      { payment_id: 'ts', account_id: 'a1', amount: 2.5, channel: 'events', ts: '2026-11-29T05:59:00.000Z' },
      { payment_id: '"amount"', account_id: 'account_id', channel: '"events":[', ts: '2026-11-29T05:58:00.000Z' },
    ];
    const body = JSON.stringify({ events });
    const { plain, duck } = await both([{ body }]);
    expect(plain).toBeDefined();
    expect(comparable(plain!)).toEqual(comparable(duck));
    // With another group's part before it (the compared events start at that part's end).
    const two = await both([{ body: JSON.stringify({ events: [{ ...events[0], payment_id: 'p0' }] }) }, { body }]);
    expect(comparable(two.plain!)).toEqual(comparable(two.duck));
    // Spaced: counted by quoted names, which the values spelling names defeat: left to DuckDB.
    expect(decodePlainEvents(project, source, [{ body: JSON.stringify({ events }, null, 1) }], ACK)).toBeUndefined();
  });

  test('text holding a lone UTF-16 surrogate (not escaped) is declined, and refused, not read as U+FFFD', async () => {
    // A library caller of processor.append hands JavaScript strings: they can hold a lone surrogate.
    for (const text of [
      '{"payment_id": "p1", "account_id": "a\ud800", "ts": "2026-11-29T05:59:00.000Z"}',
      '{"payment_id": "p1", "account_id": "a1", "channel": "x\udc00y", "ts": "2026-11-29T05:59:00.000Z"}',
      '{"payment_id": "p\udbff", "account_id": "a1", "ts": "2026-11-29T05:59:00.000Z"}',
    ]) {
      for (const part of [{ texts: [text] }, { body: `{"events": [${text}]}` }]) {
        const { plain, duck } = await both([part]);
        expect(plain, text).toBeUndefined();
        // Silently altered, a key would be another entity's: the event (or the body) is refused (see strictJsonProblem).
        const refused = 'texts' in part ? duck.rejected.map((r) => r.reason) : duck.counts;
        expect(refused).toEqual([expect.stringMatching(/^the (event|body) holds a lone UTF-16 surrogate, which is not a character; send text as UTF-8$/)]);
      }
    }
    // A surrogate pair (a character outside the BMP) stays plain.
    const pair = '{"payment_id": "p1", "account_id": "a\ud83d\ude00", "ts": "2026-11-29T05:59:00.000Z"}';
    const { plain, duck } = await both([{ texts: [pair] }]);
    expect(comparable(plain!)).toEqual(comparable(duck));
  });

  test('edge inputs (numbers, lateness limits, escapes, times, shapes): the plain path gives DuckDB\'s decoding or declines', async () => {
    const base = '"payment_id": "p1", "account_id": "a1", "ts": "2026-11-29T05:59:00.000Z"';
    const at = (ms: number) => `{"payment_id": "p1", "account_id": "a1", "ts": "${new Date(ms).toISOString()}"}`;
    const numbers = ['-0', '-0.0', '1.0', '1E2', '1e21', '5e-324', '1e-400', '-1e-400', '2.4703282292062328e-324', '1.7976931348623157e308', '1.7976931348623159e308', '9007199254740993',
      '18446744073709551616', '-9223372036854775809', '123456789012345678901234567890', '0.1000000000000000055511151231257827', '1.00000000000000011102230246251565404236316680908203125', `1${'0'.repeat(400)}`, `0.${'0'.repeat(400)}1`, '1e400', '01', '"NaN"', '"1.5"'];
    const texts = [
      ...numbers.map((n) => `{${base}, "amount": ${n}}`),
      at(ACK - 3_600_000), at(ACK - 3_600_001), at(ACK + 300_000), at(ACK + 300_001), at(0), at(253_402_300_799_999),
      `{${base}, "seen": "2016-12-31T23:59:60.000Z"}`, `{${base}, "seen": "2024-02-30T00:00:00.000Z"}`, `{${base}, "seen": "2024-03-01T00:00:00.0000Z"}`, `{${base}, "seen": "2024-03-01T01:00:00.000+01:00"}`,
      `{${base}, "channel": "a\\/b\\"c\\\\d\\b\\f\\n\\r\\t"}`, `{${base}, "channel": "${'x'.repeat(100_000)}"}`, `{${base}, "flagged": 1}`, `{${base}, "flagged": "true"}`,
      `{"payment_id": "", "account_id": "a1", "ts": "2026-11-29T05:59:00.000Z"}`, `{"payment_id": "p1", "account_id": "${'é'.repeat(512)}", "ts": "2026-11-29T05:59:00.000Z"}`,
      `{"payment_id": "p1", "account_id": "${'é'.repeat(513)}", "ts": "2026-11-29T05:59:00.000Z"}`, `{"payment_id": "${'é'.repeat(512)}", "account_id": "a1", "ts": "2026-11-29T05:59:00.000Z"}`,
      `{"payment_id": "${'é'.repeat(513)}", "account_id": "a1", "ts": "2026-11-29T05:59:00.000Z"}`, `{${base}, "__proto__": {"amount": 1}}`, `{${base}, "constructor": 1}`, ` {${base}} `, `{${base}}{}`,
    ];
    let taken = 0;
    for (const text of texts) {
      for (const streamed of [true, false]) {
        for (const part of [{ texts: [text] }, { body: `{"events": [${text}]}` }]) {
          const { plain, duck } = await both([part], streamed).catch(() => ({ plain: decodePlainEvents(project, source, [part], ACK, streamed), duck: undefined }));
          if (plain === undefined) continue;
          taken++;
          expect(duck?.rejected, text).toEqual([]);
          // Raw texts may differ in spelling only (DuckDB keeps the sender's `-0.0`, `1E2`, digits; they read back as the same float64).
          const same = (d: typeof plain) => ({ ...comparable(d), raws: d.raws.map((r) => JSON.parse(r, (_k, v: unknown) => (Object.is(v, -0) ? 0 : v)) as unknown) });
          expect(same(plain), text).toEqual(same(duck!));
        }
      }
    }
    expect(taken).toBeGreaterThan(60);
  });

  test('a log entry decoded again is not checked for lateness', async () => {
    const texts = [JSON.stringify({ payment_id: 'p1', account_id: 'a1', amount: 2, ts: '2026-11-28T00:00:00.000Z' })];
    const { plain, duck } = await both([{ texts }], false);
    expect(plain).toBeDefined();
    expect(comparable(plain!)).toEqual(comparable(duck));
    expect(decodePlainEvents(project, source, [{ texts }], ACK, true)).toBeUndefined();
  });
});

describe('canonicalTime', () => {
  // The rule it must keep: the time whose toIso text is exactly this text, from 1970 up to (not including) 10000.
  const reference = (text: string): number | undefined => {
    if (text.length !== 24 || !text.endsWith('Z')) return undefined;
    const ms = Date.parse(text);
    return ms >= 0 && ms < 253_402_300_800_000 && toIso(ms) === text ? ms : undefined;
  };

  test('reads exactly the canonical texts of times in range, as Date.parse and toIso would', () => {
    const canonical = fc.integer({ min: -100_000_000_000_000, max: 253_402_300_799_999 + 100_000_000_000 }).map((ms) => new Date(ms).toISOString());
    // Canonical texts with one character changed: out-of-range fields, other separators, signs, spaces.
    const mutated = fc.tuple(canonical, fc.nat(23), fc.constantFrom('0', '1', '2', '3', '9', '-', ':', '.', 'T', 'Z', ' ', '+', 'a', '٣')).map(([t, i, c]) => t.slice(0, i) + c + t.slice(i + 1));
    fc.assert(fc.property(fc.oneof(canonical, mutated), (text) => {
      expect(canonicalTime(text)).toBe(reference(text));
    }), { numRuns: 20_000 });
  });

  test.each([
    '2024-02-29T00:00:00.000Z', '2023-02-29T00:00:00.000Z', '2100-02-29T00:00:00.000Z', '2000-02-29T00:00:00.000Z', '2024-04-31T00:00:00.000Z',
    '2024-12-31T23:59:59.999Z', '2024-12-31T24:00:00.000Z', '2024-12-31T23:60:00.000Z', '2024-12-31T23:59:60.000Z', '1969-12-31T23:59:59.999Z',
    '1970-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '2024-00-10T00:00:00.000Z', '2024-13-10T00:00:00.000Z', '2024-01-00T00:00:00.000Z',
    '+02024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000+', '2024-01-01 00:00:00.000Z',
  ])('%s', (text) => expect(canonicalTime(text)).toBe(reference(text)));
});
