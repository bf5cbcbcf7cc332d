import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openPlatform } from '../src/platform.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { sluiceOk } from './support/cli.js';
import { sluiceKilledAt } from './support/killed-cli.js';

// `sluice ingest` killed (SIGKILL) after claiming its file's event ids and before committing:
// the claims die with it, so a push of one of those ids is accepted (the file is stored nowhere).
// Events of the last hour: within the source's allowed lateness when pushed.
const TS = new Date(Date.now() - 3_600_000).toISOString();
let root: string;
let dir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-ingest-claims-'));
  sluiceOk(root, 'init', 'p');
  dir = join(root, 'p');
  writeFileSync(join(dir, 'sluice.config.ts'), `import { defineProject, entity, streamSource, featureView, count } from 'sluice';
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({ name: 'payments', schema: { payment_id: 'string', account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', eventId: 'payment_id', allowedLateness: '30d' });
const stats = featureView({ name: 'pay_stats', entity: account, source: payments, features: { n: count() } });
export default defineProject({ name: 'claims', entities: [account], sources: [payments], featureViews: [stats] });
`);
  sluiceOk(dir, 'apply');
  writeFileSync(join(root, 'claim.csv'), ['payment_id,account_id,amount,ts', ...Array.from({ length: 50 }, (_, i) => `cm${i},a${i % 5},${i},${TS}`)].join('\n'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('an ingest killed between claiming its ids and committing: a push of one of its ids is accepted, not answered a duplicate stored nowhere', async () => {
  await sluiceKilledAt(dir, 'ingest.ids-claimed', 'ingest', 'payments', join(root, 'claim.csv'));
  const platform = openPlatform({ projectDir: dir });
  try {
    expect(await platform.metadata.latestSnapshot('payments')).toBeUndefined();
    const project = await platform.project();
    const runtime = await startStreamRuntime(platform, { project: () => project, commitIntervalMs: 3_600_000 });
    try {
      const pushed = await runtime.processor.append('payments', { texts: [`{"payment_id": "cm3", "account_id": "a3", "amount": 5, "ts": "${TS}"}`] }, 'push');
      expect(pushed).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    } finally {
      await runtime.close();
    }
  } finally {
    await platform.close();
  }
});
