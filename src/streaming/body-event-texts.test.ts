import { describe, expect, test } from 'vitest';
import { bodyEventTexts } from './body-event-texts.js';

describe('bodyEventTexts', () => {
  test('cuts each event of the "events" array as sent: numbers, strings with quotes and brackets, nesting, whitespace, other keys before and after', () => {
    expect(bodyEventTexts('{"events": [{"qty": 1e3}, 7 ,"a\\"],{" , [1, [2]], {"b": {"c": [3]}}\n]}')).toEqual(['{"qty": 1e3}', '7', '"a\\"],{"', '[1, [2]]', '{"b": {"c": [3]}}']);
    expect(bodyEventTexts('{"source": {"events": [1]}, "x": "events", "\\u0065vents": [ {"v":1.50e0} ], "after": [9]}')).toEqual(['{"v":1.50e0}']);
    expect(bodyEventTexts('{"events": []}')).toEqual([]);
    expect(bodyEventTexts('{"events": 5}')).toBeUndefined();
  });

  test('agrees with JSON.parse on what the events are', () => {
    const body = JSON.stringify({ events: [{ a: 'x,]}', b: [1, { c: null }] }, 'text', 1.5, null, true] }, null, 2);
    expect(bodyEventTexts(body)!.map((t) => JSON.parse(t) as unknown)).toEqual((JSON.parse(body) as { events: unknown[] }).events);
  });
});
