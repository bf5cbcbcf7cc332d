import { mkdirSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, last, MAX_KEY_BYTES } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const account = entity({ name: 'account', joinKey: 'acct' });
const events = batchSource({ name: 'events', schema: { acct: 'int64', n: 'int64', label: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: account, source: events, features: { events: count(), last_n: last('n') } });
const spec = defineProject({ name: 'edge', entities: [account], sources: [events], featureViews: [stats] });

let env: Awaited<ReturnType<typeof tempPlatform>> | undefined;
afterEach(async () => {
  await env?.dispose();
  env = undefined;
});

async function setup() {
  env = await tempPlatform(spec, T0 + 86_400_000);
  return env;
}

async function lakeRows(source: string): Promise<Array<{ acct: string; n: string; type: string }>> {
  const snapshot = await env!.platform.metadata.latestSnapshot(source);
  const files = snapshot!.files.map((f) => `'${env!.platform.lake.resolve(f)}'`).join(', ');
  const engine = await env!.platform.engine();
  return engine.all(`SELECT acct::VARCHAR AS acct, n::VARCHAR AS n, typeof(n) AS type FROM read_parquet([${files}]) ORDER BY _seq`);
}

async function deadLetters(file: string) {
  return (await env!.platform.metadata.listDeadLetters({ limit: 1000 })).filter((d) => d.file === file).map((d) => [d.line, d.reason]);
}

const UNITS: Record<string, number> = { KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };
const parseMemory = (text: string): number => {
  const [, value, unit] = /^([\d.]+)\s*(\w+)$/.exec(text) ?? [];
  return Number(value) * (UNITS[unit ?? ''] ?? Number.NaN);
};

const BIG = ['9007199254740993', '9223372036854775807', '-9223372036854775808'];

describe('int64 is exact up to 2^63-1, or rejected with a reason', () => {
  test('CSV: exact values reach the lake as BIGINT; non-integral and out-of-range text is rejected', async () => {
    const { platform, project, dir } = await setup();
    const file = join(dir, 'e.csv');
    const bad = ['1.5', '2.5', '1e3', '0x10', ' 7', '9223372036854775808'];
    writeFileSync(file, ['acct,n,label,ts', ...BIG.map((v) => `${v},${v},ok,2024-01-01T00:00:00Z`), ...bad.map((v) => `1,"${v}",bad,2024-01-01T00:00:00Z`)].join('\n'));
    const result = await ingestFile(platform, project, 'events', file);
    expect(result).toMatchObject({ accepted: 3, rejected: 6 });
    expect(await lakeRows('events')).toEqual(BIG.map((v) => ({ acct: v, n: v, type: 'BIGINT' })));
    const reasons = await deadLetters(file);
    expect(reasons.map(([line]) => line)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(reasons[0]![1]).toBe('column "n": "1.5" is not an int64 (write a whole number in decimal digits)');
    expect(reasons[5]![1]).toBe('column "n": "9223372036854775808" is outside the int64 range (-2^63 to 2^63-1)');
  });

  test('JSONL: numbers above 2^53 keep every digit, join keys included, so each entity gets its own events', async () => {
    const { platform, project, dir, clock } = await setup();
    const file = join(dir, 'e.jsonl');
    const lines = [
      ...BIG.map((v) => `{"acct": ${v}, "n": ${v}, "label": "ok", "ts": "2024-01-01T00:00:00Z"}`),
      '{"acct": 9007199254740992, "n": 1, "label": "ok", "ts": "2024-01-01T00:00:00Z"}',
      '{"acct": 1, "n": 1.5, "label": "bad", "ts": "2024-01-01T00:00:00Z"}',
      '{"acct": 1, "n": 1e3, "label": "bad", "ts": "2024-01-01T00:00:00Z"}',
      '{"acct": 1, "n": 9223372036854775808, "label": "bad", "ts": "2024-01-01T00:00:00Z"}',
    ];
    writeFileSync(file, lines.join('\n'));
    expect(await ingestFile(platform, project, 'events', file)).toMatchObject({ accepted: 4, rejected: 3 });
    expect((await lakeRows('events')).map((r) => r.acct)).toEqual([...BIG, '9007199254740992']);
    expect((await deadLetters(file)).map(([line]) => line)).toEqual([5, 6, 7]);
    // A reason quotes the value as the file wrote it, not as DuckDB re-writes it (1e3 is not "1000.0").
    expect((await deadLetters(file)).map(([, reason]) => reason)).toEqual([
      'column "n": "1.5" is not an int64 (write a whole number in decimal digits)',
      'column "n": "1e3" is not an int64 (write a whole number in decimal digits)',
      'column "n": "9223372036854775808" is outside the int64 range (-2^63 to 2^63-1)',
    ]);
    await materialize(platform, project);
    clock.now = T0 + 2 * 86_400_000;
    const online = await getOnlineFeatures(project, await platform.online(), { features: ['stats:events'], entities: { acct: ['9007199254740993', '9007199254740992'] } }, clock.now, new Map());
    expect(online.rows.map((r) => r.stats__events)).toEqual([1, 1]);
  });

  test('Parquet: BIGINT columns are exact; a DOUBLE is accepted only when it holds a whole number below 2^53', async () => {
    const { platform, project, dir } = await setup();
    const engine = await platform.engine();
    const exact = join(dir, 'exact.parquet');
    await engine.run(`COPY (SELECT * FROM (VALUES ${BIG.map((v) => `('${v}'::BIGINT, '${v}'::BIGINT, 'ok', TIMESTAMP '2024-01-01')`).join(', ')}) t(acct, n, label, ts)) TO '${exact}' (FORMAT PARQUET)`);
    expect(await ingestFile(platform, project, 'events', exact)).toMatchObject({ accepted: 3, rejected: 0 });
    expect(await lakeRows('events')).toEqual(BIG.map((v) => ({ acct: v, n: v, type: 'BIGINT' })));
    const fractional = join(dir, 'fractional.parquet');
    await engine.run(`COPY (SELECT 1::BIGINT AS acct, n, 'x' AS label, TIMESTAMP '2024-01-01' AS ts FROM (VALUES (1.5::DOUBLE), (3.0), (NULL), (1e300), (2.0 ^ 60)) t(n)) TO '${fractional}' (FORMAT PARQUET)`);
    expect(await ingestFile(platform, project, 'events', fractional)).toMatchObject({ accepted: 2, rejected: 3 });
    expect((await lakeRows('events')).slice(3).map((r) => r.n)).toEqual(['3', null]);
    expect((await deadLetters(fractional)).map(([line]) => line)).toEqual([1, 4, 5]);
  });
});

describe('text must be valid UTF-8', () => {
  const invalid = (prefix: string, suffix: string) => Buffer.concat([Buffer.from(prefix), Buffer.from([0xff, 0xfe]), Buffer.from(suffix)]);

  test('CSV: the row with invalid bytes is rejected with its line; the others are ingested', async () => {
    const { platform, project, dir } = await setup();
    const file = join(dir, 'u.csv');
    writeFileSync(file, Buffer.concat([Buffer.from('acct,n,label,ts\n1,1,caf\u00e9,2024-01-01T00:00:00Z\n'), invalid('2,2,', ',2024-01-01T00:00:00Z\n'), Buffer.from('3,3,ok,2024-01-01T00:00:00Z\n')]));
    expect(await ingestFile(platform, project, 'events', file)).toMatchObject({ accepted: 2, rejected: 1 });
    expect(await deadLetters(file)).toEqual([[3, 'invalid UTF-8 at byte offset 51; re-export the file as UTF-8']]);
  });

  test('JSONL: likewise', async () => {
    const { platform, project, dir } = await setup();
    const file = join(dir, 'u.jsonl');
    writeFileSync(file, Buffer.concat([Buffer.from('{"acct": 1, "n": 1, "label": "a", "ts": "2024-01-01T00:00:00Z"}\n'), invalid('{"acct": 2, "n": 2, "label": "', '", "ts": "2024-01-01T00:00:00Z"}\n')]));
    expect(await ingestFile(platform, project, 'events', file)).toMatchObject({ accepted: 1, rejected: 1 });
    expect(await deadLetters(file)).toEqual([[2, 'invalid UTF-8 at byte offset 94; re-export the file as UTF-8']]);
  });
});

describe('a key given twice', () => {
  test('JSONL: a row with a column twice goes to the dead-letter store (not stored with its first value); a value spelling the key is no second key', async () => {
    const { platform, project, dir } = await setup();
    const file = join(dir, 'twice.jsonl');
    writeFileSync(file, [
      '{"acct": 1, "n": 1, "n": 2, "ts": "2024-01-01T00:00:00Z"}',
      '{"acct": 2, "n": 3, "label": "\\"n\\": 4", "ts": "2024-01-01T00:00:00Z"}',
      '{"acct": 3, "\\u006e": 5, "n": 6, "ts": "2024-01-01T00:00:00Z"}',
    ].join('\n'));
    expect(await ingestFile(platform, project, 'events', file)).toMatchObject({ accepted: 1, rejected: 2 });
    expect(await deadLetters(file)).toEqual([[1, 'column "n": the key is given twice (JSON gives a column one value)'], [3, 'column "n": the key is given twice (JSON gives a column one value)']]);
    expect((await lakeRows('events')).map((r) => [r.acct, r.n])).toEqual([['2', '3']]);
  });
});

describe('a JSON key that differs from a schema column only in case', () => {
  test('JSONL: the row goes to the dead-letter store naming both names (not stored with a null); beside the exact key it is an extra key', async () => {
    const { platform, project, dir } = await setup();
    const file = join(dir, 'cased.jsonl');
    writeFileSync(file, [
      '{"acct": 1, "N": 5, "label": "ok", "ts": "2024-01-01T00:00:00Z"}',
      '{"acct": 2, "n": 3, "N": 4, "ts": "2024-01-01T00:00:00Z"}',
      '{"acct": 3, "\\u004E": 5, "ts": "2024-01-01T00:00:00Z"}',
      '{"acct": 4, "n": null, "label": "N", "ts": "2024-01-01T00:00:00Z"}',
      '{"ACCT": 5, "n": 1, "ts": "2024-01-01T00:00:00Z"}',
    ].join('\n'));
    expect(await ingestFile(platform, project, 'events', file)).toMatchObject({ accepted: 2, rejected: 3 });
    const cased = (column: string, key: string): string => `column "${column}": key "${key}" differs only in case: JSON keys must match the schema exactly`;
    expect(await deadLetters(file)).toEqual([[1, cased('n', 'N')], [3, cased('n', 'N')], [5, cased('acct', 'ACCT')]]);
    expect((await lakeRows('events')).map((r) => [r.acct, r.n])).toEqual([['2', '3'], ['4', null]]);
  });
});

describe('a byte order mark inside a JSONL file (two files concatenated)', () => {
  test('the line is dead-lettered naming the mark, not as plain "malformed JSON" while the dead letter shows valid JSON', async () => {
    const { platform, project, dir } = await setup();
    const file = join(dir, 'joined.jsonl');
    writeFileSync(file, '{"acct": 1, "n": 5, "ts": "2024-01-01T00:00:00Z"}\n\uFEFF{"acct": 2, "n": 3, "ts": "2024-01-01T00:00:00Z"}\n');
    expect(await ingestFile(platform, project, 'events', file)).toMatchObject({ accepted: 1, rejected: 1 });
    expect(await deadLetters(file)).toEqual([[2, 'malformed JSON: the line starts with a byte order mark (U+FEFF), which only the start of a file may hold (were two files joined?)']]);
  });
});

describe('join keys are present and fit the online store', () => {
  test('a null join key and an oversized key go to the dead-letter store, not silently nowhere', async () => {
    const strings = entity({ name: 'user', joinKey: 'user_id' });
    const clicks = batchSource({ name: 'clicks', schema: { user_id: 'string', page: 'string', ts: 'timestamp' }, timestamp: 'ts' });
    const view = featureView({ name: 'clicks_by_user', entity: strings, source: clicks, features: { n: count() } });
    env = await tempPlatform(defineProject({ name: 'keys', entities: [strings], sources: [clicks], featureViews: [view] }), T0);
    const { platform, project, dir } = env;
    const file = join(dir, 'k.csv');
    const long = 'x'.repeat(MAX_KEY_BYTES + 1);
    writeFileSync(file, ['user_id,page,ts', 'u1,home,2024-01-01T00:00:00Z', ',home,2024-01-01T00:00:00Z', `${long},home,2024-01-01T00:00:00Z`, `${'\u00e9'.repeat(MAX_KEY_BYTES / 2)},home,2024-01-01T00:00:00Z`].join('\n'));
    expect(await ingestFile(platform, project, 'clicks', file)).toMatchObject({ accepted: 2, rejected: 2 });
    expect(await deadLetters(file)).toEqual([
      [3, 'column "user_id": the join key of entity "user" is missing'],
      [4, `column "user_id": the join key of entity "user" is ${MAX_KEY_BYTES + 1} bytes; keys may be at most ${MAX_KEY_BYTES} UTF-8 bytes`],
    ]);
    await expect(materialize(platform, project)).resolves.toBeDefined();
    const json = join(dir, 'k.jsonl');
    writeFileSync(json, '{"user_id": "", "page": "home", "ts": "2024-01-01T00:00:00Z"}\n{"page": "home", "ts": "2024-01-01T00:00:00Z"}\n');
    expect(await ingestFile(platform, project, 'clicks', json)).toMatchObject({ accepted: 0, rejected: 2 });
  });
});

describe('files that are not what they claim', () => {
  test.each(['csv', 'jsonl', 'parquet'])('a 0-byte .%s is reported as empty, not as already ingested', async (ext) => {
    const { platform, project, dir } = await setup();
    const file = join(dir, `empty.${ext}`);
    writeFileSync(file, '');
    await expect(ingestFile(platform, project, 'events', file)).rejects.toThrow(`${file} is empty (0 bytes)`);
    await expect(ingestFile(platform, project, 'events', file)).rejects.toThrow(`${file} is empty (0 bytes)`);
  });

  test('a directory is named as one, not as an unknown format', async () => {
    const { platform, project, dir } = await setup();
    const folder = join(dir, 'exports');
    mkdirSync(folder);
    await expect(ingestFile(platform, project, 'events', folder)).rejects.toThrow(`input file ${folder} is a directory; give a .csv, .jsonl or .parquet file`);
  });

  test('a CSV of only a header, or only blank lines, ingests nothing without failing', async () => {
    const { platform, project, dir } = await setup();
    writeFileSync(join(dir, 'header.csv'), 'acct,n,label,ts\n');
    writeFileSync(join(dir, 'blank.csv'), '\n\r\n');
    expect(await ingestFile(platform, project, 'events', join(dir, 'header.csv'))).toMatchObject({ accepted: 0, rejected: 0 });
    expect(await ingestFile(platform, project, 'events', join(dir, 'blank.csv'))).toMatchObject({ accepted: 0, rejected: 0 });
  });

  test('a CSV header naming a schema column twice is refused: which field is meant is ambiguous', async () => {
    const { platform, project, dir } = await setup();
    const file = join(dir, 'twice.csv');
    writeFileSync(file, 'acct,n,n,label,ts\n1,1,2,ok,2024-01-01T00:00:00Z\n');
    const error = await ingestFile(platform, project, 'events', file).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((error as Error).message).toContain(`${file}: the CSV header names column "n" 2 times`);
    expect(await platform.metadata.latestSnapshot('events')).toBeUndefined();
  });

  test('a CSV header with the schema column and another in another case: the exact name is the column, the other an extra one', async () => {
    const { platform, project, dir } = await setup();
    const file = join(dir, 'cased.csv');
    writeFileSync(file, 'acct,n,label,ts,N\n1,1,ok,2024-01-01T00:00:00Z,2\n');
    expect(await ingestFile(platform, project, 'events', file)).toMatchObject({ accepted: 1, rejected: 0 });
    expect(await lakeRows('events')).toEqual([{ acct: '1', n: '1', type: 'BIGINT' }]);
  });

  test('a CSV header whose column differs from the schema only in case says so', async () => {
    const { platform, project, dir } = await setup();
    const file = join(dir, 'upper.csv');
    writeFileSync(file, 'ACCT,n,label,ts\n1,1,ok,2024-01-01T00:00:00Z\n');
    await expect(ingestFile(platform, project, 'events', file)).rejects.toThrow('lacks column(s) "acct" of the source schema (header: ACCT, n, label, ts; "ACCT" differs only in case: header names must match the schema exactly)');
  });

  test('a file that fails midway leaves nothing behind: the next ingest in the same process works', async () => {
    const { platform, project, dir } = await setup();
    writeFileSync(join(dir, 'broken.csv'), 'acct,n,label,ts\n1,1,"never closed,2024-01-01T00:00:00Z\n');
    await expect(ingestFile(platform, project, 'events', join(dir, 'broken.csv'))).rejects.toThrow(/quote opened in the record at line 2 is never closed/);
    writeFileSync(join(dir, 'good.csv'), 'acct,n,label,ts\n1,1,ok,2024-01-01T00:00:00Z\n');
    expect(await ingestFile(platform, project, 'events', join(dir, 'good.csv'))).toMatchObject({ accepted: 1, rejected: 0 });
    expect(await platform.metadata.latestSnapshot('events')).toMatchObject({ version: 1, rowCount: 1 });
  });

  test('a corrupt Parquet file: a message naming the file and the fix, no SQL', async () => {
    const { platform, project, dir } = await setup();
    const file = join(dir, 'corrupt.parquet');
    writeFileSync(file, 'PAR1 this is not really parquet');
    const error = await ingestFile(platform, project, 'events', file).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((error as Error).message).toContain(`${file} is not a readable Parquet file`);
    expect((error as Error).message).toContain('re-export it');
    expect((error as Error).message).not.toMatch(/SELECT|read_parquet/);
  });
});

describe('streaming ingest', () => {
  test('line numbers and raw text stay right across batches, and DuckDB has a memory limit and a spill directory', async () => {
    const { platform, project, dir } = await setup();
    const file = join(dir, 'many.csv');
    const rows = Array.from({ length: 50_000 }, (_, i) => (i % 9_999 === 5 ? `${i},x${i},r,2024-01-01T00:00:00Z` : `${i},${i},r,2024-01-01T00:00:00Z`));
    writeFileSync(file, ['acct,n,label,ts', ...rows].join('\r\n'));
    expect(await ingestFile(platform, project, 'events', file)).toMatchObject({ accepted: 49_995, rejected: 5 });
    const dlq = (await platform.metadata.listDeadLetters({ limit: 10 })).map((d) => [d.line, d.raw]);
    expect(dlq).toEqual([5, 10_004, 20_003, 30_002, 40_001].map((i) => [i + 2, `${i},x${i},r,2024-01-01T00:00:00Z`]));
    const engine = await platform.engine();
    const [settings] = await engine.all<{ limit: string; tmp: string }>(`SELECT current_setting('memory_limit') AS "limit", current_setting('temp_directory') AS tmp`);
    expect(settings!.tmp).toBe(join(platform.dataDir, 'tmp'));
    // DuckDB's own default is 80% of RAM; Sluice leaves room for the Node heap and other processes.
    expect(parseMemory(settings!.limit)).toBeLessThanOrEqual(0.6 * totalmem());
  });
});
