import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const user = entity({ name: 'user', joinKey: 'u' });
const events = batchSource({ name: 'events', schema: { u: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const spec = defineProject({ name: 'p', entities: [user], sources: [events], featureViews: [featureView({ name: 'v', entity: user, source: events, features: { n: count() } })] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(spec, T0);
  writeFileSync(join(env.dir, 'e.csv'), `u,ts\nu1,2024-01-01T00:00:00Z\nu1,2024-01-01T01:00:00Z\n`);
  await ingestFile(env.platform, env.project, 'events', join(env.dir, 'e.csv'));
});
afterEach(async () => env.dispose());

const build = (name: string, text: string, options: Record<string, unknown> = {}) => {
  const spine = join(env.dir, name);
  writeFileSync(spine, text);
  const out = join(env.dir, `out-${name}.jsonl`);
  return buildDataset(env.platform, env.project, { spine, out, features: ['v:n'], ...options }).then(() =>
    readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>),
  );
};

test('spine columns come back exactly as given (no re-typing of text, numbers or dates)', async () => {
  const rows = await build('s.jsonl', '{"u":"u1","ts":"2024-01-01T03:00:00Z","note":"2024-01-02","code":"007","x":1.5}\n');
  expect(rows).toEqual([{ u: 'u1', ts: '2024-01-01T03:00:00Z', note: '2024-01-02', code: '007', x: 1.5, v__n: 2 }]);
  const csv = await build('s.csv', 'u,ts,code\nu1,2024-01-01T03:00:00Z,007\n');
  expect(csv).toEqual([{ u: 'u1', ts: '2024-01-01T03:00:00Z', code: '007', v__n: 2 }]);
});

test('epoch timestamps: milliseconds in CSV are read, seconds are refused unless the unit says so', async () => {
  const ms = T0 + 7_200_000;
  expect((await build('ms.csv', `u,ts\nu1,${ms}\n`))[0]!.v__n).toBe(2);
  await expect(build('sec.csv', `u,ts\nu1,${ms / 1000}\n`)).rejects.toThrow(/look like epoch seconds; pass --timestamp-unit s/);
  expect((await build('sec2.csv', `u,ts\nu1,${ms / 1000}\n`, { timestampUnit: 's' }))[0]!.v__n).toBe(2);
});

test('a spine without its key or timestamp column is an error naming it, before any engine error', async () => {
  await expect(build('nokey.csv', 'user,ts\nu1,2024-01-01T03:00:00Z\n')).rejects.toThrow(/spine .* has no column "u".*columns: user, ts/);
  await expect(build('nots.csv', 'u,time\nu1,2024-01-01T03:00:00Z\n')).rejects.toThrow(/has no column "ts".*--timestamp-column/);
});

test('a spine DuckDB cannot read past its sample, or a JSONL spine with a byte order mark, is an error naming the file and the fix, not a bare engine error', async () => {
  const good = '{"u":"u1","ts":"2024-01-01T03:00:00Z"}\n'.repeat(30_000);
  await expect(build('late.jsonl', `${good}{"u": oops}\n`)).rejects.toThrow(/^spine .*late\.jsonl cannot be read \(.*Malformed JSON.*line \d+.*\); check that it is a valid jsonl file$/);
  await expect(build('bom.jsonl', '\uFEFF{"u":"u1","ts":"2024-01-01T03:00:00Z"}\n')).rejects.toThrow(/^spine .*bom\.jsonl starts with a UTF-8 byte order mark, which DuckDB's JSON reader refuses: save it without one \(a CSV spine may have one\)$/);
  expect(await build('bom.csv', '\uFEFFu,ts\nu1,2024-01-01T03:00:00Z\n')).toEqual([{ u: 'u1', ts: '2024-01-01T03:00:00Z', v__n: 2 }]);
});

test('spine columns that would collide with output or internal columns are refused, or replaced on request', async () => {
  await expect(build('c.csv', 'u,ts,v__n\nu1,2024-01-01T03:00:00Z,900.7\n')).rejects.toThrow(/"v__n" \(spine\) and "v__n" \(feature\).*--replace-columns/);
  await expect(build('c2.csv', 'u,ts,V__N\nu1,2024-01-01T03:00:00Z,900.7\n')).rejects.toThrow(/"V__N" \(spine\)/);
  expect(await build('c3.csv', 'u,ts,v__n\nu1,2024-01-01T03:00:00Z,900.7\n', { replaceColumns: true })).toEqual([{ u: 'u1', ts: '2024-01-01T03:00:00Z', v__n: 2 }]);
  expect(await build('row.csv', 'u,ts,_row\nu1,2024-01-01T03:00:00Z,x\n')).toEqual([{ u: 'u1', ts: '2024-01-01T03:00:00Z', _row: 'x', v__n: 2 }]);
  await expect(build('res.csv', 'u,ts,_sluice_row\nu1,2024-01-01T03:00:00Z,x\n')).rejects.toThrow(/reserved prefix "_sluice_"/);
});

// Review rev7 finding 3: DuckDB types a JSONL column whose values are of mixed JSON types as JSON.
test('a JSONL spine key column of mixed JSON types is refused naming the column, the types and a row of each', async () => {
  await expect(build('mixkey.jsonl', '{"u":1,"ts":"2024-01-01T03:00:00Z"}\n{"u":"u1","ts":"2024-01-01T03:00:00Z"}\n')).rejects.toThrow(
    /spine .*mixkey\.jsonl: key column "u" mixes JSON types \(a number in row 1, a string in row 2\); give every key as one type \(a JSON string for a string key\)/,
  );
});

test('a JSONL spine timestamp of mixed JSON types is read as its values (numbers as epochs, strings as text), and given back as given', async () => {
  const rows = await build('mixts.jsonl', `{"u":"u1","ts":${T0 + 7_200_000}}\n{"u":"u1","ts":"2024-01-01T03:00:00+02:00"}\n`);
  expect(rows).toEqual([{ u: 'u1', ts: T0 + 7_200_000, v__n: 2 }, { u: 'u1', ts: '2024-01-01T03:00:00+02:00', v__n: 1 }]);
});

test('other JSONL spine columns of mixed JSON types come back as given: JSON values in JSONL, their text in CSV and Parquet (no added quotes)', async () => {
  const text = '{"u":"u1","ts":"2024-01-01T03:00:00Z","label":1}\n{"u":"u1","ts":"2024-01-01T03:00:00Z","label":"x"}\n';
  expect((await build('mixlabel.jsonl', text)).map((r) => r.label)).toEqual([1, 'x']);
  const spine = join(env.dir, 'mixlabel.jsonl');
  for (const format of ['csv', 'parquet'] as const) {
    const out = join(env.dir, `mixlabel.${format}`);
    await buildDataset(env.platform, env.project, { spine, out, features: ['v:n'] });
    const engine = await env.platform.engine();
    const labels = await engine.all<{ label: string }>(`SELECT label FROM ${format === 'csv' ? `read_csv('${out}', all_varchar = true)` : `read_parquet('${out}')`}`);
    expect(labels.map((r) => r.label)).toEqual(['1', 'x']);
  }
});

// Review rev7 finding 4: messages that name the column and the fix; since review rev11 (finding 2)
// not the value: a spine's values may be classified, and the message reaches run history.
test('a spine row with a bad key or timestamp is refused naming the row, the column and why, not the value', async () => {
  const text = 'u,ts\nu1,2024-01-01T03:00:00Z\nu1,2024-13-03T00:00:00Z\n,2024-01-01T03:00:00Z\nu1,\n';
  const error = await build('bad.csv', text).catch((e: Error) => e);
  expect((error as Error).message).toMatch(/spine .*bad\.csv: 3 row\(s\) lack a valid key or timestamp: row 2: "ts" is not a timestamp \(ISO-8601, or an integer epoch in --timestamp-unit, default ms\); row 3: "u" has no value; row 4: "ts" has no value/);
});

test('a CSV spine with a column named twice is refused naming it (DuckDB would rename one, u_1)', async () => {
  await expect(build('dup.csv', 'u,ts,U\nu1,2024-01-01T03:00:00Z,u2\n')).rejects.toThrow(/spine .*dup\.csv: its header names the column "u" twice \(columns 1 and 3\); rename or remove one/);
});
