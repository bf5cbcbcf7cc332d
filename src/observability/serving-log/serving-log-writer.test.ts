import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { compileProject, count, defineProject, entity, batchSource, featureService, featureView } from '../../definitions/index.js';
import type { OnlineFeaturesResponse } from '../../serving/online-features.js';
import { readServingLog } from './read-serving-log.js';
import { servingLogWriter } from './serving-log-writer.js';

const account = entity({ name: 'account', joinKeys: ['bank', 'number'] });
const src = batchSource({ name: 's', schema: { 'bank': 'string', number: 'int64', ts: 'timestamp' }, timestamp: 'ts' });
const view = featureView({ name: 'v', entity: account, source: src, features: { n: count() } });
const project = compileProject(defineProject({ name: 'p', entities: [account], sources: [src], featureViews: [view], featureServices: [featureService({ name: 'svc', features: [view], log: { sampleRate: 1 } })] }));

test('lines are exact JSON whatever the values (and names, which the definitions already restrict): bigint, NaN, lists, unicode; int64 key parts as the lake writes them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-log-'));
  try {
    const log = servingLogWriter({ dataDir: dir });
    const features = ['v__n', 'v__"odd"', 'v__list', 'v__nan', 'v__text'];
    const response: OnlineFeaturesResponse = {
      asOf: '2024-03-01T00:00:00.000Z', features, stale: 0,
      rows: [{ 'bank': 'ünï\n"', number: '007', v__n: 9007199254740993n as never, 'v__"odd"': -0, v__list: [1.5, 'a'] as never, v__nan: Number.NaN, v__text: '\u2028' }],
      metadata: [{ status: ['PRESENT', 'NULL', 'PRESENT', 'PRESENT', 'STALE'], ageMs: [0, null, 0, 0, 0] }],
      views: { v: { status: 'FRESH', viewHash: 'h1', previousDefinition: false, materializedAt: null, snapshots: { s: 's@1' } } },
    };
    log.record(project, { entities: {}, service: 'svc' }, response, 'req-1', Date.parse('2024-03-01T00:00:01Z'));
    await log.close();
    expect(log.stats).toEqual({ written: 1, dropped: 0 });
    expect(await readServingLog(dir)).toEqual([{
      requestId: 'req-1', service: 'svc', entityKey: `${Buffer.byteLength('ünï\n"')}:ünï\n"1:7`, keys: { 'bank': 'ünï\n"', number: '007' },
      asOf: '2024-03-01T00:00:00.000Z', servedAt: Date.parse('2024-03-01T00:00:01Z'),
      values: { v__n: '9007199254740993', 'v__"odd"': 0, v__list: [1.5, 'a'], v__nan: null, v__text: '\u2028' },
      statuses: { v__n: 'PRESENT', 'v__"odd"': 'NULL', v__list: 'PRESENT', v__nan: 'PRESENT', v__text: 'STALE' },
      views: { v: { definitionHash: 'h1', snapshots: { s: 's@1' } } },
    }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('feature lists of views of different entities are keyed each by their own join keys', async () => {
  const merchant = entity({ name: 'merchant', joinKey: 'merchant_id' });
  const m = batchSource({ name: 'm', schema: { merchant_id: 'int64', ts: 'timestamp' }, timestamp: 'ts' });
  const two = compileProject(defineProject({ name: 'p', entities: [account, merchant], sources: [src, m], featureViews: [view, featureView({ name: 'mv', entity: merchant, source: m, features: { n: count() } })] }));
  const dir = mkdtempSync(join(tmpdir(), 'sluice-log-'));
  try {
    const log = servingLogWriter({ dataDir: dir, defaultRate: 1 });
    const answer = (viewName: string, row: Record<string, unknown>): OnlineFeaturesResponse => ({
      asOf: '2024-03-01T00:00:00.000Z', features: [`${viewName}__n`], stale: 0, rows: [row as never], metadata: [{ status: ['PRESENT'], ageMs: [0] }],
      views: { [viewName]: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: {} } },
    });
    log.record(two, { entities: {}, features: ['v:n'] }, answer('v', { bank: 'b', number: 1, v__n: 1 }), 'r1', 0);
    log.record(two, { entities: {}, features: ['mv:n'] }, answer('mv', { merchant_id: '+0042', mv__n: 2 }), 'r2', 0);
    await log.close();
    expect((await readServingLog(dir)).map((r) => [r.service, r.entityKey, r.keys])).toEqual([
      ['_features', '1:b1:1', { bank: 'b', number: 1 }], ['_features', '42', { merchant_id: '+0042' }],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an answer given as its text, as its UTF-8 or not at all writes the same bytes, small and large answers interleaved', async () => {
  const features = ['v__n', 'v__text'];
  const answer = (rows: number, at: number): OnlineFeaturesResponse => ({
    asOf: '2024-03-01T00:00:00.000Z', features, stale: 0,
    rows: Array.from({ length: rows }, (_v, r) => ({ bank: `b${at}-${r}`, number: String(r), v__n: r * 1.5, v__text: r % 2 === 0 ? 'ü\u2028"' : null }) as never),
    metadata: Array.from({ length: rows }, (_v, r) => ({ status: ['PRESENT', r % 2 === 0 ? 'PRESENT' : 'NULL'], ageMs: [0, 0] })),
    views: { v: { status: 'FRESH', viewHash: 'h1', previousDefinition: false, materializedAt: null, snapshots: { s: 's@1' } } },
  });
  // Small answers (the route sends them as text) and a large one among them.
  const answers = Array.from({ length: 80 }, (_v, i) => answer(i === 40 ? 20 : 1 + (i % 3), i));
  const files: string[] = [];
  for (const form of ['text', 'bytes', 'none'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-log-'));
    try {
      const log = servingLogWriter({ dataDir: dir });
      answers.forEach((response, i) => {
        const text = JSON.stringify(response);
        log.record(project, { entities: {}, service: 'svc' }, response, `r${i}`, Date.parse('2024-03-01T00:00:01Z') + i, form === 'text' ? text : form === 'bytes' ? Buffer.from(text) : undefined);
      });
      await log.close();
      expect(log.stats).toEqual({ written: answers.reduce((n, a) => n + a.rows.length, 0), dropped: 0 });
      files.push(readdirSync(join(dir, 'serving-log'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => readFileSync(join(e.parentPath, e.name), 'utf8')).join(''));
      expect((await readServingLog(dir)).map((r) => r.requestId)).toEqual(answers.flatMap((a, i) => a.rows.map(() => `r${i}`)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  expect(files[0]).toBe(files[1]);
  expect(files[2]).toBe(files[1]);
});

test('a small answer given as its text is logged from that text (the bytes the client got), whatever its length', async () => {
  const features = ['v__n', 'v__text'];
  const dir = mkdtempSync(join(tmpdir(), 'sluice-log-'));
  try {
    const log = servingLogWriter({ dataDir: dir });
    // A value written as the text has it, not as the row object would serialize it (100.0, not 100): the log copies the text's bytes.
    const lengths = [3, 10_000, 100_000];
    lengths.forEach((length, i) => {
      const text = 'ü'.repeat(length);
      const response: OnlineFeaturesResponse = {
        asOf: '2024-03-01T00:00:00.000Z', features, stale: 0,
        rows: [{ bank: `b${i}`, number: '1', v__n: 100, v__text: text } as never],
        metadata: [{ status: ['PRESENT', 'PRESENT'], ageMs: [0, 0] }],
        views: { v: { status: 'FRESH', viewHash: 'h1', previousDefinition: false, materializedAt: null, snapshots: { s: 's@1' } } },
      };
      log.record(project, { entities: {}, service: 'svc' }, response, `r${i}`, Date.parse('2024-03-01T00:00:01Z') + i, JSON.stringify(response).replace('"v__n":100,', '"v__n":100.0,'));
    });
    await log.close();
    const written = readdirSync(join(dir, 'serving-log'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => readFileSync(join(e.parentPath, e.name), 'utf8')).join('');
    const values = written.split('\n').filter((l) => l.includes('"rows":')).map((l) => l.slice(l.indexOf('",[', l.indexOf('"rows":[')) + 3).slice(0, 6));
    expect(values).toEqual(lengths.map(() => '100.0,'));
    expect((await readServingLog(dir)).map((r) => (r.values.v__text as string).length)).toEqual(lengths);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rows past half the buffer start a flush before the timer: answers faster than the timer flushes are written, not dropped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-log-'));
  try {
    // A timer that never fires here: only the buffer's own flushes write before close.
    const log = servingLogWriter({ dataDir: dir, maxBufferedRows: 100, flushIntervalMs: 3_600_000 });
    const answer = (i: number): OnlineFeaturesResponse => ({
      asOf: '2024-03-01T00:00:00.000Z', features: ['v__n'], stale: 0,
      rows: Array.from({ length: 10 }, (_v, r) => ({ bank: `b${i}`, number: String(r), v__n: r }) as never),
      metadata: Array.from({ length: 10 }, () => ({ status: ['PRESENT'], ageMs: [0] })),
      views: { v: { status: 'FRESH', viewHash: 'h1', previousDefinition: false, materializedAt: null, snapshots: { s: 's@1' } } },
    });
    // 40 answers of 10 rows (4x the buffer), one per event-loop turn as a server answers them; once more
    // than half the buffer has been recorded, the next answer waits for a flush to have written (no
    // timer would ever do it), so the buffer is never full when its flushes keep up.
    for (let i = 0; i < 40; i++) {
      log.record(project, { entities: {}, service: 'svc' }, answer(i), `r${i}`, Date.parse('2024-03-01T00:00:01Z') + i);
      for (let waited = 0; log.stats.written < (i + 1) * 10 - 50; waited++) {
        if (waited === 2_000) throw new Error(`after ${(i + 1) * 10} rows recorded, ${log.stats.written} written: no flush before the timer`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    await log.close();
    expect(log.stats).toEqual({ written: 400, dropped: 0 });
    expect((await readServingLog(dir)).map((r) => r.requestId)).toEqual(Array.from({ length: 40 }, (_v, i) => Array.from({ length: 10 }, () => `r${i}`)).flat());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
