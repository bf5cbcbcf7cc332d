import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import { literal, type SqlEngine } from '../storage/engine/sql-engine.js';
import { float64TextSql, parseFloat64Text } from './float64-text.js';

let engine: SqlEngine;
beforeAll(async () => {
  engine = await duckDbEngine({ threads: 1 });
});
afterAll(async () => {
  await engine.close();
});

/** What DuckDB's twin gives for each text, in order (null where it refuses). */
async function inSql(texts: readonly string[]): Promise<(number | null)[]> {
  const rows = await engine.all<{ v: number | null }>(`SELECT ${float64TextSql('t')} AS v FROM (SELECT unnest([${texts.map(literal).join(', ')}]::VARCHAR[]) AS t, generate_subscripts([${texts.map(literal).join(', ')}]::VARCHAR[], 1) AS i) ORDER BY i`);
  return rows.map((r) => r.v);
}

const digits = fc.stringMatching(/^[0-9]{1,25}$/);
/** Texts near the rule: valid numbers of every shape, and the spellings DuckDB's cast reads but the rule does not. */
const numberText = fc.oneof(
  fc.tuple(fc.constantFrom('', '+', '-'), digits, fc.option(fc.tuple(fc.constant('.'), fc.stringMatching(/^[0-9]{0,20}$/)), { nil: undefined }), fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 400 })), { nil: undefined }))
    .map(([sign, whole, fraction, exponent]) => `${sign}${whole}${fraction === undefined ? '' : fraction.join('')}${exponent === undefined ? '' : exponent.join('')}`),
  fc.double().map(String),
  fc.double({ noNaN: true }).map((d) => d.toExponential()),
  fc.tuple(fc.constantFrom(' ', '_', 'x', '.', 'e', '\t', 'inf', 'Infinity', 'nan', '0x', ',', '١'), fc.nat(6), fc.double().map(String)).map(([junk, at, text]) => text.slice(0, at) + junk + text.slice(at)),
  fc.string({ maxLength: 8 }),
);

test('the JS and SQL float64 text rules accept the same texts and give the same double', async () => {
  const texts = fc.sample(numberText, { numRuns: 3000, seed: 18 });
  const js = texts.map((t) => parseFloat64Text(t) ?? null);
  expect(await inSql(texts)).toEqual(js);
  // The sample must hold both accepted and refused texts, else it proves little.
  expect(js.filter((v) => v !== null).length).toBeGreaterThan(1000);
  expect(js.filter((v) => v === null).length).toBeGreaterThan(300);
});

test('float64 text: the rule\'s texts only, the nearest double, -0 as 0, nothing past the range', async () => {
  const cases: Array<[string, number | null]> = [
    ['12.5', 12.5], ['+3', 3], ['1.', 1], ['.5', 0.5], ['4E1', 40], ['-0', 0], ['0.1', 0.1], ['9007199254740993', 9007199254740992],
    ['1e308', 1e308], ['1e309', null], ['-1e309', null], ['1e-400', 0], ['2.4703282292062328e-324', 5e-324],
    [' 1', null], ['1 ', null], ['1_000', null], ['0x10', null], ['inf', null], ['Infinity', null], ['NaN', null], ['', null], ['.', null], ['e5', null], ['1e', null], ['--1', null],
  ];
  expect(cases.map(([t]) => parseFloat64Text(t) ?? null)).toEqual(cases.map(([, v]) => v));
  expect(await inSql(cases.map(([t]) => t))).toEqual(cases.map(([, v]) => v));
});
