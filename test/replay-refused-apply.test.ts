import { afterEach, expect, test } from 'vitest';
import { compileProject, count, defineProject, entity, featureView, streamSource } from '../src/definitions/index.js';
import { materialize } from '../src/processing/materialize.js';
import type { OnlineStore } from '../src/storage/online/online-store.js';
import { StreamProcessor, type ReplayRefusal } from '../src/streaming/stream-processor.js';
import { tempPlatform } from './support/temp-platform.js';

// `replay_refused` records that an online table leaves a log entry's events out. It is reported
// once the table's update with that entry lands: a replay whose update fails (the store refused
// the write, the process stopped) leaves nothing out yet, and the entry is replayed again later,
// when it may be accepted (the definitions or the rule were fixed meanwhile): no refusal stays
// behind that the table does not hold.
const T0 = Date.parse('2024-01-01T00:00:00Z');
const NOW = T0 + 3_600_000;
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = (amount: 'int64' | 'float64') => streamSource({ name: 'payments', schema: { payment_id: 'string', account_id: 'string', amount, ts: 'timestamp' }, timestamp: 'ts', eventId: 'payment_id' });
const spec = (amount: 'int64' | 'float64') => {
  const source = payments(amount);
  return defineProject({ name: 'p', entities: [account], sources: [source], featureViews: [featureView({ name: 'stats', entity: account, source, features: { n: count() } })] });
};

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

test('a replay refusal is reported only once the table\'s update lands: a later replay that accepts the entry leaves no replay_refused behind', async () => {
  const env = await tempPlatform(spec('int64'), NOW);
  cleanup.push(() => env.dispose());
  await materialize(env.platform, env.project);
  const fixed = compileProject(spec('float64'));
  const real = await env.platform.online();
  let failNext = false;
  // The real store, whose next update fails once (as a write the store refuses, or a process stopped before it).
  const online = new Proxy(real, {
    get(target, name, receiver) {
      if (name === 'update') {
        return (...args: Parameters<OnlineStore['update']>) => {
          if (failNext) {
            failNext = false;
            return Promise.reject(new Error('the online store refused the write'));
          }
          return target.update(...args);
        };
      }
      const value: unknown = Reflect.get(target, name, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as OnlineStore;
  const refusals: ReplayRefusal[] = [];
  const warnings: string[] = [];
  const engine = await env.platform.newEngine(1);
  cleanup.push(() => engine.close());
  const processor = new StreamProcessor({ project: () => env.project, log: await env.platform.log(), online, engine, now: () => NOW, onReplayRefused: (r) => refusals.push(r), warn: (m) => warnings.push(m) });
  const log = await env.platform.log();
  await log.append('payments', { ackTime: T0 + 600_000, origin: 'push', events: [JSON.stringify({ payment_id: 'p1', account_id: 'a1', amount: 1.5, ts: new Date(T0 + 60_000).toISOString() })], ids: ['p1'], rejected: [] });
  const source = (project: typeof env.project) => project.sources.find((s) => s.name === 'payments')!;

  failNext = true;
  await expect(processor.applyOnline(env.project, source(env.project), 1, NOW, undefined)).rejects.toThrow(/refused the write/);
  expect((await real.viewInfo('stats'))!.applied?.payments ?? 0).toBe(0);
  // Replayed again once the definitions accept the event: the table holds it, and no refusal was recorded.
  await processor.applyOnline(fixed, source(fixed), 1, NOW, undefined);
  expect((await real.viewInfo('stats'))!.applied?.payments).toBe(1);
  expect([refusals, warnings]).toEqual([[], []]);

  // A refusal whose update lands is reported, with the table that leaves the event out.
  await log.append('payments', { ackTime: T0 + 660_000, origin: 'push', events: [JSON.stringify({ payment_id: 'p2', account_id: 'a1', amount: 2.5, ts: new Date(T0 + 120_000).toISOString() })], ids: ['p2'], rejected: [] });
  await processor.applyOnline(env.project, source(env.project), 2, NOW, undefined);
  expect(refusals.map((r) => [r.view, r.entry, r.generation])).toEqual([['stats', 2, (await real.viewInfo('stats'))!.generation]]);
  expect(warnings).toEqual([expect.stringMatching(/^view "stats": 1 event\(s\) of log entry 2 of source "payments"/)]);
});
