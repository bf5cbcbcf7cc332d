import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { compileProject, count, defineProject, entity, batchSource, featureService, featureView } from '../../definitions/index.js';
import type { ValueStatus } from '../../processing/evaluate-online.js';
import type { OnlineFeaturesResponse } from '../../serving/online-features.js';
import { readServingLog } from './read-serving-log.js';
import { servingLogWriter } from './serving-log-writer.js';
import { servedColumns } from './served-lines.js';
import { isSampledKey, sampleThreshold } from './sample-key.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const src = batchSource({ name: 's', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const view = featureView({ name: 'v', entity: customer, source: src, features: { n: count() } });
const projectAt = (sampleRate: number) => compileProject(defineProject({ name: 'p', entities: [customer], sources: [src], featureViews: [view], featureServices: [featureService({ name: 'svc', features: [view], log: { sampleRate } })] }));
const project = projectAt(1);
const halfProject = projectAt(0.5);
const STATUSES: ValueStatus[] = ['PRESENT', 'NOT_FOUND', 'NULL', 'STALE'];

/** A value as the contract states it, written out without the writer's code: a bigint as its decimal string, NaN as null, -0 as 0. */
function reference(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? (Object.is(value, -0) ? 0 : value) : null;
  if (Array.isArray(value)) return value.map(reference);
  return value;
}

const value = fc.oneof(fc.string({ unit: 'binary' }), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.bigInt({ min: 2n ** 60n, max: 2n ** 62n }), fc.array(fc.oneof(fc.double(), fc.string()), { maxLength: 3 }));
const answer = fc.record({
  features: fc.uniqueArray(fc.string({ unit: 'binary', minLength: 1 }).map((s) => `v__${s}`), { minLength: 1, maxLength: 6 }),
  rows: fc.array(fc.record({ key: fc.oneof(fc.string({ unit: 'binary' }), fc.integer()), values: fc.array(value, { minLength: 6, maxLength: 6 }), statuses: fc.array(fc.constantFrom(...STATUSES), { minLength: 6, maxLength: 6 }), uniform: fc.boolean(), keyLast: fc.boolean(), implied: fc.boolean() }), { minLength: 1, maxLength: 20 })
    // Half the rows with the statuses their values imply (PRESENT, NULL for null): those are written without `status`.
    .map((rows) => rows.map((r) => (r.implied ? { ...r, uniform: false, statuses: r.values.map((v) => (reference(v) === null ? 'NULL' as const : 'PRESENT' as const)) } : r))),
  // The join key first in every row (as the serving path writes it), last in every row, or first or last row by row.
  keyOrder: fc.constantFrom('first', 'last', 'mixed'),
  withText: fc.boolean(),
  half: fc.boolean(),
});

test('every line is the served row the contract states, whatever the values, names and key order (the writer\'s fast and slow paths)', async () => {
  await fc.assert(fc.asyncProperty(answer, async ({ features, rows, keyOrder, withText, half }) => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lines-'));
    try {
      const log = servingLogWriter({ dataDir: dir });
      const response: OnlineFeaturesResponse = {
        asOf: '2024-03-01T00:00:00.000Z', features, stale: 0,
        rows: rows.map((r) => {
          const entries = features.map((f, i) => [f, r.values[i]] as const);
          const keyFirst = keyOrder === 'first' || (keyOrder === 'mixed' && !r.keyLast);
          return Object.fromEntries(keyFirst ? [['customer_id', r.key], ...entries] : [...entries, ['customer_id', r.key]]) as never;
        }),
        metadata: rows.map((r) => ({ status: features.map((_f, i) => (r.uniform ? r.statuses[0]! : r.statuses[i]!)), ageMs: features.map(() => 0) })),
        views: { v: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: { s: null } } },
      };
      // The answer's bytes as the HTTP route hands them over when it has them (no bigint in it), the rows copied from them.
      let answer: Buffer | undefined;
      try {
        answer = Buffer.from(JSON.stringify(response));
      } catch {
        answer = undefined;
      }
      log.record(half ? halfProject : project, { entities: {}, service: 'svc' }, response, 'r"1', Date.parse('2024-03-01T00:00:01Z'), withText ? answer : undefined);
      await log.close();
      // At rate 0.5 the rows of the sampled keys, in order (the rows between them are skipped in the answer's bytes).
      const logged = half ? rows.filter((r) => isSampledKey(String(r.key), sampleThreshold(0.5))) : rows;
      if (logged.length === 0) return;
      const file = join(dir, 'serving-log', 'svc', readdirSync(join(dir, 'serving-log', 'svc'))[0]!);
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines.pop()).toBe('');
      // The names line, then one request line holding the rows (since 2026-11-30 (17)): per row no request part and no name
      // repeated, `[entityKey, values]`, the status letters only where a letter is not the one the value implies (N for null,
      // P for anything else), the keys only where the key's value is not the entity key's text (`null` letters before them).
      expect(lines).toHaveLength(2);
      expect(JSON.parse(lines[0]!)).toEqual({ columns: expect.stringMatching(/^[0-9a-f]{16}$/) as unknown, names: features });
      const implied = (r: (typeof logged)[number]) => features.every((_f, i) => (r.uniform ? r.statuses[0] : r.statuses[i]) === (reference(r.values[i]) === null ? 'NULL' : 'PRESENT'));
      const request = JSON.parse(lines[1]!) as { rows: unknown[][] };
      expect(Object.keys(request)).toEqual(['requestId', 'service', 'joinKeys', 'asOf', 'servedAt', 'views', 'columns', 'rows']);
      expect(request.rows.map((row) => [row.length, typeof row[2], row[0]])).toEqual(logged.map((r) => [typeof r.key === 'string' ? (implied(r) ? 2 : 3) : 4, implied(r) ? (typeof r.key === 'string' ? 'undefined' : 'object') : 'string', String(r.key)]));
      expect(await readServingLog(dir)).toEqual(logged.map((r) => ({
        requestId: 'r"1', service: 'svc', entityKey: String(r.key), keys: { customer_id: r.key }, asOf: '2024-03-01T00:00:00.000Z', servedAt: Date.parse('2024-03-01T00:00:01Z'),
        values: Object.fromEntries(features.map((f, i) => [f, reference(r.values[i])])),
        statuses: Object.fromEntries(features.map((f, i) => [f, r.uniform ? r.statuses[0] : r.statuses[i]])),
        views: { v: { definitionHash: 'h', snapshots: { s: null } } },
      })));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }), { numRuns: 150 });
});

