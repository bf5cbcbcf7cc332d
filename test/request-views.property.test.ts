import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { avg, batchSource, bindRequestFunctions, compileProject, count, defineProject, entity, featureService, featureView, field, last, requestView, sum } from '../src/definitions/index.js';
import { checkDeterministic } from '../src/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { referenceValue, type RefEvent, type RefFeature, type RefValue } from './support/reference.js';
import { tempPlatform } from './support/temp-platform.js';

const key = entity({ name: 'user', joinKey: 'k' });
const events = batchSource({ name: 'events', schema: { k: 'string', v: 'float64', s: 'string', b: 'bool', i: 'int64', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: key, source: events, features: {
  avg_v: avg('v', { window: '20ms' }), n: count({ window: '10ms' }), sum_i: sum('i'), last_i: last('i'), last_b: last('b'), last_ts: last('ts'),
} });
const profile = featureView({ name: 'profile', entity: key, source: events, ttl: '15ms', features: { s: field('s') } });
const REQUEST = { x: 'float64', j: 'int64', c: 'string', flag: 'bool', at: 'timestamp' } as const;
const scored = requestView({
  name: 'scored', request: REQUEST, inputs: [stats, profile],
  features: {
    ratio: ({ request, stats }) => (stats.avg_v === null ? null : request.x / stats.avg_v),
    prod: ({ request, stats }) => request.x * (stats.n ?? 0) + (stats.sum_i ?? 0),
    big: ({ request, stats }) => BigInt(stats.last_i ?? 0) + BigInt(request.j),
    same: ({ request, profile }) => (profile.s === null ? null : profile.s === request.c),
    label: ({ request, profile }) => `${request.c}:${profile.s ?? '-'}`,
    both: ({ request, stats }) => request.flag && (stats.last_b ?? false),
    gap: ({ request, stats }) => (stats.last_ts === null ? null : request.at - stats.last_ts),
    newest: ({ request, stats }) => Math.max(request.at, stats.last_ts ?? request.at),
    boom: ({ request }) => {
      if (request.flag && request.x > 50) throw new Error('too much');
      return request.x;
    },
  },
  types: { ratio: 'float64', prod: 'float64', big: 'int64', same: 'bool', label: 'string', both: 'bool', gap: 'int64', newest: 'timestamp', boom: 'float64' },
});
const spec = defineProject({ name: 'rvprop', entities: [key], sources: [events], featureViews: [stats, profile], requestViews: [scored], featureServices: [featureService({ name: 'all', features: [scored, 'stats:n'] })] });
const project = compileProject(spec);

// The reference: input features by brute force (test/support/reference.ts), then each formula
// written again here, with its own type rules. Shares no code with the platform.
const INPUTS: Record<string, RefFeature> = Object.fromEntries(project.featureViews.flatMap((view) =>
  view.features.map((f) => [`${view.name}.${f.name}`, { fn: f.fn, column: f.column, windowMs: f.windowMs, ttlMs: f.fn === 'field' ? view.ttlMs : undefined }])));
type Request = { x: number; j: bigint; c: string; flag: boolean; at: number };
type Expected = { value: RefValue; error: boolean };
const INT64 = [-(2n ** 63n), 2n ** 63n - 1n];
const int = (v: bigint): Expected => (v < INT64[0]! || v > INT64[1]! ? { value: null, error: true } : { value: v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n ? Number(v) : v, error: false });
// A negative zero is 0 on every path (docs/request-views.md), as every stored value is.
const float = (v: number | null): Expected => (v !== null && !Number.isFinite(v) ? { value: null, error: true } : { value: v === 0 ? 0 : v, error: false });
function referenceRow(ref: RefEvent[], k: string, t: number, q: Request): Record<string, Expected> {
  const input = (name: string) => referenceValue(ref, k, t, INPUTS[name]!);
  const avgV = input('stats.avg_v') as number | null;
  const lastI = input('stats.last_i') as number | bigint | null;
  const lastB = input('stats.last_b') as boolean | null;
  const lastTs = input('stats.last_ts') as number | null;
  const s = input('profile.s') as string | null;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    scored__ratio: float(avgV === null ? null : q.x / avgV),
    scored__prod: float(q.x * (input('stats.n') as number) + ((input('stats.sum_i') as number | null) ?? 0)),
    scored__big: int(BigInt(lastI ?? 0) + q.j),
    scored__same: { value: s === null ? null : s === q.c, error: false },
    scored__label: { value: `${q.c}:${s ?? '-'}`, error: false },
    scored__both: { value: q.flag && (lastB ?? false), error: false },
    scored__gap: { value: lastTs === null ? null : q.at - lastTs, error: false },
    scored__newest: { value: iso(lastTs === null ? q.at : Math.max(q.at, lastTs)), error: false },
    scored__boom: q.flag && q.x > 50 ? { value: null, error: true } : float(q.x),
    stats__n: { value: input('stats.n'), error: false },
  };
}

