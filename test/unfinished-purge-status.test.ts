import { afterEach, expect, test } from 'vitest';
import { batchSource, defineProject, entity } from '../src/definitions/index.js';
import { PURGE_UNFINISHED, reportUnfinishedPurges } from '../src/compliance/purge/unfinished-purge-status.js';
import { tempPlatform } from './support/temp-platform.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [] });
const NOW = Date.parse('2024-03-01T00:00:00Z');

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

// A purge whose lake lost no row (the subject was only in dead letters, the serving log, ...) records its progress with 0 lake rows.
test.each([
  ['dead-letter', ['dead letters', 'online views', 'serving log', 'training datasets'], ['quarantine', 'durable log']],
  ['dataset', ['training datasets'], ['dead letters', 'online views', 'serving log', 'served']],
] as const)('purge_unfinished for a purge stopped at its %s step that removed no lake row says what is left, never "0 lake row(s) are removed"', async (step, left, done) => {
  const t = await tempPlatform(spec, NOW);
  cleanup.push(t.dispose);
  await t.platform.metadata.purge.recordPurgeProgress({ source: 'txns', owner: 'erase-1', reason: 'erasure', at: NOW, step, stores: [{ store: 'dead-letters:txns', rows: 1, bytes: 90 }] });
  expect(await reportUnfinishedPurges(t.platform)).toBe(1);
  const [condition] = await t.platform.metadata.health.list({ firing: true, kind: PURGE_UNFINISHED });
  expect(condition).toMatchObject({ subject: 'purge:txns', severity: 'error', details: { step, rows: 0 } });
  const message = condition!.message;
  expect(message).toMatch(new RegExp(`^purge of "txns" \\(erasure request erase-1\\) stopped at its ${step} step at 2024-03-01T00:00:00.000Z: it removed no lake row`));
  expect(message).not.toMatch(/0 lake row|what it removed may still be served/);
  for (const store of left) expect(message).toContain(store);
  for (const store of done) expect(message).not.toContain(store);
  expect(message).toContain('sluice erase');
});