test('a flush of more lines than one buffer chunk holds writes them all, whole and in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lines-'));
  try {
    const log = servingLogWriter({ dataDir: dir, maxBufferedRows: 100_000 });
    const features = Array.from({ length: 50 }, (_v, i) => `v__f${i}`);
    const at = Date.parse('2024-03-01T00:00:01Z');
    for (let request = 0; request < 40; request++) {
      const keys = Array.from({ length: 100 }, (_v, i) => `c${request * 100 + i}`);
      log.record(project, { entities: {}, service: 'svc' }, {
        asOf: '2024-03-01T00:00:00.000Z', features, stale: 0,
        rows: keys.map((k) => Object.fromEntries([['customer_id', k], ...features.map((f, i) => [f, i * 1.5])]) as never),
        metadata: keys.map(() => ({ status: features.map(() => 'PRESENT' as const), ageMs: features.map(() => 0) })),
        views: { v: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: {} } },
      }, `r${request}`, at);
    }
    await log.close();
    expect(log.stats).toEqual({ written: 4_000, dropped: 0 });
    const lines = readFileSync(join(dir, 'serving-log', 'svc', '2024-03-01T00.jsonl'), 'utf8').split('\n');
    // The names line once per append (the flush starts before the timer once the chunks fill), a request line per request.
    expect(lines.filter((l) => l.startsWith('{"requestId":'))).toHaveLength(40);
    expect(lines.filter((l) => l.startsWith('{"columns":'))).toHaveLength(lines.length - 41);
    expect((await readServingLog(dir)).map((row) => row.entityKey)).toEqual(Array.from({ length: 4_000 }, (_v, i) => `c${i}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the lines are byte for byte the format written out plainly, across requests that share, change and rename served views', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lines-'));
  try {
    const log = servingLogWriter({ dataDir: dir });
    const features = ['v__n', 'v__"q"', 'v__ü'];
    type Views = OnlineFeaturesResponse['views'];
    const served = (hash: string, snapshots: Record<string, string | null>): Views[string] => ({ status: 'FRESH', viewHash: hash, previousDefinition: false, materializedAt: null, snapshots });
    const v1 = served('h1', { s: 's@1', 'ß"': null });
    const w1 = served('h\u2028', {});
    // The same served view objects request after request (as the serving path hands them out), a new one, one under another name.
    // The request line's views are kept per list of views by its first: the same first with another second, fewer, more.
    const views: Views[] = [{ v: v1, w: w1 }, { v: v1, w: w1 }, { v: served('h2', { s: 's@2' }), w: w1 }, { 'v"2': v1 }, { v: v1, w: w1 },
      { v: v1, w: served('h3', {}) }, { v: v1 }, { v: v1, w: w1, x: w1 }, { v: v1, w: w1 }];
    const at = Date.parse('2024-03-01T00:00:01Z');
    const expected: string[] = [JSON.stringify({ columns: servedColumns(features).id, names: features })];
    views.forEach((v, i) => {
      const key = `c${i}"ä`;
      const values = [i, i % 2 === 0 ? null : 'x\n', [1.5]];
      const row = Object.fromEntries([['customer_id', key], ...features.map((f, j) => [f, values[j]])]);
      const response: OnlineFeaturesResponse = {
        asOf: `2024-03-01T00:00:${String(i).padStart(2, '0')}.000Z`, features, stale: 0, rows: [row as never],
        metadata: [{ status: ['PRESENT', i % 2 === 0 ? 'NULL' : 'PRESENT', 'STALE'], ageMs: [0, 0, 0] }], views: v,
      };
      log.record(project, { entities: {}, service: 'svc' }, response, `r${i}`, at + i, Buffer.from(JSON.stringify(response)));
      const shared = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, { definitionHash: s.viewHash, snapshots: s.snapshots }]));
      // One join key whose value is the entity key: the row leaves its keys out (the request line's `joinKeys` names it).
      expected.push(JSON.stringify({
        requestId: `r${i}`, service: 'svc', joinKeys: ['customer_id'], asOf: response.asOf, servedAt: at + i, views: shared,
        columns: servedColumns(features).id, rows: [[key, values, i % 2 === 0 ? 'PNS' : 'PPS']],
      }));
    });
    await log.close();
    expect(readFileSync(join(dir, 'serving-log', 'svc', '2024-03-01T00.jsonl'), 'utf8')).toBe(`${expected.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rows longer than what is left of a chunk, and one longer than a chunk, are written whole: the same bytes as without the answer\'s bytes', async () => {
  const dirs = [mkdtempSync(join(tmpdir(), 'sluice-lines-')), mkdtempSync(join(tmpdir(), 'sluice-lines-'))];
  try {
    const features = ['v__long', 'v__n'];
    const at = Date.parse('2024-03-01T00:00:01Z');
    const answers = Array.from({ length: 30 }, (_v, request): OnlineFeaturesResponse => {
      const keys = Array.from({ length: 10 }, (_k, i) => `c${request * 10 + i}`);
      // Strings of 1 to 24 KB (many rows cross a chunk's end), and one of 300 KB (more than a chunk).
      const long = (i: number) => 'é"x'.repeat(request === 7 && i === 3 ? 100_000 : 300 + ((request * 37 + i * 101) % 8_000));
      return {
        asOf: '2024-03-01T00:00:00.000Z', features, stale: 0,
        rows: keys.map((k, i) => ({ customer_id: k, v__long: long(i), v__n: i }) as never),
        metadata: keys.map(() => ({ status: ['PRESENT' as const, 'NULL' as const], ageMs: [0, 0] })),
        views: { v: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: {} } },
      };
    });
    for (const [d, dir] of dirs.entries()) {
      const log = servingLogWriter({ dataDir: dir, maxBufferedRows: 100_000 });
      answers.forEach((response, request) => log.record(project, { entities: {}, service: 'svc' }, response, `r${request}`, at, d === 0 ? Buffer.from(JSON.stringify(response)) : undefined));
      await log.close();
      expect(log.stats).toEqual({ written: 300, dropped: 0 });
    }
    const [fromAnswer, fromRows] = dirs.map((dir) => readFileSync(join(dir, 'serving-log', 'svc', '2024-03-01T00.jsonl'), 'utf8'));
    expect(fromAnswer).toBe(fromRows);
    expect((await readServingLog(dirs[0]!)).map((row) => row.values)).toEqual(answers.flatMap((a) => a.rows.map((row) => ({ v__long: row.v__long, v__n: row.v__n }))));
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
});

test('a request whose rows pass 1 MiB goes on in request lines of its own, each with the request\'s parts: every row read back, in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lines-'));
  try {
    const log = servingLogWriter({ dataDir: dir });
    const features = ['v__long', 'v__n'];
    const keys = Array.from({ length: 30 }, (_v, i) => `c${i}`);
    const response: OnlineFeaturesResponse = {
      asOf: '2024-03-01T00:00:00.000Z', features, stale: 0,
      rows: keys.map((k, i) => ({ customer_id: k, v__long: 'x'.repeat(100_000 + i), v__n: i }) as never),
      metadata: keys.map(() => ({ status: ['PRESENT' as const, 'PRESENT' as const], ageMs: [0, 0] })),
      views: { v: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: {} } },
    };
    log.record(project, { entities: {}, service: 'svc' }, response, 'r1', Date.parse('2024-03-01T00:00:01Z'), Buffer.from(JSON.stringify(response)));
    await log.close();
    const lines = readFileSync(join(dir, 'serving-log', 'svc', '2024-03-01T00.jsonl'), 'utf8').trimEnd().split('\n');
    const requests = lines.slice(1).map((l) => JSON.parse(l) as { requestId: string; rows: unknown[] });
    expect(requests.map((r) => [r.requestId, r.rows.length])).toEqual([['r1', 11], ['r1', 11], ['r1', 8]]);
    expect(lines.slice(1).every((l) => Buffer.byteLength(l) < (1 << 20) + 110_000)).toBe(true);
    expect((await readServingLog(dir)).map((r) => [r.requestId, r.entityKey, (r.values.v__long as string).length])).toEqual(keys.map((k, i) => ['r1', k, 100_000 + i]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
