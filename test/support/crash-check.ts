import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { compileProject, count, defineProject, entity, featureView, last, streamSource, sum, type NatsJetStreamSpec, type Project } from '../../src/definitions/index.js';
import { literal } from '../../src/storage/engine/sql-engine.js';
import { openPlatform } from '../../src/platform.js';
import { buildDataset } from '../../src/serving/datasets/build-dataset.js';
import { latestSnapshots } from '../../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../../src/serving/online-features.js';
import { referenceValue, type RefEvent, type RefFeature } from './reference.js';

/**
 * The crash tests' project: events `{id, k, v, ts}` with event ids, times near now (the child runs
 * on real time), lateness large enough that a retried batch is never late.
 */
export function crashProject(connector?: NatsJetStreamSpec): Project {
  const user = entity({ name: 'user', joinKey: 'k' });
  const events = streamSource({
    name: 'events', schema: { id: 'string', k: 'string', v: 'float64', ts: 'timestamp' },
    timestamp: 'ts', eventId: 'id', allowedLateness: '6h', maxClockSkew: '5m', ...(connector ? { connector } : {}),
  });
  const stats = featureView({ name: 'stats', entity: user, source: events, features: { n: count(), n_5m: count({ window: '5m' }), v_1h: sum('v', { window: '1h' }), v_all: sum('v'), last_v: last('v') } });
  return compileProject(defineProject({ name: 'crash', entities: [user], sources: [events], featureViews: [stats] }));
}

/** A fresh project directory with the project applied. */
export async function crashProjectDir(project: Project): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-crash-'));
  const platform = openPlatform({ projectDir: dir });
  await platform.metadata.recordRegistry(project);
  await platform.close();
  return dir;
}

export interface CrashEvent {
  readonly id: string;
  readonly k: string;
  readonly v: number;
  readonly ts: number;
}

export const eventJson = (e: CrashEvent): string => JSON.stringify({ id: e.id, k: e.k, v: e.v, ts: new Date(e.ts).toISOString() });

/**
 * After the platform in `dir` stopped: every event of `accepted` is in the lake exactly once (by
 * id) and nothing else is; every id of `rejected` is in the dead-letter store once, with a reason
 * starting as given; online == dataset == the brute-force reference for every key at now.
 */
export async function expectExactlyOnce(dir: string, project: Project, accepted: readonly CrashEvent[], rejected: ReadonlyMap<string, string>): Promise<void> {
  const platform = openPlatform({ projectDir: dir });
  try {
    const snapshot = await platform.metadata.latestSnapshot('events');
    const files = (snapshot?.files ?? []).map((f) => literal(platform.lake.resolve(f)));
    const engine = await platform.engine();
    const counts = files.length === 0 ? [] : await engine.all<{ id: string; n: number }>(`SELECT id, count(*)::INTEGER AS n FROM read_parquet([${files.join(', ')}]) GROUP BY id`);
    const want = new Set(accepted.map((e) => e.id));
    const doubled = counts.filter((c) => c.n !== 1).map((c) => `${c.id} x${c.n}`);
    const counted = new Set(counts.map((c) => c.id));
    const missing = [...want].filter((id) => !counted.has(id));
    const unknown = counts.filter((c) => !want.has(c.id)).map((c) => c.id);
    expect({ doubled: doubled.slice(0, 20), missing: missing.slice(0, 20), unknown: unknown.slice(0, 20) }).toEqual({ doubled: [], missing: [], unknown: [] });
    expect(counts.length).toBe(want.size);
    expect(snapshot?.rowCount ?? 0).toBe(want.size);

    const letters = await platform.metadata.listDeadLetters({ source: 'events', limit: 10_000_000 });
    const byId = new Map<string, string[]>();
    for (const letter of letters) {
      const id = (JSON.parse(letter.raw) as { id: string }).id;
      byId.set(id, [...(byId.get(id) ?? []), letter.reason]);
    }
    const wrongLetters = [...rejected].filter(([id, reason]) => byId.get(id)?.length !== 1 || !byId.get(id)![0]!.startsWith(reason)).map(([id]) => `${id}: ${JSON.stringify(byId.get(id) ?? [])}`);
    expect({ wrongLetters: wrongLetters.slice(0, 20), letters: letters.length }).toEqual({ wrongLetters: [], letters: rejected.size });

    const t = Date.now();
    const keys = [...new Set(accepted.map((e) => e.k))].sort();
    const features = project.featureViews[0]!.features;
    const names = features.map((f) => `stats:${f.name}`);
    const ref: RefEvent[] = accepted.map((e, order) => ({ key: e.k, ts: e.ts, order, values: { v: e.v } }));
    const expected = keys.map((k) => ({ k, ...Object.fromEntries(features.map((f) => [`stats__${f.name}`, referenceValue(ref, k, t, { fn: f.fn, column: f.column, windowMs: f.windowMs } as RefFeature)])) }));
    const online = await getOnlineFeatures(project, await platform.online(), { entities: { k: keys }, features: names }, t, await latestSnapshots(platform.metadata, project));
    expect(online.rows).toEqual(expected);
    const spine = join(dir, 'spine.jsonl');
    writeFileSync(spine, keys.map((k) => JSON.stringify({ k, ts: new Date(t).toISOString() })).join('\n') + '\n');
    const out = join(dir, 'dataset.jsonl');
    await buildDataset(platform, project, { spine, out, features: names });
    const dataset = readFileSync(out, 'utf8').trim().split('\n').map((l) => {
      const { ts: _ts, ...row } = JSON.parse(l) as Record<string, unknown>;
      return row;
    });
    expect(dataset).toEqual(expected);
  } finally {
    await platform.close();
  }
}
