import { expect, test } from 'vitest';
import { rawMentions } from './event-match.js';

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