const eventArb = fc.record({
  key: fc.constantFrom('u1', 'u2'), ts: fc.integer({ min: 0, max: 60 }),
  v: fc.oneof(fc.constant(null), fc.constantFrom(0.1, 0.2, 0, -0, 1e16, -7.25, 1 / 3)),
  s: fc.oneof(fc.constant(null), fc.constantFrom('a', 'b', 'é', '\u{1F600}')),
  b: fc.oneof(fc.constant(null), fc.boolean()),
  i: fc.oneof(fc.constant(null), fc.integer({ min: -50, max: 50 }).map(BigInt), fc.constantFrom(2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n)),
});
const requestArb = fc.record({
  x: fc.constantFrom(0.1, 0.3, 1e16, -7.25, 1 / 3, 0, 60, 100),
  j: fc.oneof(fc.integer({ min: -9, max: 9 }).map(BigInt), fc.constantFrom(2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n)),
  c: fc.constantFrom('a', 'b', 'é', '\u{1F600}', 'x"y'),
  flag: fc.boolean(),
  at: fc.integer({ min: -20, max: 120 }),
});
const scenario = fc.record({
  t0: fc.constantFrom(Date.parse('2024-01-01T00:00:00Z'), Date.parse('1960-06-01T00:00:00Z')),
  events: fc.array(eventArb, { minLength: 0, maxLength: 30 }),
  asOf: fc.integer({ min: 0, max: 80 }),
  spine: fc.array(fc.record({ key: fc.constantFrom('u1', 'u2', 'nobody'), t: fc.integer({ min: -5, max: 90 }), request: requestArb }), { minLength: 1, maxLength: 8 }),
  online: fc.array(requestArb, { minLength: 3, maxLength: 3 }),
});

