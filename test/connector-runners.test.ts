import { afterEach, beforeEach, expect, test } from 'vitest';
import { count, defineProject, entity, featureView, natsJetStream, streamSource } from '../src/definitions/index.js';
import type { AppendOutcome, StartConnector } from '../src/ingest/connectors/connector.js';
import { openPlatform } from '../src/platform.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { tempPlatform } from './support/temp-platform.js';
import { until } from './support/webhook-receiver.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const payments = streamSource({
  name: 'payments', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts',
  connector: natsJetStream({ servers: 'nats://127.0.0.1:1', stream: 'PAYMENTS', subject: 'payments.>' }),
});
const stats = featureView({ name: 'stats', entity: customer, source: payments, features: { n: count() } });
const spec = defineProject({ name: 'p', entities: [customer], sources: [payments], featureViews: [stats] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(spec, T0);
});
afterEach(async () => {
  await env.dispose();
});

const event = (i: number) => `{"customer_id": "c${i}", "amount": ${i}, "ts": "2024-01-01T00:00:00Z"}`;

test('two processes running one connector never both append what they read after the same position: the second is refused and resumes from the stored one', async () => {
  // Each reads the stored position, then appends the upstream messages after it, as a connector does.
  const outcomes: Promise<AppendOutcome>[] = [];
  const reads: (string | undefined)[] = [];
  let bothRead!: () => void;
  const readsBoth = new Promise<void>((resolve) => (bothRead = resolve));
  const connector: StartConnector = async (_source, sink) => {
    reads.push(await sink.position());
    if (reads.length === 2) bothRead();
    void readsBoth.then(() => outcomes.push(sink.append([event(1), event(2)], '2')));
    return { status: () => ({ source: 'payments', kind: 'natsJetStream', state: 'running', received: 0 }), stop: async () => undefined };
  };
  const other = openPlatform({ projectDir: env.dir, now: () => env.clock.now, threads: 1, projectSpec: spec });
  const first = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000, connectors: { natsJetStream: connector } });
  const second = await startStreamRuntime(other, { project: () => env.project, commitIntervalMs: 3_600_000, connectors: { natsJetStream: connector } });
  try {
    await readsBoth;
    await until(async () => outcomes.length === 2, 'both appends');
    const settled = await Promise.allSettled(outcomes);
    expect(reads).toEqual([undefined, undefined]);
    expect(settled.filter((s) => s.status === 'fulfilled').map((s) => (s as PromiseFulfilledResult<AppendOutcome>).value.accepted)).toEqual([2]);
    expect(settled.filter((s) => s.status === 'rejected').map((s) => (s as PromiseRejectedResult).reason.code)).toEqual(['CONFLICT']);
    const log = await env.platform.log();
    expect(log.read('payments', 0, 10).flatMap((e) => e.events)).toHaveLength(2);
    expect(log.position('payments', 'natsJetStream')).toBe('2');
  } finally {
    await second.close();
    await first.close();
    await other.close();
  }
});
