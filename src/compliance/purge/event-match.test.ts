import { expect, test } from 'vitest';
import { rawMentions } from '../../definitions/index.js';

test('raw text mentions a key part as written, or decoded from raw JSON (a key written with escapes); other text does not', () => {
  expect(rawMentions('c7,bad-ts', ['c7'])).toBe(true);
  expect(rawMentions('{"customer_id":"c\\u0037","ts":"x"}', ['c7'])).toBe(true);
  expect(rawMentions('{"u":"u\\u0031","m":"\\u006d9"}', ['u1', 'm9'])).toBe(true);
  expect(rawMentions('{"\\u0063\\u0037":1}', ['c7'])).toBe(true);
  expect(rawMentions('{"u":"u\\u0031","m":"m8"}', ['u1', 'm9'])).toBe(false);
  expect(rawMentions('{"customer_id":"c8"}', ['c7'])).toBe(false);
  expect(rawMentions('{"customer_id":1e2,"ts":"x"}', ['100'])).toBe(true);
});

test('raw text that does not parse mentions a key part written JSON-escaped (a quote, a backslash, a control character, a lone surrogate), as the serving log writes it', () => {
  for (const part of ['a"b', 'a\\b', 'a\nb', 'a\ud800b']) {
    expect(rawMentions(`{"rows":[[${JSON.stringify(part)},[1]],["c9",[`, [part])).toBe(true);
    expect(rawMentions(`{"rows":[["c9",[`, [part])).toBe(false);
  }
});

test('a key part is mentioned only as a whole value, not inside a longer one: a date, a hash, a longer key, a decimal (review rev11 finding 4)', () => {
  // Key "2" against rows of other subjects: before, every row with a "2024-..." date matched.
  expect(rawMentions('c1,2024-01-01T00:00:00Z,5', ['2'])).toBe(false);
  expect(rawMentions('c1,2.5,x', ['2'])).toBe(false);
  expect(rawMentions('{"customer_id":"c1","ts":"2024-01-01T00:00:00Z"}', ['2'])).toBe(false);
  // An earlier erasure's marker (a keyed hash) is nobody's key.
  expect(rawMentions('{"erased":"45e4f8dec264a1"}', ['c2'])).toBe(false);
  expect(rawMentions('{"customer_id":"c22"}', ['c2'])).toBe(false);
  expect(rawMentions('c22,x', ['c2'])).toBe(false);
  expect(rawMentions('cust-ALPHA-2,x', ['ALPHA'])).toBe(false);
  // The subject's own rows still match, whatever the format.
  expect(rawMentions('c2,2024-01-01,5', ['c2'])).toBe(true);
  expect(rawMentions('"c2",x', ['c2'])).toBe(true);
  expect(rawMentions('x, c2 ,y', ['c2'])).toBe(true);
  expect(rawMentions('cust-ALPHA,x', ['cust-ALPHA'])).toBe(true);
  expect(rawMentions('{"customer_id":2,"amount":"2024"}', ['2'])).toBe(true);
  expect(rawMentions('{"customer_id":9007199254740993}', ['9007199254740993'])).toBe(true);
  expect(rawMentions('{"customer_id":9007199254740993}', ['9007199254740992'])).toBe(false);
  // A torn JSON row: the key as a whole JSON string or number.
  expect(rawMentions('{"customer_id":"c2","ts":', ['c2'])).toBe(true);
  expect(rawMentions('{"customer_id":42,"ts":', ['42'])).toBe(true);
  expect(rawMentions('{"customer_id":"c2","ts":', ['c'])).toBe(false);
});
