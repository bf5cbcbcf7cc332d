import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cdcSource, compileProject, count, defineProject, entity, featureView, field, streamSource, type Project, type Source } from '../definitions/index.js';
import { rowEvent } from '../ingest/connectors/postgres/change-events.js';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import { StreamDecoder } from './stream-decoder.js';

// One rule per check, every way in: a push body, a JetStream message and a Postgres change
// holding the same event get the same verdict for the same reason (issue 6 section 2).
const ACK = Date.parse('2026-11-29T06:00:00.000Z');
const TS = '2026-11-29T05:59:00.000Z';
const account = entity({ name: 'account', joinKey: 'account_id' });
// `plain`: a schema the plain path may decode (strings, float64, timestamps); `typed`: one it never does (int64).
const plain = streamSource({ name: 'plain', timestamp: 'ts', eventId: 'id', schema: { id: 'string', account_id: 'string', price: 'float64', ts: 'timestamp' } });
const typed = streamSource({ name: 'typed', timestamp: 'ts', eventId: 'id', schema: { id: 'string', account_id: 'string', price: 'float64', qty: 'int64', ts: 'timestamp' } });
const accounts = cdcSource({ name: 'accounts', key: 'account_id', schema: { account_id: 'string', price: 'float64', qty: 'int64' } });
const views = [
  featureView({ name: 'plain_n', entity: account, source: plain, features: { n: count() } }),
  featureView({ name: 'typed_n', entity: account, source: typed, features: { n: count() } }),
  featureView({ name: 'accounts_n', entity: account, source: accounts, features: { price: field('price') } }),
];
const project: Project = compileProject(defineProject({ name: 'strict', entities: [account], sources: [plain, typed, accounts], featureViews: views }));
const sourceOf = (name: string): Source => project.sources.find((s) => s.name === name)!;

let engine: SqlEngine;
let decoder: StreamDecoder;
beforeAll(async () => {
  engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
  decoder = new StreamDecoder(engine, undefined);
});
afterAll(async () => engine.close());

type Verdict = { readonly verdict: 'accepted' } | { readonly verdict: 'refused'; readonly reason: string; readonly at?: string };

/** A push body holding `event` alone: refused as a body (the request's 400) or as its one event, or accepted. */
async function pushed(source: Source, event: string): Promise<Verdict> {
  // A byte order mark can only start a body: an event's would be in it.
  const body = event.startsWith('\uFEFF') ? `\uFEFF{"events": [${event.slice(1)}]}` : `{"events": [${event}]}`;
  const decoded = await decoder.decodeGroup(project, source, [{ body }], ACK, [], () => undefined);
  const count = decoded.counts[0];
  if (typeof count === 'string') return { verdict: 'refused', reason: count };
  const [rejected] = decoded.rejected;
  return rejected === undefined ? { verdict: 'accepted' } : { verdict: 'refused', reason: rejected.reason };
}

/** `event` as a connector hands it in (a JetStream message, a Postgres change), with where upstream holds it. */
async function streamed(source: Source, event: string, at: string): Promise<Verdict> {
  const decoded = await decoder.decodeGroup(project, source, [{ texts: [event], upstream: { at: [at] } }], ACK, [], () => undefined);
  const [rejected] = decoded.rejected;
  if (rejected === undefined) return { verdict: 'accepted' };
  return { verdict: 'refused', reason: rejected.reason, ...(rejected.at === undefined ? {} : { at: rejected.at }) };
}

