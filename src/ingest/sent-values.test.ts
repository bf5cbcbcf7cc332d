import { expect, test } from 'vitest';
import { memberTexts, withSentValues } from './sent-values.js';

test("an object's members are cut as written; nested values and strings with brackets and escapes are skipped whole", () => {
  expect(memberTexts(' {"qty" : 1e3, "tags": [1, {"q": "]"}], "s": "a\\"}", "qty": 2, "e": {}} ')).toEqual(new Map([['qty', '1e3'], ['tags', '[1, {"q": "]"}]'], ['s', '"a\\"}"'], ['e', '{}']]));
  expect(memberTexts('{}')).toEqual(new Map());
  for (const notOne of ['[1]', '{"a": 1', '{"a" 1}', '{"a": 1} x', 'acct,n', '']) expect(memberTexts(notOne)).toBeUndefined();
});

test('a reason quotes numbers as sent; other values, other reasons and texts that are no JSON object stay', () => {
  const reason = 'column "qty": "1000.0" is not an int64 (write a whole number in decimal digits); column "price": "x" is not a float64';
  expect(withSentValues(reason, '{"price": "x", "qty": 1e3}')).toBe('column "qty": "1e3" is not an int64 (write a whole number in decimal digits); column "price": "x" is not a float64');
  expect(withSentValues('column "qty": "1.5" is not an int64', '{"qty": 1.5}')).toBe('column "qty": "1.5" is not an int64');
  expect(withSentValues('column "qty": "1000.0" is not an int64', '1,1e3,x')).toBe('column "qty": "1000.0" is not an int64');
  expect(withSentValues('column "qty": "1000.0" is not an int64', undefined)).toBe('column "qty": "1000.0" is not an int64');
  expect(withSentValues('late: event time 2020-01-01T00:00:00.000Z is more than ...', '{"qty": 1e3}')).toBe('late: event time 2020-01-01T00:00:00.000Z is more than ...');
});
