import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { tempPlatform } from './support/temp-platform.js';

// What a job's time limit or a stopping process does to a materialize: it interrupts the engine.
// A stream cut by an interrupt must fail the materialize, never be taken for all the view's rows.
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [stats] });
const NOW = Date.parse('2024-03-01T00:00:00Z');
const ENTITIES = 20_000;

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

test('a materialize whose engine is interrupted after the first chunk of its scan fails, and the table served before keeps serving whole', async () => {
  const t = await tempPlatform(spec, NOW);
  cleanup.push(t.dispose);
  const rows = Array.from({ length: ENTITIES }, (_, i) => `c${String(i).padStart(6, '0')},1,2024-01-01T00:00:00Z`);
  writeFileSync(join(t.dir, 'a.csv'), `customer_id,amount,ts\n${rows.join('\n')}\n`);
  await ingestFile(t.platform, t.project, 'txns', join(t.dir, 'a.csv'));
  await materialize(t.platform, t.project);
  const online = await t.platform.online();
  const before = (await online.viewInfo('stats'))!;
  expect(before.entityCount).toBe(ENTITIES);

  const engine = await t.platform.engine();
  cleanup.push(onTestPause('materialize.chunk-read:stats', () => engine.interrupt()));
  await expect(materialize(t.platform, t.project)).rejects.toThrow(/interrupted/i);
  const after = (await online.viewInfo('stats'))!;
  expect(after.generation).toBe(before.generation);
  expect(after.entityCount).toBe(ENTITIES);
  expect((await online.read('stats', [`c${String(ENTITIES - 1).padStart(6, '0')}`])).states[0]).toBeDefined();
});
