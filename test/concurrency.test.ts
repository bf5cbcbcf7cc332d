import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { listRuns } from '../src/orchestration/track-run.js';
import { materialize } from '../src/processing/materialize.js';
import { openPlatform, type Platform } from '../src/platform.js';
import { literal } from '../src/storage/engine/sql-engine.js';
import { startChild, type Child } from './support/child-process.js';
import { tempPlatform } from './support/temp-platform.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count(), total: sum('amount') } });
const spec = defineProject({ name: 'c', entities: [customer], sources: [txns], featureViews: [stats] });

function csv(dir: string, name: string, rows: number, offset = 0): string {
  const path = join(dir, name);
  const lines = ['customer_id,amount,ts'];
  for (let i = 0; i < rows; i++) lines.push(`c${(i + offset) % 7},${i + offset},2024-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function twoHandles() {
  const t = await tempPlatform(spec, Date.parse('2024-01-02T00:00:00Z'));
  // A second platform on the same directory: its own SQLite connection and DuckDB, like another process.
  const other: Platform = openPlatform({ projectDir: t.dir, now: () => t.clock.now, threads: 1 });
  cleanup.push(t.dispose, () => other.close());
  return { ...t, other };
}

async function lakeSeqs(platform: Platform): Promise<{ rows: number; distinct: number }> {
  const snapshot = await platform.metadata.latestSnapshot('txns');
  const files = snapshot!.files.map((f) => literal(platform.lake.resolve(f))).join(', ');
  const [r] = await (await platform.engine()).all<{ rows: number; distinct: number }>(`SELECT count(*)::INTEGER AS rows, count(DISTINCT _seq)::INTEGER AS distinct FROM read_parquet([${files}])`);
  return r!;
}

describe('concurrent ingests', () => {
  test('the same file ingested by two overlapping runs is committed once; the other run reports it skipped', async () => {
    const { platform, other, project, dir } = await twoHandles();
    const file = csv(dir, 'a.csv', 500);
    const results = await Promise.all([ingestFile(platform, project, 'txns', file), ingestFile(other, project, 'txns', file)]);
    expect(results.map((r) => r.skipped).sort()).toEqual([false, true]);
    expect(results[0]!.snapshot).toBe(results[1]!.snapshot);
    expect(await platform.metadata.latestSnapshot('txns')).toMatchObject({ version: 1, rowCount: 500 });
    expect(await lakeSeqs(platform)).toEqual({ rows: 500, distinct: 500 });
    // The losing run removed its own published file: the lake holds exactly what the snapshot lists.
    expect((await platform.lake.listFiles()).map((f) => f.file)).toEqual((await platform.metadata.latestSnapshot('txns'))!.files);
  });

  test('two different files ingested at once into one source are both committed, with distinct _seq', async () => {
    const { platform, other, project, dir } = await twoHandles();
    const [a, b] = [csv(dir, 'a.csv', 300), csv(dir, 'b.csv', 200, 1000)];
    const results = await Promise.all([ingestFile(platform, project, 'txns', a), ingestFile(other, project, 'txns', b)]);
    expect(results.map((r) => [r.skipped, r.accepted]).sort()).toEqual([[false, 200], [false, 300]]);
    expect(await platform.metadata.latestSnapshot('txns')).toMatchObject({ version: 2, rowCount: 500 });
    expect(await lakeSeqs(platform)).toEqual({ rows: 500, distinct: 500 });
  });
});

describe('materialize writers are serialized by a lease', () => {
  test('two materializes of one view in one process run one after the other, and the table is whole', async () => {
    const { platform, project, dir } = await twoHandles();
    await ingestFile(platform, project, 'txns', csv(dir, 'a.csv', 70));
    await Promise.all([materialize(platform, project), materialize(platform, project)]);
    const online = await platform.online();
    // Serialized writers make two generations; overlapping writers both build generation 1.
    expect(await online.viewInfo('stats')).toMatchObject({ generation: 2, entityCount: 7 });
    expect((await online.read('stats', ['c0', 'c6'])).states.every((s) => s !== undefined)).toBe(true);
  });

  test('a materialize waits for a live holder in another process, fails naming it, and takes over once it is killed', async () => {
    const { platform, project, dir } = await twoHandles();
    await ingestFile(platform, project, 'txns', csv(dir, 'a.csv', 70));
    const child: Child = await startChild(`
      const { openPlatform } = await dist('platform.js');
      const { withLease } = await dist('orchestration/lease.js');
      const p = openPlatform({ projectDir: ${JSON.stringify(dir)} });
      await withLease(p.metadata, 'materialize:stats', {}, () => { ready(); return new Promise(() => {}); });
    `);
    let killed = false;
    cleanup.push(async () => void (killed || (await child.kill())));
    await expect(materialize(platform, project, { leaseWaitMs: 200 })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining(`materialize of view "stats" is already running in process ${child.pid}`),
    });
    await child.kill();
    killed = true;
    const result = await materialize(platform, project, { leaseWaitMs: 0 });
    expect(result.views[0]).toMatchObject({ view: 'stats', entities: 7 });
  });
});

describe('runs hold a lease', () => {
  test('a run whose process was killed with SIGKILL is shown as failed, not running forever', async () => {
    const { platform, dir } = await twoHandles();
    const child = await startChild(`
      const { openPlatform } = await dist('platform.js');
      const { trackRun } = await dist('orchestration/track-run.js');
      const p = openPlatform({ projectDir: ${JSON.stringify(dir)} });
      await trackRun(p, 'ingest', { file: 'big.csv' }, () => { ready(); return new Promise(() => {}); });
    `);
    expect((await listRuns(platform, 10))[0]).toMatchObject({ job: 'ingest', status: 'running' });
    await child.kill();
    const killedBy = Date.now();
    const [run] = await listRuns(platform, 10);
    expect(run).toMatchObject({ job: 'ingest', status: 'failed', error: expect.stringMatching(/^the process running it died; last known alive at .+ \(its lease's last renewal\)/), params: { file: 'big.csv' } });
    // Ended when it was last known alive, not when the listing noticed it.
    expect(run!.finishedAt).toBeGreaterThanOrEqual(run!.startedAt);
    expect(run!.finishedAt).toBeLessThanOrEqual(killedBy);
  });

  test('a killed run found by "sluice runs" or "sluice status" (listRuns) still fires its job_failed condition', async () => {
    const { platform, dir } = await twoHandles();
    const child = await startChild(`
      const { openPlatform } = await dist('platform.js');
      const { trackRun } = await dist('orchestration/track-run.js');
      const p = openPlatform({ projectDir: ${JSON.stringify(dir)} });
      await trackRun(p, 'ingest:txns', { trigger: 'manual' }, () => { ready(); return new Promise(() => {}); });
    `);
    await child.kill();
    const [run] = await listRuns(platform, 10);
    expect(run).toMatchObject({ job: 'ingest:txns', status: 'failed' });
    // The run is failed now: a later job start finds no dead run, so only this reap can report it.
    await expect(platform.metadata.health.list({ firing: true })).resolves.toEqual([
      expect.objectContaining({ kind: 'job_failed', subject: 'job:ingest:txns', firing: true, message: expect.stringMatching(/^job ingest:txns failed \(run .+\): the process running it died; last known alive at /) }),
    ]);
  });
});
