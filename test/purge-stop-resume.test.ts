import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { purgeRows } from '../src/compliance/purge/index.js';
import { InterruptedError } from '../src/errors.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { admin, NOW, purgeFixture, rowsOf } from './support/purge-fixture.js';

// A purge stopped, then run again and stopped again: what each record and condition says is the latest run's.
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

test('a re-run stopped in its lake step: its error, its unfinished purge, purge_unfinished and the run that finishes it name its lake step, not the earlier run\'s', async () => {
  const { platform, project, dir } = await purgeFixture(cleanup);
  const erase = { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c42'] }, reason: 'erasure', principal: admin, owner: 'erase-11' } as const;
  const killed = onTestPause('purge.online', () => {
    killed();
    throw new Error('killed at the online step');
  });
  await expect(purgeRows(platform, project, erase)).rejects.toThrow('killed at the online step');
  expect((await platform.metadata.purge.unfinishedPurges({ sources: ['txns'] }))[0]!.step).toBe('online');
  // New rows of the subject: the re-run's lake step removes rows whose later steps the earlier run never did.
  writeFileSync(join(dir, 'again.csv'), 'customer_id,merchant,amount,ts\nc42,m1,70,2024-02-25T00:00:00Z\nc3,m1,4,2024-02-25T00:00:00Z\n');
  await ingestFile(platform, project, 'txns', join(dir, 'again.csv'));
  const stopping = new AbortController();
  // Stopped once the source's lake is swapped: the derived table's lake step is a DuckDB statement the stop interrupts.
  const swapped = onTestPause('purge.lake-swapped', () => {
    swapped();
    stopping.abort(new InterruptedError('INTERRUPTED', 'interrupted (SIGINT)'));
  });
  const failed = await purgeRows(platform, project, { ...erase, signal: stopping.signal }).catch((error: unknown) => error);
  expect(failed).toMatchObject({ code: 'INTERRUPTED', details: { step: 'lake' } });
  const record = (await platform.metadata.purge.unfinishedPurges({ sources: ['txns'] }))[0]!;
  expect(record).toMatchObject({ step: 'lake', rows: 3 });
  // What the earlier run's finished steps removed is still counted.
  expect(record.stores).toContainEqual(expect.objectContaining({ store: 'dead-letters:txns', rows: 1 }));
  const conditions = await platform.metadata.health.list({ firing: true, kind: 'purge_unfinished' });
  const txns = conditions.find((c) => c.subject === 'purge:txns')!;
  expect(txns.message).toContain('stopped at its lake step');
  expect(txns.message).toContain('3 lake row(s) are removed');
  expect(txns.message).toContain('held quarantined batches');
  expect(txns.details).toMatchObject({ step: 'lake' });
  const report = await purgeRows(platform, project, erase);
  expect(report.resumed.find((u) => u.source === 'txns')).toMatchObject({ stoppedIn: 'lake', rows: 3 });
  expect(await platform.metadata.purge.unfinishedPurges()).toEqual([]);
  expect([...(await rowsOf(platform, 'txns')).values(), ...(await rowsOf(platform, 'big_txns')).values()].flat().some((r) => r.startsWith('c42'))).toBe(false);
});

test('a stop during the serving-log step is met after the file being rewritten: the rows removed so far are recorded, its error and purge_unfinished name the step, and the run that finishes it counts them as resumed', async () => {
  const { platform, project } = await purgeFixture(cleanup);
  const served = join(platform.dataDir, 'serving-log', 'svc');
  mkdirSync(served, { recursive: true });
  const line = (key: string) => JSON.stringify({ requestId: 'r', service: 'svc', entityKey: key, keys: { customer_id: key }, asOf: '2024-02-01T00:00:00.000Z', servedAt: NOW, values: {}, statuses: {}, views: { stats: { definitionHash: 'h', snapshots: {} } } });
  const files = ['2024-02-01T00.jsonl', '2024-02-02T00.jsonl'].map((name) => join(served, name));
  for (const file of files) writeFileSync(file, `${line('c42')}\n${line('c1')}\n`);
  const erase = { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c42'] }, reason: 'erasure', principal: admin, owner: 'erase-12' } as const;
  const stopping = new AbortController();
  const off = onTestPause('purge.serving-log-file', () => {
    off();
    stopping.abort(new InterruptedError('INTERRUPTED', 'interrupted (SIGTERM)', { details: { signal: 'SIGTERM' } }));
  });
  const failed = await purgeRows(platform, project, { ...erase, signal: stopping.signal }).catch((error: unknown) => error);
  off();
  expect(failed).toMatchObject({ code: 'INTERRUPTED', details: { step: 'serving-log', signal: 'SIGTERM' } });
  const holding = () => files.filter((f) => readFileSync(f, 'utf8').includes('"c42"'));
  expect(holding()).toHaveLength(1);
  const record = (await platform.metadata.purge.unfinishedPurges({ sources: ['txns'] }))[0]!;
  expect(record.step).toBe('serving-log');
  expect(record.stores).toContainEqual(expect.objectContaining({ store: 'serving-log', rows: 1 }));
  const condition = (await platform.metadata.health.list({ firing: true, kind: 'purge_unfinished' })).find((c) => c.subject === 'purge:txns')!;
  expect(condition.message).toContain('stopped at its serving-log step');
  const report = await purgeRows(platform, project, erase);
  expect(report.resumed.find((u) => u.source === 'txns')).toMatchObject({ stoppedIn: 'serving-log', stores: expect.arrayContaining([expect.objectContaining({ store: 'serving-log', rows: 1 })]) });
  expect(report.stores.find((s) => s.store === 'serving-log')).toMatchObject({ rows: 1 });
  expect(holding()).toEqual([]);
  for (const file of files) expect(readFileSync(file, 'utf8')).toBe(`${line('c1')}\n`);
});
