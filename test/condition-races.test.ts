import { afterEach, beforeEach, expect, test } from 'vitest';
import { count, defineProject, entity, featureView, streamSource } from '../src/definitions/index.js';
import { openPlatform, type Platform } from '../src/platform.js';
import { reportConnectorIncident, reportSchemaChange, schemaChangeParts, DATA_LOST } from '../src/observability/status/index.js';
import { endReplayRefusals, REPLAY_REFUSED } from '../src/observability/status/end-replay-refusals.js';
import { materialize } from '../src/processing/materialize.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const payments = streamSource({ name: 'payments', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const spec = defineProject({ name: 'p', entities: [customer], sources: [payments], featureViews: [featureView({ name: 'stats', entity: customer, source: payments, features: { n: count() } })] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
/** A second process's handle on the same metadata file. */
let other: Platform;
beforeEach(async () => {
  env = await tempPlatform(spec, T0);
  other = openPlatform({ projectDir: env.dir, now: () => env.clock.now, threads: 1, projectSpec: spec });
});
afterEach(async () => {
  await other.close();
  await env.dispose();
});

test('two processes reporting parts of one schema_changed at once both keep their part (no lost update)', async () => {
  const source = env.project.sources.find((s) => s.name === 'payments')!;
  await Promise.all([
    reportSchemaChange(env.platform, source, 'exports/day-12.csv', { missing: ['amount'], retyped: [] }, 'ingest'),
    reportSchemaChange(other, source, 'of 3 event(s) from natsJetStream', { missing: [], retyped: ['amount'] }, 'natsJetStream'),
  ]);
  expect(Object.keys(await schemaChangeParts(env.platform, 'payments')).sort()).toEqual(['ingest', 'natsJetStream']);
  // Each way in ends only its own part, however the two interleave.
  await Promise.all([
    reportSchemaChange(env.platform, source, 'exports/day-13.csv', { missing: [], retyped: [] }, 'ingest'),
    reportSchemaChange(other, source, 'of 2 event(s) from push', { missing: [], retyped: ['amount'] }, 'push'),
  ]);
  expect(Object.keys(await schemaChangeParts(other, 'payments')).sort()).toEqual(['natsJetStream', 'push']);
});

test('two processes recording data loss at once: the lost sequences of both gaps are counted', async () => {
  await Promise.all([
    reportConnectorIncident(env.platform, 'payments', { kind: 'lost', from: 4, to: 8, message: 'sequences 4-8 were removed' }),
    reportConnectorIncident(other, 'payments', { kind: 'lost', from: 20, to: 21, message: 'sequences 20-21 were removed' }),
  ]);
  const [lost] = await env.platform.metadata.health.list({ kind: DATA_LOST });
  expect(lost?.details).toMatchObject({ lostSequences: 7 });
  expect((lost?.details?.ranges as { from: number }[]).map((r) => r.from).sort((a, b) => a - b)).toEqual([4, 20]);
});

test('a replay refusal another process reports while sluice status ends an older one stays firing (the end is checked in its own transaction)', async () => {
  await materialize(env.platform, env.project);
  const generation = (await (await env.platform.online()).viewInfo('stats'))!.generation;
  const refusal = (entry: number) => ({
    kind: REPLAY_REFUSED, subject: 'view:stats', firing: true, severity: 'warn' as const, message: `log entry ${entry} refused`,
    details: { source: 'payments', entry, generation, events: 1, reason: 'amount is not an int64' },
  });
  // Entry 1 is not in the log (trimmed): that refusal is over.
  await env.platform.metadata.health.report(refusal(1), T0);
  // The other process's stream runtime reports a new refusal (entry 5, of the table served now) in
  // the gap between status reading the conditions and ending the one it judged over.
  const status = new Proxy(env.platform, {
    get(target, name, receiver) {
      if (name === 'online') {
        return async () => {
          await other.metadata.health.report(refusal(5), T0 + 1);
          return target.online();
        };
      }
      const value: unknown = Reflect.get(target, name, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  expect(await endReplayRefusals(status, env.project)).toBe(0);
  const [condition] = await env.platform.metadata.health.list({ kind: REPLAY_REFUSED });
  expect([condition?.firing, condition?.details?.entry]).toEqual([true, 5]);
  // Judged by itself, entry 5 is over once trimmed too.
  expect(await endReplayRefusals(env.platform, env.project)).toBe(1);
  expect((await env.platform.metadata.health.list({ kind: REPLAY_REFUSED }))[0]?.firing).toBe(false);
});
