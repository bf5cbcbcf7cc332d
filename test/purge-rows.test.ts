import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { holdBatch } from '../src/quality/quarantine.js';
import { literal } from '../src/storage/engine/sql-engine.js';
import { collectGarbage } from '../src/orchestration/garbage-collect.js';
import { rebuildDataset } from '../src/serving/datasets/rebuild-dataset.js';
import { purgeRows } from '../src/compliance/purge/index.js';
import { InterruptedError } from '../src/errors.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { healthStatus } from '../src/observability/status/health-status.js';
import type { SluiceContext } from '../src/context.js';
import { admin, NOW, purgeFixture, rowsOf } from './support/purge-fixture.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const setup = () => purgeFixture(cleanup);

test('erasing a key removes its rows from every snapshot (old ones too), derived tables, online tables, dead letters and datasets, and records the rewrite', async () => {
  const { platform, project, dir } = await setup();
  const before = await rowsOf(platform, 'txns');
  const oldFiles = (await platform.metadata.latestSnapshot('txns'))!.files;
  expect([...before.values()].flat().filter((r) => r.startsWith('c42')).length).toBeGreaterThan(0);
  expect(await platform.metadata.countDeadLetters('txns')).toBe(2);

  const report = await purgeRows(platform, project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c42'] }, reason: 'erasure', principal: admin, purpose: 'gdpr-art17' });
  const by = Object.fromEntries(report.stores.map((s) => [s.store, s]));
  expect(by['lake:txns']).toMatchObject({ rows: 2, filesRewritten: [oldFiles[0], oldFiles[1]] });
  expect(by['lake:txns']!.bytes).toBeGreaterThan(0);
  expect(by['lake:big_txns']).toMatchObject({ rows: 2 });
  expect(by['dead-letters:txns']).toMatchObject({ rows: 1 });
  expect(by['online:stats']).toMatchObject({ rows: 1 });

  const after = await rowsOf(platform, 'txns');
  expect([...after.values()].flat().some((r) => r.startsWith('c42'))).toBe(false);
  for (const [id, rows] of before) expect(after.get(id)).toEqual(rows.filter((r) => !r.startsWith('c42')));
  expect([...(await rowsOf(platform, 'big_txns')).values()].flat().sort()).toEqual(['c1@2024-02-20', 'c2@2024-02-10']);
  // The old files are gone from disk; untouched ones stay.
  expect(existsSync(platform.lake.resolve(oldFiles[0]!))).toBe(false);
  expect(existsSync(platform.lake.resolve(oldFiles[2]!))).toBe(true);
  const rewrites = await platform.metadata.purge.snapshotRewrites({ source: 'txns' });
  expect(rewrites.length).toBe(before.size);
  expect(rewrites.every((r) => r.reason === 'erasure' && r.at === NOW && r.rowsAfter < r.rowsBefore)).toBe(true);

  const online = await platform.online();
  expect((await online.read('stats', ['c42', 'c1'])).states.map((s) => s !== undefined)).toEqual([false, true]);
  // A view of another entity that kept the key as a value was materialized again from the purged lake.
  const buyers = await online.read('last_buyer', ['m2']);
  expect(JSON.stringify(buyers.states)).not.toContain('c42');
  expect((await platform.metadata.listDeadLetters({ source: 'txns' })).map((d) => d.raw).join()).not.toContain('c42');
  // The training dataset built from the source is rewritten without the subject; its record says so.
  const dataset = readFileSync(join(dir, 'out', 'train.csv'), 'utf8');
  expect(dataset).not.toContain('c42');
  expect(dataset).toContain('c1,2024-02-25');
  const [record] = await platform.metadata.listDatasets(10);
  expect(record).toMatchObject({ rowCount: 2, purges: [{ reason: 'erasure', rows: 1, action: 'rewritten' }] });
  expect(JSON.parse(readFileSync(join(dir, 'out', 'train.csv.manifest.json'), 'utf8'))).toMatchObject({ rowCount: 2, purges: [{ action: 'rewritten' }] });
  // A rebuild from the same (rewritten) snapshots is another dataset: its manifest says what rewrote them, and why it differs.
  const rebuilt = await rebuildDataset(platform, project, join(dir, 'out', 'train.csv.manifest.json'), { out: join(dir, 'out', 'again.csv') });
  expect(rebuilt.datasetId).not.toBe(record!.id);
  const snapshotId = (await platform.metadata.latestSnapshot('txns'))!.id;
  expect(rebuilt.snapshotRewrites).toEqual([{ snapshotId, reason: 'erasure', at: new Date(NOW).toISOString(), rowsBefore: 7, rowsAfter: 5 }]);
  expect(rebuilt.rebuildOf).toEqual({ datasetId: record!.id, differences: [`snapshot ${snapshotId} of txns was rewritten by erasure at ${new Date(NOW).toISOString()} (7 -> 5 rows)`] });
  // The spine is the caller's file and still names the key: purgeRows alone (no erasure request) does not block it, so no row is left out; no feature value of it is left.
  expect(readFileSync(join(dir, 'out', 'again.csv'), 'utf8')).toContain('c42,2024-02-15T00:00:00Z,1,0\n');
  expect(rebuilt.erasedRows).toBeUndefined();

  const [audit] = (await platform.metadata.audit.list()).filter((r) => r.action === 'purge.run');
  expect(audit).toMatchObject({ actor: 'cli:test', target: 'source:txns', outcome: 'succeeded', purpose: 'gdpr-art17', details: { reason: 'erasure', rows: report.rows } });
  // The raw key, not a run of hex: a keyed hash (random secret per run) can hold "c42" inside it (Node 24 CI drew one).
  expect(JSON.stringify(audit)).not.toMatch(/(^|[^0-9a-f])c42([^0-9a-f]|$)/);
});

test('a cutoff removes older events everywhere; entities left with none are removed online; a dry run changes nothing', async () => {
  const { platform, project } = await setup();
  const cutoff = Date.parse('2024-02-01T00:00:00Z');
  const snapshots = await platform.metadata.listSnapshots({ source: 'txns' });
  const dry = await purgeRows(platform, project, { source: 'txns', match: { kind: 'before', before: cutoff }, reason: 'retention', principal: admin, dryRun: true });
  expect(dry.stores.find((s) => s.store === 'lake:txns')).toMatchObject({ rows: 3 });
  expect(await platform.metadata.listSnapshots({ source: 'txns' })).toEqual(snapshots);

  await purgeRows(platform, project, { source: 'txns', match: { kind: 'before', before: cutoff }, reason: 'retention', principal: admin, datasets: 'flag' });
  // Under the flag policy the dataset stays as built, listed as tainted (its January row, and windows over expired events).
  expect((await platform.metadata.listDatasets(10))[0]).toMatchObject({ rowCount: 3, purges: [{ reason: 'retention', rows: 1, action: 'flagged' }] });
  const rows = [...(await rowsOf(platform, 'txns')).values()].flat();
  expect(rows.length).toBeGreaterThan(0);
  expect(rows.some((r) => r.includes('2024-01-'))).toBe(false);
  // The first ingest's file held only expired rows: it is dropped, not rewritten; its snapshot now lists no file.
  expect((await platform.metadata.snapshot(snapshots.at(-1)!.id))).toMatchObject({ files: [], rowCount: 0 });
  const online = await platform.online();
  // c42 has a newer event; c9 and m3 had only expired ones.
  expect((await online.read('stats', ['c42', 'c9'])).states.map((s) => s !== undefined)).toEqual([true, false]);
  expect((await online.read('last_buyer', ['m3'])).states[0]).toBeUndefined();
  expect(await platform.metadata.countDeadLetters('txns')).toBe(2);
  const audits = (await platform.metadata.audit.list()).filter((r) => r.action === 'purge.run');
  expect(audits.map((a) => a.details?.dryRun)).toEqual([true, false]);
});

test('a crash after publishing the rewritten files but before the swap leaves the old files referenced; gc removes the new ones', async () => {
  const { platform, project } = await setup();
  const before = await rowsOf(platform, 'txns');
  const crashed: SluiceContext = {
    ...platform,
    metadata: { ...platform.metadata, purge: { ...platform.metadata.purge, rewriteSnapshotFiles: () => Promise.reject(new Error('killed before the swap')) } },
    // The process died: nothing cleans up after it.
    lake: { ...platform.lake, remove: async () => undefined },
  };
  await expect(purgeRows(crashed, project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c42'] }, reason: 'erasure', principal: admin })).rejects.toThrow('killed before the swap');
  expect(await rowsOf(platform, 'txns')).toEqual(before);
  const failed = (await platform.metadata.audit.list()).filter((r) => r.action === 'purge.run');
  expect(failed.map((r) => r.outcome)).toEqual(['failed']);
  const lake = (await collectGarbage(platform, { minAgeMs: 0 })).find((r) => r.kind === 'lake-unreferenced');
  expect(lake!.files.length).toBe(2);
  expect(await rowsOf(platform, 'txns')).toEqual(before);
});

test('a crash after the swap but before the old files are deleted leaves them as pending deletions; the next purge deletes them first and reports them', async () => {
  const { platform, project } = await setup();
  const oldFiles = new Set((await platform.metadata.listSnapshots({ source: 'txns' })).flatMap((s) => s.files));
  const crashed: SluiceContext = { ...platform, lake: { ...platform.lake, remove: () => Promise.reject(new Error('killed after the swap')) } };
  await expect(purgeRows(crashed, project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c42'] }, reason: 'erasure', principal: admin, owner: 'erase-9' })).rejects.toThrow('killed after the swap');
  expect([...(await rowsOf(platform, 'txns')).values()].flat().some((r) => r.startsWith('c42'))).toBe(false);
  const pending = await platform.metadata.purge.pendingDeletions();
  expect(pending.map((p) => [p.source, p.reason, p.owner])).toEqual([['txns', 'erasure', 'erase-9'], ['txns', 'erasure', 'erase-9']]);
  expect(pending.every((p) => oldFiles.has(p.file) && existsSync(platform.lake.resolve(p.file)))).toBe(true);
  // A dry run lists nothing and deletes nothing; a purge of another key deletes the leftovers first.
  expect((await purgeRows(platform, project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c7'] }, reason: 'erasure', principal: admin, dryRun: true })).leftoverFiles).toEqual([]);
  const next = await purgeRows(platform, project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['nobody'] }, reason: 'erasure', principal: admin });
  expect([...next.leftoverFiles].sort()).toEqual(pending.map((p) => p.file).sort());
  expect(pending.some((p) => existsSync(platform.lake.resolve(p.file)))).toBe(false);
  expect(await platform.metadata.purge.pendingDeletions()).toEqual([]);
  const audits = (await platform.metadata.audit.list()).filter((r) => r.action === 'purge.run' && r.outcome === 'succeeded');
  expect(audits.at(-1)?.details?.leftoverFiles).toBe(2);
  // Nothing unreferenced is left for gc.
  expect((await collectGarbage(platform, { minAgeMs: 0 })).flatMap((r) => r.files)).toEqual([]);
});

test('a purge stopped mid-run (a stopping scheduler) fails as INTERRUPTED in its run and audit records, not as the engine\'s INTERRUPT error; the next purge finishes it', async () => {
  const { platform, project } = await setup();
  const stopping = new AbortController();
  // Stopped once the source's lake is swapped: the derived table's lake step is a DuckDB statement the stop interrupts.
  const off = onTestPause('purge.lake-swapped', () => {
    off();
    stopping.abort(new InterruptedError('INTERRUPTED', 'the scheduler stopped before the run finished'));
  });
  const failed = await purgeRows(platform, project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c42'] }, reason: 'erasure', principal: admin, signal: stopping.signal }).catch((error: unknown) => error);
  expect(failed).toMatchObject({ code: 'INTERRUPTED' });
  expect((failed as Error).message).toMatch(/^purge of source "txns" stopped at its [a-z -]+ step: the scheduler stopped before the run finished; .*finishes it/);
  const run = (await platform.metadata.listRuns(10, { job: 'purge' }))[0]!;
  expect(run).toMatchObject({ status: 'failed', stats: { errorCode: 'INTERRUPTED' } });
  expect((await platform.metadata.audit.list()).filter((r) => r.action === 'purge.run').at(-1)).toMatchObject({ outcome: 'failed', details: { error: 'INTERRUPTED' } });
  expect((await platform.metadata.purge.unfinishedPurges()).map((u) => u.source)).toContain('txns');
  await purgeRows(platform, project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c42'] }, reason: 'erasure', principal: admin });
  expect(await platform.metadata.purge.unfinishedPurges()).toEqual([]);
  expect([...(await rowsOf(platform, 'big_txns')).values()].flat().some((r) => r.startsWith('c42'))).toBe(false);
});

test('a purge killed after removing rows from stores other than the lake: the run that finishes it audits them per store as resumed, and says which step was not counted', async () => {
  const { platform, project } = await setup();
  const erase = { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c42'] }, reason: 'erasure', principal: admin, owner: 'erase-7' } as const;
  // Killed at the online step: its lake swap, dead letters and check samples are done.
  const off = onTestPause('purge.online', () => {
    off();
    throw new Error('killed at the online step');
  });
  await expect(purgeRows(platform, project, erase)).rejects.toThrow('killed at the online step');
  expect(await platform.metadata.countDeadLetters('txns')).toBe(1);
  await purgeRows(platform, project, erase);
  const record = (await platform.metadata.audit.list()).filter((r) => r.action === 'purge.run' && r.outcome === 'succeeded').at(-1)!;
  type Resumed = { source: string; rows: number; stores?: { store: string; rows: number }[]; stoppedIn?: string; uncounted?: string };
  const resumed = (record.details as { resumed: Resumed[] }).resumed;
  const txns = resumed.find((u) => u.source === 'txns')!;
  expect(txns.rows).toBe(2);
  expect(txns.stores).toContainEqual(expect.objectContaining({ store: 'dead-letters:txns', rows: 1 }));
  expect(txns.stoppedIn).toBe('online');
  expect(txns.uncounted).toMatch(/online step/);
  // What the re-run removed itself is its own: the dead letter the killed run removed is not counted twice.
  expect((record.details as { stores: { store: string; rows: number }[] }).stores.find((s) => s.store === 'dead-letters:txns')?.rows).toBe(0);
  expect(await platform.metadata.purge.unfinishedPurges()).toEqual([]);
});

test.each([
  ['while its dead-letter step runs', 'online', 1],
  ['at the end of its lake step', 'quarantine and log', 0],
] as const)('a stop arriving %s: what the purge removed so far is recorded before it stops (the run that finishes it audits it), and its error, its unfinished purge and purge_unfinished name the same step', async (when, step, deadLetters) => {
  const { platform, project } = await setup();
  const erase = { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c42'] }, reason: 'erasure', principal: admin, owner: 'erase-9' } as const;
  const stopping = new AbortController();
  const stopNow = () => stopping.abort(new InterruptedError('INTERRUPTED', 'interrupted (SIGTERM)'));
  const store = platform.metadata.purge;
  const purgeDeadLetters = store.purgeDeadLetters.bind(store);
  // The dead-letter step is no engine statement a stop interrupts: it runs to its end once started.
  if (when.includes('dead-letter')) store.purgeDeadLetters = (...args) => purgeDeadLetters(...args).finally(stopNow);
  const off = when.includes('lake') ? onTestPause('purge.lake-done', stopNow) : () => true;
  const failed = await purgeRows(platform, project, { ...erase, signal: stopping.signal }).catch((error: unknown) => error);
  off();
  store.purgeDeadLetters = purgeDeadLetters;
  expect(failed).toMatchObject({ code: 'INTERRUPTED', details: { step } });
  expect((failed as Error).message).toContain(`stopped at its ${step} step`);
  const record = (await store.unfinishedPurges({ sources: ['txns'] }))[0]!;
  expect(record.step).toBe(step);
  expect(record.stores.find((s) => s.store === 'dead-letters:txns')?.rows ?? 0).toBe(deadLetters);
  const conditions = await platform.metadata.health.list({ firing: true, kind: 'purge_unfinished' });
  expect(conditions.map((c) => [c.subject, c.message.includes(`stopped at its ${step} step`)])).toEqual([['purge:big_txns', true], ['purge:txns', true]]);
  const report = await purgeRows(platform, project, erase);
  const resumed = report.resumed.find((u) => u.source === 'txns')!;
  expect(resumed.stoppedIn).toBe(step);
  expect(resumed.stores.find((s) => s.store === 'dead-letters:txns')?.rows ?? 0).toBe(deadLetters);
  // Removed by the stopped run, counted there: the finishing run counts only what it removed itself.
  expect(report.stores.find((s) => s.store === 'dead-letters:txns')?.rows).toBe(1 - deadLetters);
  // c1's dead letter (a bad time) stays.
  expect(await platform.metadata.countDeadLetters('txns')).toBe(1);
});

test('an unfinished purge is an unhealthy condition in sluice status naming the source and the command that finishes it, never while its purge still runs; cleared when finished', async () => {
  const { platform, project } = await setup();
  const erase = { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c42'] }, reason: 'erasure', principal: admin, owner: 'erase-8' } as const;
  // While the purge runs (held at its online step) its own record is no problem.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const atOnline = new Promise<void>((resolve) => (reached = resolve));
  const off = onTestPause('purge.online', async () => {
    reached();
    await held;
    throw new Error('killed at the online step');
  });
  const killed = purgeRows(platform, project, erase).catch((error: unknown) => error);
  await atOnline;
  expect((await healthStatus(platform, project)).conditions.filter((c) => c.kind === 'purge_unfinished')).toEqual([]);
  release();
  await killed;
  off();
  const status = await healthStatus(platform, project);
  const unfinished = status.conditions.filter((c) => c.kind === 'purge_unfinished');
  expect(unfinished.map((c) => [c.subject, c.severity])).toEqual([['purge:big_txns', 'error'], ['purge:txns', 'error']]);
  expect(unfinished.find((c) => c.subject === 'purge:txns')!.message).toMatch(/purge of "txns" \(erasure request erase-8\) stopped at its online step.*sluice erase/);
  expect(status.healthy).toBe(false);
  expect(status.problems.some((p) => p.startsWith('purge_unfinished purge:txns:'))).toBe(true);
  await purgeRows(platform, project, erase);
  expect((await healthStatus(platform, project)).conditions.filter((c) => c.kind === 'purge_unfinished')).toEqual([]);
});

test('two purges of one source at once both finish, one after the other, and leave no unfinished purge', async () => {
  const { platform, project } = await setup();
  const purge = (key: string, owner: string) => purgeRows(platform, project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: [key] }, reason: 'erasure', principal: admin, owner });
  const reports = await Promise.all([purge('c42', 'erase-a'), purge('c2', 'erase-b')]);
  expect(reports.map((r) => r.stores.find((s) => s.store === 'lake:txns')!.rows)).toEqual([2, 2]);
  expect(await platform.metadata.purge.unfinishedPurges()).toEqual([]);
  expect((await healthStatus(platform, project)).conditions.filter((c) => c.kind === 'purge_unfinished')).toEqual([]);
  expect([...(await rowsOf(platform, 'txns')).values()].flat().some((r) => r.startsWith('c42') || r.startsWith('c2@'))).toBe(false);
});

test('erasure also reaches held quarantined batches, the durable log and the serving log; other rows stay', async () => {
  const { platform, project } = await setup();
  const engine = await platform.engine();
  const staged = platform.lake.stagingPath('txns');
  await engine.run(`COPY (SELECT * FROM (VALUES ('c42', 'm1', 1.0, 1::BIGINT), ('c7', 'm1', 2.0, 2::BIGINT)) t(customer_id, merchant, amount, _ts)) TO ${literal(staged)} (FORMAT PARQUET)`);
  const held = await holdBatch(platform, { dataset: 'txns', origin: 'q.csv', staged, rows: 2, contentHash: 'q', results: [] });
  const log = await platform.log();
  await log.append('clicks', { ackTime: NOW, origin: 'push', events: ['{"customer_id":"c42","page":"/a","ts":"2024-02-01T00:00:00Z"}', '{"customer_id":"c1","page":"/b","ts":"2024-02-01T00:00:00Z"}'], rejected: [{ index: 2, raw: '{"customer_id":"c42","ts":', reason: 'bad json' }] });
  const served = join(platform.dataDir, 'serving-log', 'svc');
  mkdirSync(served, { recursive: true });
  const line = (key: string) => JSON.stringify({ requestId: 'r', service: 'svc', entityKey: key, keys: { customer_id: key }, asOf: '2024-02-01T00:00:00.000Z', servedAt: NOW, values: {}, statuses: {}, views: { stats: { definitionHash: 'h', snapshots: {} } } });
  writeFileSync(join(served, '2024-02-01T00.jsonl'), `${line('c42')}\n${line('c1')}\n{"requestId":"torn","entityKey":"c42`);
  writeFileSync(join(served, '2024-02-02T00.jsonl'), `${line('c1')}\n`);

  const erase = { match: { kind: 'keys', entity: 'customer', keys: ['c42'] } as const, reason: 'erasure', principal: admin };
  const report = await purgeRows(platform, project, { source: 'txns', ...erase });
  const streamed = await purgeRows(platform, project, { source: 'clicks', ...erase });
  const by = Object.fromEntries([...report.stores, ...streamed.stores].map((s) => [s.store, s]));
  expect(by['quarantine:txns']).toMatchObject({ rows: 1, filesRewritten: [held.file] });
  expect(by['log:clicks']).toMatchObject({ rows: 2 });
  expect(report.stores.find((s) => s.store === 'serving-log')).toMatchObject({ rows: 2, filesRewritten: [join('svc', '2024-02-01T00.jsonl')] });

  const kept = await engine.all<{ c: string }>(`SELECT customer_id AS c FROM read_parquet(${literal(join(platform.dataDir, held.file))})`);
  expect(kept.map((r) => r.c)).toEqual(['c7']);
  expect((await platform.metadata.quality.quarantined(held.id))?.rows).toBe(1);
  const entry = log.read('clicks', 0, 10)[0]!;
  expect([entry.events, entry.rejected]).toEqual([['{"customer_id":"c1","page":"/b","ts":"2024-02-01T00:00:00Z"}'], []]);
  expect(readFileSync(join(served, '2024-02-01T00.jsonl'), 'utf8')).toBe(`${line('c1')}\n`);
});

test('erasure removes a subject whose key the serving log writes JSON-escaped from a torn request line and from an unreadable row of a readable one', async () => {
  const { platform, project } = await setup();
  const served = join(platform.dataDir, 'serving-log', 'svc');
  mkdirSync(served, { recursive: true });
  const head = (id: string) => `{"requestId":"${id}","service":"svc","joinKeys":["customer_id"],"asOf":"2024-02-01T00:00:00.000Z","servedAt":${NOW},"views":{"stats":{"definitionHash":"h","snapshots":{}}},"columns":"0123456789abcdef","rows":[`;
  const q = JSON.stringify('a"b');
  const b = JSON.stringify('a\\b');
  const lines = [
    '{"columns":"0123456789abcdef","names":["stats__n"]}',
    `${head('r1')}[${q},[1]],[${b},[2]],["c9",[`,
    `${head('r2')}[${q},[3],"?"],["c9",[4]]]}`,
  ];
  const file = join(served, '2024-02-01T00.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const erase = (key: string) => purgeRows(platform, project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: [key] }, reason: 'erasure', principal: admin });
  const servedRows = (report: Awaited<ReturnType<typeof erase>>) => report.stores.find((s) => s.store === 'serving-log')?.rows;
  expect(servedRows(await erase('a\\b'))).toBe(1);
  expect(readFileSync(file, 'utf8')).toBe(`${lines[0]}\n${lines[2]}\n`);
  expect(servedRows(await erase('a"b'))).toBe(1);
  const left = readFileSync(file, 'utf8');
  expect(left).toBe(`${lines[0]}\n${head('r2')}["c9",[4]]]}\n`);
  expect(left.includes(q) || left.includes(b)).toBe(false);
});

test('temporaries a killed purge left beside a rewritten dataset or quarantined batch are removed by gc once their writer is gone', async () => {
  const { platform, dir } = await setup();
  const engine = await platform.engine();
  const staged = platform.lake.stagingPath('txns');
  await engine.run(`COPY (SELECT 'c42' AS customer_id, 1::BIGINT AS _ts) TO ${literal(staged)} (FORMAT PARQUET)`);
  const held = await holdBatch(platform, { dataset: 'txns', origin: 'q.csv', staged, rows: 1, contentHash: 'q2', results: [] });
  // A dataset whose build run is no longer in the run history: only its record names it.
  await platform.metadata.recordDataset({ ...(await platform.metadata.listDatasets(1))[0]!, id: 'other', path: join(dir, 'elsewhere', 'd.csv') });
  mkdirSync(join(dir, 'elsewhere'));
  // Written by a process that is gone (an old-style tag: a pid alone).
  const left = [`${join(platform.dataDir, held.file)}.tmp-4194303`, `${join(dir, 'out', 'train.csv')}.tmp-4194303`, `${join(dir, 'elsewhere', 'd.csv')}.tmp-4194303`];
  for (const file of left) writeFileSync(file, 'partial');
  const collected = (await collectGarbage(platform, { minAgeMs: 0 })).flatMap((r) => r.files);
  expect(collected).toEqual(expect.arrayContaining(left));
  expect(left.filter((f) => existsSync(f))).toEqual([]);
});
