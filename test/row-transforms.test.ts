import { describe, expect, test } from 'vitest';
import { compileProject, count, defineProject, entity, featureView, streamSource, sum, type Project } from '../src/definitions/index.js';
import { materialize } from '../src/processing/materialize.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({
  name: 'payments', timestamp: 'ts', eventId: 'payment_id',
  schema: { payment_id: 'string', account_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' },
});
const spec = (channel: string, factor: number) =>
  defineProject({
    name: 'p', entities: [account], sources: [payments],
    featureViews: [featureView({
      name: 'card', entity: account, source: payments, filter: `channel = '${channel}'`,
      columns: { usd: { type: 'float64', sql: `amount * ${factor}` } }, features: { n: count(), total: sum('usd') },
    })],
  });
const event = (id: string, amount: number, channel: string, minutes: number) =>
  JSON.stringify({ payment_id: id, account_id: 'a', amount, channel, ts: new Date(T0 + minutes * 60_000).toISOString() });

describe('row transforms across a definition change', () => {
  test('events reach a table under its own definition: an older table keeps its filter and derived columns until materialize builds the new one', async () => {
    const v1 = compileProject(spec('pos', 2));
    const v2 = compileProject(spec('web', 3));
    const env = await tempPlatform(spec('pos', 2), T0 + 60 * 60_000);
    let project: Project = v1;
    const runtime = await startStreamRuntime(env.platform, { project: () => project, commitIntervalMs: 3_600_000 });
    const values = async (as: Project) => {
      const res = await getOnlineFeatures(as, await env.platform.online(), { entities: { account_id: ['a'] }, features: ['card:n', 'card:total'] }, env.clock.now, await latestSnapshots(env.platform.metadata, as));
      return { row: res.rows[0], status: res.metadata[0]!.status };
    };
    try {
      await materialize(env.platform, v1);
      await runtime.processor.append('payments', { texts: [event('e1', 10, 'pos', 1), event('e2', 5, 'web', 2)] }, 'push');
      expect((await values(v1)).row).toMatchObject({ card__n: 1, card__total: 20 });
      // v2 is applied: new events still reach the served (v1) table under v1's transforms.
      project = v2;
      await env.platform.metadata.recordRegistry(v2);
      await runtime.processor.append('payments', { texts: [event('e3', 1, 'web', 3), event('e4', 4, 'pos', 4)] }, 'push');
      expect((await values(v1)).row).toMatchObject({ card__n: 2, card__total: 28 });
      // Materializing v2 builds its table from every event under v2's transforms; pushes then follow v2.
      await runtime.commitNow();
      await materialize(env.platform, v2);
      expect((await values(v2)).row).toMatchObject({ card__n: 2, card__total: 18 });
      await runtime.processor.append('payments', { texts: [event('e5', 2, 'web', 5), event('e6', 100, 'pos', 6)] }, 'push');
      expect(await values(v2)).toMatchObject({ row: { card__n: 3, card__total: 24 }, status: ['PRESENT', 'PRESENT'] });
    } finally {
      await runtime.close();
      await env.dispose();
    }
  });
});