/** The rule a reason names, whoever it speaks to: without `the body`/`the event`, `JSON.parse`'s detail (it quotes the text) and the fix. */
const rule = (reason: string): string => reason.replace(/^the (body|event) /, '').replace(/ \((Unexpected|Expected|No number|Bad|Unterminated)[^]*$/, '').replace(/; (send|remove)[^]*$/, '');

const event = (fields: string) => `{"id": "e1", "account_id": "a", "ts": "${TS}", ${fields}}`;
const NOT_JSON = 'is not valid JSON';
const lenient: readonly (readonly [string, string, string | 'accepted'])[] = [
  ['NaN', event('"price": NaN'), NOT_JSON],
  ['Infinity', event('"price": Infinity'), NOT_JSON],
  ['-Infinity', event('"price": -Infinity'), NOT_JSON],
  ['a trailing comma in the object', event('"price": 1,'), NOT_JSON],
  ['a trailing comma in an array', event('"price": 1, "tags": [1,]'), NOT_JSON],
  ['single quotes', `{'id': 'e1', 'account_id': 'a', 'ts': '${TS}', 'price': 1}`, NOT_JSON],
  ['a comment', event('"price": 1 /* cents */'), NOT_JSON],
  ['a line comment after the object', `${event('"price": 1')} // note`, NOT_JSON],
  ['an unquoted key', event('price: 1'), NOT_JSON],
  ['a leading zero', event('"price": 01'), NOT_JSON],
  ['a hexadecimal number', event('"price": 0x10'), NOT_JSON],
  ['a plus sign', event('"price": +1'), NOT_JSON],
  ['a raw tab in a string', event('"note": "a\tb", "price": 1'), NOT_JSON],
  ['a byte order mark', `\uFEFF${event('"price": 1')}`, 'starts with a byte order mark (U+FEFF), which JSON does not allow'],
  ['an escaped lone surrogate', event('"price": 1, "note": "\\ud800"'), 'has an escaped lone UTF-16 surrogate (such as \\ud800), which is not a character'],
  ['a duplicate key', event('"price": 1, "price": 2'), 'column "price": the key is given twice (JSON gives a column one value)'],
  ['a string where a number is declared', event('"price": "x"'), 'column "price": "x" is not a float64'],
  ['a number past the float64 range', event('"price": 1e999'), 'column "price": "1e999" is not a float64'],
  ['a number as text', event('"price": "1.5"'), 'accepted'],
  ['not an object', '[1]', 'not a JSON object'],
];

describe('a lenient text: the same verdict and reason pushed as streamed (JetStream, Postgres CDC), on the plain and the DuckDB path', () => {
  for (const name of ['plain', 'typed']) {
    test.each(lenient)(`${name}: %s`, async (_, text, expected) => {
      const source = sourceOf(name);
      const push = await pushed(source, text);
      const message = await streamed(source, text, 'stream sequence 7');
      if (expected === 'accepted') {
        expect([push, message]).toEqual([{ verdict: 'accepted' }, { verdict: 'accepted' }]);
        return;
      }
      expect(push).toMatchObject({ verdict: 'refused' });
      expect(message).toMatchObject({ verdict: 'refused', at: 'stream sequence 7' });
      const [pushRule, messageRule] = [push, message].map((v) => rule((v as { reason: string }).reason));
      expect(messageRule).toBe(expected);
      expect(pushRule).toBe(messageRule);
    });
  }

  test('poison never fails a group: every lenient text among good ones, for sources with list and vector columns too, is dead-lettered alone', async () => {
    const listed = compileProject(defineProject({
      name: 'lists', entities: [account], featureViews: [],
      sources: [streamSource({ name: 'tagged', timestamp: 'ts', eventId: 'id', schema: { id: 'string', account_id: 'string', price: 'float64', tags: 'string[]', embedding: 'float32[2]', ts: 'timestamp' } })],
    }));
    const good = (id: string) => `{"id": "${id}", "account_id": "a", "ts": "${TS}", "price": 1, "tags": ["x"], "embedding": [0.5, 1]}`;
    const poison = lenient.filter(([, , expected]) => expected !== 'accepted').map(([, text]) => text);
    const texts = [good('g0'), ...poison, good('g1')];
    const decoded = await decoder.decodeGroup(listed, listed.sources[0]!, [{ texts, upstream: { at: texts.map((_, i) => `stream sequence ${i + 1}`) } }], ACK, [], () => undefined);
    expect(decoded.lines).toEqual([0, texts.length - 1]);
    expect(decoded.rejected.map((r) => r.at)).toEqual(poison.map((_, i) => `stream sequence ${i + 2}`));
  });

  test('typed: a number out of the int64 range, and a fraction for an int64', async () => {
    for (const [qty, reason] of [['99999999999999999999', 'is outside the int64 range (-2^63 to 2^63-1)'], ['1.5', 'is not an int64 (write a whole number in decimal digits)']] as const) {
      const text = event(`"price": 1, "qty": ${qty}`);
      const expected = { verdict: 'refused', reason: `column "qty": "${qty}" ${reason}` };
      expect(await pushed(sourceOf('typed'), text)).toEqual(expected);
      expect(await streamed(sourceOf('typed'), text, 'stream sequence 8')).toEqual({ ...expected, at: 'stream sequence 8' });
    }
  });

  test('a lone surrogate in a caller\'s string (no HTTP body can hold one) is refused, not read as U+FFFD', async () => {
    const text = event('"price": 1, "note": "\uD800"');
    for (const name of ['plain', 'typed']) {
      expect(rule((await pushed(sourceOf(name), text) as { reason: string }).reason)).toBe('holds a lone UTF-16 surrogate, which is not a character');
      expect(await streamed(sourceOf(name), text, 'stream sequence 9')).toEqual({ verdict: 'refused', reason: 'the event holds a lone UTF-16 surrogate, which is not a character; send text as UTF-8', at: 'stream sequence 9' });
    }
  });

  test('a Postgres change: values as Postgres prints them meet the rules a pushed event meets', async () => {
    const source = sourceOf('accounts');
    const cases = [
      [{ price: 'NaN' }, 'column "price": "NaN" is not a float64'],
      [{ price: 'Infinity' }, 'column "price": "Infinity" is not a float64'],
      [{ price: '-Infinity' }, 'column "price": "-Infinity" is not a float64'],
      [{ qty: '99999999999999999999' }, 'column "qty": "99999999999999999999" is outside the int64 range (-2^63 to 2^63-1)'],
      [{ qty: '2.50' }, 'column "qty": "2.50" is not an int64 (write a whole number in decimal digits)'],
      [{ price: '12.50', qty: '3' }, undefined],
    ] as const;
    for (const [row, reason] of cases) {
      const text = rowEvent(['account_id', 'price', 'qty'], { account_id: 'a', ...row }, 'update', TS);
      const expected: Verdict = reason === undefined ? { verdict: 'accepted' } : { verdict: 'refused', reason };
      expect(await pushed(source, text)).toEqual(expected);
      expect(await streamed(source, text, 'LSN 0/16B3748 of table public.accounts')).toEqual(reason === undefined ? expected : { ...expected, at: 'LSN 0/16B3748 of table public.accounts' });
    }
  });
});
