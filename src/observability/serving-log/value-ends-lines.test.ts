import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { compileProject, count, defineProject, entity, batchSource, featureService, featureView } from '../../definitions/index.js';
import type { ValueStatus } from '../../processing/evaluate-online.js';
import type { OnlineFeaturesResponse } from '../../serving/online-features.js';
import { answerBytes } from '../../serving/http/answer-bytes.js';
import { RowValueEnds } from '../../serving/http/value-ends.js';
import { readServingLog } from './read-serving-log.js';
import { servingLogWriter } from './serving-log-writer.js';

// The rows copied by the answer's value ends (as the route hands them over with a large answer's bytes) against the
// same answers copied by scanning their bytes, and written from their objects: the log's bytes must not differ.

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const src = batchSource({ name: 's', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const view = featureView({ name: 'v', entity: customer, source: src, features: { n: count() } });
const projectAt = (sampleRate: number) => compileProject(defineProject({ name: 'p', entities: [customer], sources: [src], featureViews: [view], featureServices: [featureService({ name: 'svc', features: [view], log: { sampleRate } })] }));
const projects = { whole: projectAt(1), half: projectAt(0.5) };
const STATUSES: ValueStatus[] = ['PRESENT', 'NOT_FOUND', 'NULL', 'STALE'];
const views = { v: { status: 'FRESH' as const, viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: { s: null } } };
const at = Date.parse('2024-03-01T00:00:01Z');

type Mode = 'ends' | 'bytes' | 'objects';

/** The log file of `answers` written in one of the three ways; `ends` for the first too, kept from answer to answer as the route keeps it. */
async function logged(answers: readonly OnlineFeaturesResponse[], mode: Mode, rate: keyof typeof projects): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-ends-'));
  try {
    const log = servingLogWriter({ dataDir: dir, maxBufferedRows: 1_000_000 });
    const ends = new RowValueEnds();
    answers.forEach((response, request) => {
      const bytes = mode === 'objects' ? undefined : answerBytes(response, undefined, mode === 'ends' ? ends : undefined) ?? Buffer.from(JSON.stringify(response));
      log.record(projects[rate], { entities: {}, service: 'svc' }, response, `r${request}`, at + request, bytes, mode === 'ends' ? ends : undefined);
    });
    await log.close();
    const folder = join(dir, 'serving-log', 'svc');
    let files: string[] = [];
    try {
      files = readdirSync(folder);
    } catch {
      return '';
    }
    expect(files).toHaveLength(1);
    return readFileSync(join(folder, files[0]!), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Values of every kind the answer writer writes its own way or by JSON.stringify (escapes, non-ASCII, long strings, lists),
// and undefined (the key left out: that row is not recorded).
const value = fc.oneof(
  { weight: 20, arbitrary: fc.oneof(fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.string({ unit: 'binary' }), fc.constantFrom(0, 0.95, -0, NaN, 1e21, 5e-324, 'm1', 'é"\\\n', 'x'.repeat(40))) },
  fc.array(fc.oneof(fc.double(), fc.string()), { maxLength: 3 }), fc.constant(undefined),
);
const answers = fc.record({
  features: fc.uniqueArray(fc.string({ unit: 'binary', minLength: 1 }).map((s) => `v__${s}`), { minLength: 1, maxLength: 6 }),
  requests: fc.array(fc.array(fc.record({
    key: fc.oneof(fc.string({ unit: 'binary' }), fc.integer()), values: fc.array(value, { minLength: 6, maxLength: 6 }),
    statuses: fc.array(fc.constantFrom(...STATUSES), { minLength: 6, maxLength: 6 }), implied: fc.boolean(), keyLast: fc.boolean(),
  }), { minLength: 9, maxLength: 24 }), { minLength: 1, maxLength: 3 }),
  rate: fc.constantFrom('whole' as const, 'half' as const),
});

test('rows copied by the answer\'s value ends are the bytes of rows copied by scanning the answer and of rows written from their objects', async () => {
  await fc.assert(fc.asyncProperty(answers, async ({ features, requests, rate }) => {
    const responses = requests.map((rows): OnlineFeaturesResponse => ({
      asOf: '2024-03-01T00:00:00.000Z', features, stale: 0,
      // The join key first (as the serving path writes it), or last in some rows (their keys are then not the first row's).
      rows: rows.map((r) => {
        const entries = features.map((f, i) => [f, r.values[i]] as const);
        return Object.fromEntries(r.keyLast ? [...entries, ['customer_id', r.key]] : [['customer_id', r.key], ...entries]) as never;
      }),
      metadata: rows.map((r) => ({ status: features.map((_f, i) => (r.implied ? ((JSON.stringify(r.values[i]) ?? 'null') === 'null' ? 'NULL' : 'PRESENT') : r.statuses[i]!)), ageMs: features.map(() => 0) })),
      views,
    }));
    const [byEnds, byScan, byObjects] = await Promise.all((['ends', 'bytes', 'objects'] as const).map((mode) => logged(responses, mode, rate)));
    expect(byEnds).toBe(byScan);
    expect(byEnds).toBe(byObjects);
  }), { numRuns: 120 });
});

test('value ends of rows longer than what is left of a chunk, and of one longer than a chunk: the same bytes, every row read back', async () => {
  const features = ['v__long', 'v__n'];
  const responses = Array.from({ length: 30 }, (_v, request): OnlineFeaturesResponse => {
    const keys = Array.from({ length: 10 }, (_k, i) => `c${request * 10 + i}`);
    const long = (i: number) => 'é"x'.repeat(request === 7 && i === 3 ? 100_000 : 300 + ((request * 37 + i * 101) % 8_000));
    return {
      asOf: '2024-03-01T00:00:00.000Z', features, stale: 0,
      rows: keys.map((k, i) => ({ customer_id: k, v__long: long(i), v__n: i === 4 ? null : i }) as never),
      metadata: keys.map((_k, i) => ({ status: ['PRESENT' as const, i === 4 ? 'NULL' as const : 'PRESENT' as const], ageMs: [0, 0] })),
      views,
    };
  });
  const [byEnds, byObjects] = await Promise.all((['ends', 'objects'] as const).map((mode) => logged(responses, mode, 'whole')));
  expect(byEnds).toBe(byObjects);
  expect(byEnds!.split('\n').filter((line) => line.startsWith('{"requestId":'))).toHaveLength(30);
});

test('value ends left from another answer (other rows, other keys) are not used: the rows are copied by scanning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-ends-'));
  try {
    const log = servingLogWriter({ dataDir: dir });
    const ends = new RowValueEnds();
    const answer = (n: number, extra: boolean): OnlineFeaturesResponse => ({
      asOf: '2024-03-01T00:00:00.000Z', features: ['v__n'], stale: 0,
      rows: Array.from({ length: n }, (_v, i) => (extra ? { customer_id: `c${i}`, v__n: i, x: 'longer value' } : { customer_id: `c${i}`, v__n: i * 1000 }) as never),
      metadata: Array.from({ length: n }, () => ({ status: ['PRESENT' as const], ageMs: [0] })), views,
    });
    // The ends of a 12-row answer with another key, then of a 10-row one, handed over with other answers' bytes.
    answerBytes(answer(12, true), undefined, ends);
    log.record(projects.whole, { entities: {}, service: 'svc' }, answer(12, false), 'r1', at, Buffer.from(JSON.stringify(answer(12, false))), ends);
    answerBytes(answer(10, false), undefined, ends);
    log.record(projects.whole, { entities: {}, service: 'svc' }, answer(11, false), 'r2', at, Buffer.from(JSON.stringify(answer(11, false))), ends);
    await log.close();
    expect((await readServingLog(dir)).map((row) => [row.requestId, row.entityKey, row.values.v__n])).toEqual([
      ...Array.from({ length: 12 }, (_v, i) => ['r1', `c${i}`, i * 1000]), ...Array.from({ length: 11 }, (_v, i) => ['r2', `c${i}`, i * 1000]),
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