const exactJsonInt = (line: string) => JSON.parse(line.replace(/([:,[]\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"__int64:$2"'), (_k, v: unknown) =>
  typeof v === 'string' && v.startsWith('__int64:') ? int(BigInt(v.slice(8))).value : v) as Record<string, unknown>;
const jsonRequest = (q: Request, t0: number) => `{"x":${q.x},"j":${q.j.toString()},"c":${JSON.stringify(q.c)},"flag":${q.flag},"at":"${new Date(t0 + q.at).toISOString()}"}`;

describe('request views: online == dataset == a brute-force reference', () => {
  test('for random events, random request values (int64 edges, unicode, pre-1970 times) and random times', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ t0, events: generated, asOf, spine, online }) => {
        const env = await tempPlatform(spec, t0 + asOf, { threads: 2 });
        try {
          const ref: RefEvent[] = generated.map((e, order) => ({ key: e.key, ts: t0 + e.ts, order, values: { v: e.v, s: e.s, b: e.b, i: e.i, ts: t0 + e.ts } }));
          const file = join(env.dir, 'events.jsonl');
          writeFileSync(file, generated.map((e) => `{"k":"${e.key}","v":${e.v},"s":${JSON.stringify(e.s)},"b":${e.b},"i":${e.i === null ? 'null' : e.i.toString()},"ts":"${new Date(t0 + e.ts).toISOString()}"}`).join('\n') + '\n');
          if (generated.length > 0) await ingestFile(env.platform, env.project, 'events', file);
          const requests = (q: { at: number } & Omit<Request, 'at'>): Request => ({ ...q, at: t0 + q.at });
          // Offline: the spine carries the request columns.
          const rows = [...spine, ...online.map((request, i) => ({ key: ['u1', 'u2', 'nobody'][i]!, t: asOf, request }))];
          const spineFile = join(env.dir, 'spine.jsonl');
          writeFileSync(spineFile, rows.map((r) => `{"k":"${r.key}","ts":"${new Date(t0 + r.t).toISOString()}",${jsonRequest(r.request as Request, t0).slice(1)}`).join('\n') + '\n');
          const out = join(env.dir, 'out.jsonl');
          const manifest = await buildDataset(env.platform, env.project, { spine: spineFile, out, service: 'all' });
          const dataset = readFileSync(out, 'utf8').trim().split('\n').map(exactJsonInt);
          const errors: Record<string, number> = {};
          rows.forEach((r, i) => {
            for (const [column, expected] of Object.entries(referenceRow(ref, r.key, t0 + r.t, requests(r.request)))) {
              expect({ i, column, value: dataset[i]![column] }).toEqual({ i, column, value: expected.value });
              if (expected.error) errors[column] = (errors[column] ?? 0) + 1;
            }
          });
          expect(Object.fromEntries(Object.entries(manifest.requestErrors ?? {}).map(([c, e]) => [c, e.rows]))).toEqual(errors);
          // Online at asOf, with the same request values as the last spine rows.
          await materialize(env.platform, env.project);
          const keys = ['u1', 'u2', 'nobody'];
          const asJson = (j: bigint) => (j >= -(2n ** 53n) + 1n && j <= 2n ** 53n - 1n ? Number(j) : j.toString());
          const request = { x: online.map((q) => q.x), j: online.map((q) => asJson(q.j)), c: online.map((q) => q.c), flag: online.map((q) => q.flag), at: online.map((q) => new Date(t0 + q.at).toISOString()) };
          const response = await getOnlineFeatures(env.project, await env.platform.online(), { service: 'all', entities: { k: keys }, request }, t0 + asOf, await latestSnapshots(env.platform.metadata, env.project), { functions: bindRequestFunctions(spec, env.project) });
          response.rows.forEach((row, i) => {
            for (const [column, expected] of Object.entries(referenceRow(ref, keys[i]!, t0 + asOf, requests(online[i]!)))) {
              expect({ i, column, value: row[column] }).toEqual({ i, column, value: expected.value });
              expect({ i, column, error: response.metadata[i]!.status[response.features.indexOf(column)] === 'ERROR' }).toEqual({ i, column, error: expected.error });
              expect({ i, column, online: row[column] }).toEqual({ i, column, online: dataset[spine.length + i]![column] });
            }
          });
          // The functions are deterministic on the rows seen (the helper a project's tests can use too).
          checkDeterministic(scored, rows.map((r) => ({ request: { ...requests(r.request), j: int(r.request.j).value as number }, stats: { avg_v: 0.5, n: 1, sum_i: 2, last_i: 3, last_b: true, last_ts: t0 }, profile: { s: 'a' } })));
        } finally {
          await env.dispose();
        }
      }),
      { numRuns: 20 },
    );
  });

  test('checkDeterministic catches a function that is not', () => {
    const flaky = requestView({ name: 'flaky', request: { x: 'float64' }, inputs: [stats], features: { noisy: ({ request }) => request.x + Math.random() }, types: { noisy: 'float64' } });
    expect(() => checkDeterministic(flaky, [{ request: { x: 1 }, stats: {} }])).toThrow(/request view "flaky", feature "noisy" is not deterministic/);
  });
});
