import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, last, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { referenceValue, type RefEvent } from './support/reference.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const user = entity({ name: 'user', joinKey: 'u' });
const events = batchSource({ name: 'events', schema: { u: 'string', x: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const view = featureView({ name: 'v', entity: user, source: events, features: { n: count({ window: '1h' }), s: sum('x', { window: '3h' }), l: last('x') } });
const clicks = batchSource({ name: 'clicks', schema: { u: 'string', x: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const views = batchSource({ name: 'views', schema: { u: 'string', x: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const clickView = featureView({ name: 'c', entity: user, source: clicks, features: { n: count({ window: '30m' }), l: last('x') } });
const viewView = featureView({ name: 'w', entity: user, source: views, features: { s: sum('x', { window: '2h' }) } });
const spec = defineProject({ name: 'p', entities: [user], sources: [events, clicks, views], featureViews: [view, clickView, viewView] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(spec, T0, { threads: 2 });
});
afterEach(async () => env.dispose());

// Deterministic pseudo-random numbers, so a failure reproduces.
function random(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

test('a spine far larger than one result chunk: every row gets its own values (the sweep streams and appends at once)', async () => {
  const next = random(7);
  const ref: RefEvent[] = [];
  const lines = ['u,x,ts'];
  for (let i = 0; i < 20_000; i++) {
    const u = `u${Math.floor(next() * 300)}`;
    const ts = T0 + Math.floor(next() * 86_400_000);
    const x = Math.round(next() * 10_000) / 100;
    lines.push(`${u},${x},${new Date(ts).toISOString()}`);
    ref.push({ key: u, ts, order: i, values: { x } });
  }
  writeFileSync(join(env.dir, 'e.csv'), lines.join('\n'));
  await ingestFile(env.platform, env.project, 'events', join(env.dir, 'e.csv'));
  const spineRows = Array.from({ length: 10_000 }, () => ({ u: `u${Math.floor(next() * 310)}`, ts: T0 + Math.floor(next() * 90_000_000) }));
  writeFileSync(join(env.dir, 'spine.csv'), ['u,ts', ...spineRows.map((r) => `${r.u},${new Date(r.ts).toISOString()}`)].join('\n'));
  const out = join(env.dir, 'out.jsonl');
  await buildDataset(env.platform, env.project, { spine: join(env.dir, 'spine.csv'), out, features: ['v:n', 'v:s', 'v:l'] });
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(rows).toHaveLength(spineRows.length);
  const byKey = new Map<string, RefEvent[]>();
  for (const e of ref) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
  const mismatches = spineRows.flatMap((r, i) => {
    const own = byKey.get(r.u) ?? [];
    const want = {
      u: r.u,
      n: referenceValue(own, r.u, r.ts, { fn: 'count', windowMs: 3_600_000 }),
      s: referenceValue(own, r.u, r.ts, { fn: 'sum', column: 'x', windowMs: 10_800_000 }),
      l: referenceValue(own, r.u, r.ts, { fn: 'last', column: 'x' }),
    };
    const got = { u: rows[i]!.u, n: rows[i]!.v__n, s: rows[i]!.v__s ?? null, l: rows[i]!.v__l ?? null };
    return JSON.stringify(got) === JSON.stringify(want) ? [] : [{ row: i, got, want }];
  });
  expect(mismatches.slice(0, 3)).toEqual([]);
});

test("many views over sources with different entities: each view's columns are its own values on every row (results side by side by position)", async () => {
  const next = random(11);
  const refs = new Map<string, Map<string, RefEvent[]>>();
  // Each source covers a different part of the users: the sorted points are the same for every view, the events are not.
  for (const [source, users, count] of [['events', 300, 8_000], ['clicks', 120, 6_000], ['views', 40, 3_000]] as const) {
    const lines = ['u,x,ts'];
    const byKey = new Map<string, RefEvent[]>();
    for (let i = 0; i < count; i++) {
      const u = `u${Math.floor(next() * users) + (source === 'views' ? 250 : 0)}`;
      const ts = T0 + Math.floor(next() * 86_400_000);
      const x = Math.round(next() * 10_000) / 100;
      lines.push(`${u},${x},${new Date(ts).toISOString()}`);
      byKey.set(u, [...(byKey.get(u) ?? []), { key: u, ts, order: i, values: { x } }]);
    }
    writeFileSync(join(env.dir, `${source}.csv`), lines.join('\n'));
    await ingestFile(env.platform, env.project, source, join(env.dir, `${source}.csv`));
    refs.set(source, byKey);
  }
  const spineRows = Array.from({ length: 9_000 }, () => ({ u: `u${Math.floor(next() * 310)}`, ts: T0 + Math.floor(next() * 90_000_000) }));
  writeFileSync(join(env.dir, 'spine.csv'), ['u,ts', ...spineRows.map((r) => `${r.u},${new Date(r.ts).toISOString()}`)].join('\n'));
  const out = join(env.dir, 'out.jsonl');
  await buildDataset(env.platform, env.project, { spine: join(env.dir, 'spine.csv'), out, features: ['v:n', 'c:n', 'c:l', 'w:s'] });
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(rows).toHaveLength(spineRows.length);
  const own = (source: string, u: string) => refs.get(source)!.get(u) ?? [];
  const mismatches = spineRows.flatMap((r, i) => {
    const want = {
      v__n: referenceValue(own('events', r.u), r.u, r.ts, { fn: 'count', windowMs: 3_600_000 }),
      c__n: referenceValue(own('clicks', r.u), r.u, r.ts, { fn: 'count', windowMs: 1_800_000 }),
      c__l: referenceValue(own('clicks', r.u), r.u, r.ts, { fn: 'last', column: 'x' }),
      w__s: referenceValue(own('views', r.u), r.u, r.ts, { fn: 'sum', column: 'x', windowMs: 7_200_000 }),
    };
    const got = { v__n: rows[i]!.v__n, c__n: rows[i]!.c__n, c__l: rows[i]!.c__l ?? null, w__s: rows[i]!.w__s ?? null };
    return JSON.stringify(got) === JSON.stringify(want) ? [] : [{ row: i, got, want }];
  });
  expect(mismatches.slice(0, 3)).toEqual([]);
});
