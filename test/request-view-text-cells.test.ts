import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { requestView, type ScalarType } from '../src/definitions/index.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { requestTextValue, requestValue } from '../src/processing/request-features.js';
import { requestViewPlatform, spineCells, stats } from './support/spine-cells.js';

// A request view's bool and float64 request fields, read by one rule online (`requestValue`, on
// the JSON value a request sends), from text (`requestTextValue`: a `--request` argument, a CSV
// spine cell) and in a dataset's spine (`requestFieldSql`). Text is a bool exactly when it is
// `true` or `false` (lowercase, as JSON writes them), a float64 by the float64 text rule
// (`parseFloat64Text`); a JSONL or Parquet cell is the JSON value it holds (a string is no bool
// and no float64, as online).
const inSpine = spineCells();

const fromText = (text: string, type: ScalarType) => requestValue(requestTextValue(text, type), type) ?? null;
const online = (json: string, type: ScalarType) => requestValue(JSON.parse(json), type) ?? null;

test('bool: text is exactly true or false (lowercase); DuckDB\'s other spellings (yes, 1, t, TRUE) are refused', async () => {
  const cases: Array<[string, boolean | null]> = [
    ['true', true], ['false', false], ['TRUE', null], ['True', null], ['yes', null], ['no', null], ['1', null], ['0', null],
    ['t', null], ['f', null], ['y', null], ['on', null], [' true', null], ['true ', null], ['', null],
  ];
  expect(cases.map(([text]) => fromText(text, 'bool'))).toEqual(cases.map(([, v]) => v));
  expect(await inSpine('csv', cases.map(([text]) => text), 'bool')).toEqual(cases.map(([, v]) => v));
  // CSV quotes are CSV's own: the cell "true" is the text true (as a --request argument, quotes are text).
  expect(await inSpine('csv', ['"true"', '"no"'], 'bool')).toEqual([true, null]);
  expect(fromText('"true"', 'bool')).toBeNull();
});

test('bool: a JSONL or Parquet cell is a bool only when it is a JSON boolean (a BOOLEAN column), never a string or a number', async () => {
  expect(await inSpine('jsonl', ['true', 'false'], 'bool')).toEqual([true, false]);
  expect(await inSpine('parquet', ['true', 'false'], 'bool')).toEqual([true, false]);
  const mixed: Array<[string, boolean | null]> = [['true', true], ['false', false], ['"true"', null], ['1', null], ['0', null], ['"yes"', null]];
  expect(mixed.map(([json]) => online(json, 'bool'))).toEqual(mixed.map(([, v]) => v));
  expect(await inSpine('jsonl', mixed.map(([json]) => json), 'bool')).toEqual(mixed.map(([, v]) => v));
  expect(await inSpine('jsonl', ['"true"', '"false"'], 'bool')).toEqual([null, null]);
  expect(await inSpine('parquet', ['"true"', '"false"'], 'bool')).toEqual([null, null]);
  expect(await inSpine('jsonl', ['1', '0'], 'bool')).toEqual([null, null]);
});

test('float64: text by the float64 text rule, the same double as the CLI sends; DuckDB\'s other spellings (spaces, 1_000, inf) are refused', async () => {
  const cases: Array<[string, number | null]> = [
    ['1.5', 1.5], ['-2', -2], ['+3', 3], ['1.', 1], ['.5', 0.5], ['1e3', 1000], ['1E-3', 0.001], ['-0', 0], ['0.1', 0.1],
    ['1e400', null], ['1e-400', 0], [' 1.5', null], ['1.5 ', null], ['1_000', null], ['0x10', null], ['inf', null], ['NaN', null], ['', null], ['.', null], ['e3', null],
  ];
  expect(cases.map(([text]) => fromText(text, 'float64'))).toEqual(cases.map(([, v]) => v));
  expect(await inSpine('csv', cases.map(([text]) => text), 'float64')).toEqual(cases.map(([, v]) => v));
});

test('float64: a JSONL or Parquet cell is a float64 when it is a JSON number (exact integers as the double JSON.parse gives), never a string', async () => {
  const json: Array<[string, number | null]> = [['1.5', 1.5], ['7', 7], ['-0.0', 0], ['9007199254740993', 9007199254740992], ['"1.5"', null], ['true', null]];
  expect(json.map(([j]) => online(j, 'float64'))).toEqual(json.map(([, v]) => v));
  expect(await inSpine('jsonl', json.map(([j]) => j), 'float64')).toEqual(json.map(([, v]) => v));
  expect(await inSpine('jsonl', ['7', '9007199254740993', '-3'], 'float64')).toEqual([7, 9007199254740992, -3]);
  expect(await inSpine('parquet', ['1.5', '-0.0', '2'], 'float64')).toEqual([1.5, 0, 2]);
  expect(await inSpine('jsonl', ['"1.5"', '"2"'], 'float64')).toEqual([null, null]);
});

test('string: a CSV cell is its text; a JSONL or Parquet cell is a string only when it is a JSON string, never a number, bool or object cast to text', async () => {
  expect(await inSpine('csv', ['abc', '5', 'true', ' x '], 'string')).toEqual(['abc', '5', 'true', ' x ']);
  expect(['abc', '5', 'true'].map((text) => fromText(text, 'string'))).toEqual(['abc', '5', 'true']);
  const mixed: Array<[string, string | null]> = [['"abc"', 'abc'], ['5', null], ['"5"', '5'], ['1.5', null], ['true', null], ['{"a":1}', null], ['[1]', null], ['""', '']];
  expect(mixed.map(([json]) => online(json, 'string'))).toEqual(mixed.map(([, v]) => v));
  expect(await inSpine('jsonl', mixed.map(([json]) => json), 'string')).toEqual(mixed.map(([, v]) => v));
  // A column of one JSON type: numbers (BIGINT, DOUBLE), booleans, objects are no strings.
  expect(await inSpine('jsonl', ['5', '7'], 'string')).toEqual([null, null]);
  expect(await inSpine('jsonl', ['1.5', '2'], 'string')).toEqual([null, null]);
  expect(await inSpine('jsonl', ['true', 'false'], 'string')).toEqual([null, null]);
  expect(await inSpine('jsonl', ['{"a":1}'], 'string')).toEqual([null]);
  expect(await inSpine('jsonl', ['"a"', '"b"'], 'string')).toEqual(['a', 'b']);
  expect(await inSpine('parquet', ['"a"', '"b"'], 'string')).toEqual(['a', 'b']);
  expect(await inSpine('parquet', ['5', '7'], 'string')).toEqual([null, null]);
});

test('a dataset build refuses a JSONL number where a string request field is declared, naming the row and the column, as online refuses it', async () => {
  const tagged = requestView({
    name: 'tagged', request: { tag: 'string' }, inputs: [stats],
    features: { label: ({ request }) => `${request.tag}!` }, types: { label: 'string' },
  });
  const { env, at } = await requestViewPlatform('strings', tagged);
  try {
    const spine = join(env.dir, 'tags.jsonl');
    writeFileSync(spine, [`{"customer_id":"c1","ts":"${at}","tag":"a"}`, `{"customer_id":"c1","ts":"${at}","tag":5}`].join('\n') + '\n');
    await expect(buildDataset(env.platform, env.project, { spine, out: join(env.dir, 'tags-out.jsonl'), service: 's' })).rejects.toThrow(/spine row 2: request field "tag" \(of request view "tagged"\) is missing or not a string/);
    writeFileSync(spine, [`{"customer_id":"c1","ts":"${at}","tag":"a"}`, `{"customer_id":"c1","ts":"${at}","tag":"5"}`].join('\n') + '\n');
    await buildDataset(env.platform, env.project, { spine, out: join(env.dir, 'tags-out.jsonl'), service: 's' });
    const labels = readFileSync(join(env.dir, 'tags-out.jsonl'), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as Record<string, unknown>).tagged__label);
    expect(labels).toEqual(['a!', '5!']);
  } finally {
    await env.dispose();
  }
});

test('a dataset build reads a CSV spine\'s cells as text and a JSONL spine\'s as JSON values: yes and "true" refused, naming the row and the column', async () => {
  const scored = requestView({
    name: 'scored', request: { urgent: 'bool', amount: 'float64' }, inputs: [stats],
    features: { score: ({ request }) => (request.urgent ? request.amount * 2 : request.amount) }, types: { score: 'float64' },
  });
  const { env, at } = await requestViewPlatform('cells', scored);
  try {
    const build = (name: string, text: string) => {
      const spine = join(env.dir, name);
      writeFileSync(spine, text);
      return buildDataset(env.platform, env.project, { spine, out: join(env.dir, `out-${name}.jsonl`), service: 's' });
    };
    await expect(build('a.csv', ['customer_id,ts,urgent,amount', `c1,${at},true,1.5`, `c1,${at},yes,1.5`].join('\n'))).rejects.toThrow(/spine row 2: request field "urgent" \(of request view "scored"\) is missing or not a bool/);
    await expect(build('b.csv', ['customer_id,ts,urgent,amount', `c1,${at},true,1_000`].join('\n'))).rejects.toThrow(/spine row 1: request field "amount" \(of request view "scored"\) is missing or not a float64/);
    await expect(build('c.jsonl', `{"customer_id":"c1","ts":"${at}","urgent":"true","amount":1.5}\n`)).rejects.toThrow(/spine row 1: request field "urgent"/);
    await expect(build('d.jsonl', `{"customer_id":"c1","ts":"${at}","urgent":true,"amount":"1.5"}\n`)).rejects.toThrow(/spine row 1: request field "amount"/);
    await build('e.csv', ['customer_id,ts,urgent,amount', `c1,${at},true,1.5`, `c1,${at},false,.5e1`].join('\n'));
    await build('f.jsonl', [`{"customer_id":"c1","ts":"${at}","urgent":true,"amount":1.5}`, `{"customer_id":"c1","ts":"${at}","urgent":false,"amount":5}`].join('\n') + '\n');
    const scores = (name: string) => readFileSync(join(env.dir, `out-${name}.jsonl`), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as Record<string, unknown>).scored__score);
    expect(scores('e.csv')).toEqual([3, 5]);
    expect(scores('f.jsonl')).toEqual([3, 5]);
  } finally {
    await env.dispose();
  }
});
