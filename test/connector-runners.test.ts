import { hostname } from 'node:os';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { count, defineProject, entity, featureView, natsJetStream, streamSource } from '../src/definitions/index.js';
import type { AppendOutcome, StartConnector } from '../src/ingest/connectors/connector.js';
import { openPlatform, type Platform } from '../src/platform.js';
import { connectorLeaseName } from '../src/streaming/connector-leases.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { SluiceMetrics } from '../src/observability/metrics.js';
import { CONNECTOR_UNOWNED, connectorUnownedWatch, healthStatus } from '../src/observability/status/index.js';
import { storeMetrics } from '../src/observability/store-metrics.js';
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
const TTL_MS = 600;
const LEASE = connectorLeaseName('payments');

let env: Awaited<ReturnType<typeof tempPlatform>>;
let other: Platform;
const runtimes: StreamRuntime[] = [];
beforeEach(async () => {
  env = await tempPlatform(spec, T0);
  other = openPlatform({ projectDir: env.dir, now: () => env.clock.now, threads: 1, projectSpec: spec });
});
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.close();
  await other.close();
  await env.dispose();
});

const event = (i: number) => `{"customer_id": "c${i}", "amount": ${i}, "ts": "2024-01-01T00:00:00Z"}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One start of the connector in one process: what it appended, and whether and when it stopped. */
interface Run {
  readonly process: string;
  readonly startedAt: number;
  accepted: number;
  duplicates: number;
  conflicts: number;
  stoppedAt?: number;
}

/**
 * A connector over an in-memory upstream (positions are indexes into `upstream`), as the real ones
 * behave: resume after the stored position, append in batches with the new position, re-read the
 * position after a refused (CONFLICT) append, and on `stop` finish the append in flight.
 */
function upstreamConnector(upstream: readonly string[], runs: Run[], process: string): StartConnector {
  return async (_source, sink) => {
    const run: Run = { process, startedAt: Date.now(), accepted: 0, duplicates: 0, conflicts: 0 };
    runs.push(run);
    let stopping = false;
    const loop = (async () => {
      let after = Number((await sink.position()) ?? 0);
      while (!stopping) {
        const next = upstream.slice(after, after + 5);
        if (next.length > 0) {
          try {
            const outcome = await sink.append(next, String(after + next.length));
            run.accepted += outcome.accepted;
            run.duplicates += outcome.duplicates;
            after += next.length;
          } catch (error) {
            if ((error as { code?: string }).code !== 'CONFLICT') throw error;
            run.conflicts++;
            after = Number((await sink.position()) ?? 0);
          }
        }
        await sleep(3);
      }
    })();
    return {
      status: () => ({ source: 'payments', kind: 'natsJetStream', state: 'running', received: run.accepted }),
      stop: async () => {
        stopping = true;
        await loop;
        run.stoppedAt = Date.now();
      },
    };
  };
}

async function runtimeOf(platform: Platform, connector: StartConnector, ttlMs = TTL_MS): Promise<StreamRuntime> {
  const runtime = await startStreamRuntime(platform, { project: () => env.project, commitIntervalMs: 3_600_000, connectorLeaseTtlMs: ttlMs, connectors: { natsJetStream: connector } });
  runtimes.push(runtime);
  return runtime;
}

/** Every event the log holds, in order. */
async function logged(): Promise<string[]> {
  return (await env.platform.log()).read('payments', 0, 100_000).flatMap((e) => e.events);
}

const publish = (upstream: string[], from: number, to: number) => {
  for (let i = from; i < to; i++) upstream.push(event(i));
};

test('two runtimes on one project: one runs the connector, the other stands by naming the holder; a clean stop hands it over at once; every event once', async () => {
  const upstream: string[] = [];
  const runs: Run[] = [];
  const first = await runtimeOf(env.platform, upstreamConnector(upstream, runs, 'first'));
  const second = await runtimeOf(other, upstreamConnector(upstream, runs, 'second'));
  publish(upstream, 0, 40);
  await until(async () => (await logged()).length === 40, '40 events in the log');
  await sleep(TTL_MS);
  expect(runs.map((r) => r.process)).toEqual(['first']);
  expect(first.status()[0]!.runner).toMatchObject({ role: 'active', holder: { pid: process.pid }, ttlMs: TTL_MS });
  expect(first.status()[0]!.connector?.state).toBe('running');
  const standby = second.status()[0]!;
  expect(standby.runner).toMatchObject({ role: 'standby', holder: { pid: process.pid, since: first.status()[0]!.runner!.holder!.since } });
  expect(standby.connector).toBeUndefined();
  const held = (await env.platform.metadata.listLeases()).find((l) => l.name === LEASE)!;
  // Renewed while it runs: it never lapses.
  expect(held.expiresAt).toBeGreaterThan(Date.now());

  const closing = first.close();
  runtimes.splice(runtimes.indexOf(first), 1);
  await closing;
  const closedAt = Date.now();
  expect(runs[0]!.stoppedAt).toBeLessThanOrEqual(closedAt);
  publish(upstream, 40, 80);
  await until(async () => (await logged()).length === 80, '80 events in the log');
  expect(runs.map((r) => r.process)).toEqual(['first', 'second']);
  expect(second.status()[0]!.runner?.role).toBe('active');
  expect(await logged()).toEqual(upstream);
  // An entry is in the log a moment before its append answers the connector.
  const answered = () => runs.map(({ accepted, duplicates, conflicts }) => accepted + duplicates + conflicts);
  await until(async () => answered().reduce((a, b) => a + b, 0) >= 80, 'every append answered');
  expect(answered()).toEqual([40, 40]);
  expect(runs[1]!.startedAt).toBeGreaterThanOrEqual(runs[0]!.stoppedAt!);
});

test('a holder that cannot renew its lease stops its connector before the lease expires; the standby takes over once it is free; every event once', async () => {
  const upstream: string[] = [];
  const runs: Run[] = [];
  const renew = env.platform.metadata.renewLease.bind(env.platform.metadata);
  let failing = false;
  let lastExpiry = 0;
  env.platform.metadata.renewLease = async (...args) => {
    if (failing && args[0] === LEASE) throw new Error('the metadata store is unreachable');
    const lease = await renew(...args);
    if (args[0] === LEASE && lease !== undefined) lastExpiry = lease.expiresAt;
    return lease;
  };
  // A longer ttl: the holder stops at half of it, and its stop must end before the rest runs out on a loaded machine.
  const first = await runtimeOf(env.platform, upstreamConnector(upstream, runs, 'first'), 3_000);
  const second = await runtimeOf(other, upstreamConnector(upstream, runs, 'second'), 3_000);
  // The lease as taken (renewals, recorded above, move it on).
  lastExpiry = Math.max(lastExpiry, (await env.platform.metadata.listLeases()).find((l) => l.name === LEASE)!.expiresAt);
  publish(upstream, 0, 30);
  await until(async () => (await logged()).length === 30, '30 events in the log');
  failing = true;
  publish(upstream, 30, 60);
  await until(async () => runs[0]!.stoppedAt !== undefined, 'the first runner stopped its connector');
  // Stopped while its lease (as it last renewed it) still held: no other runner could have started meanwhile.
  expect(lastExpiry).toBeGreaterThan(0);
  expect(runs[0]!.stoppedAt!).toBeLessThan(lastExpiry);
  await until(async () => first.status()[0]!.runner?.role === 'standby', 'the first runtime stands by');
  publish(upstream, 60, 90);
  await until(async () => (await logged()).length === 90, '90 events in the log');
  expect(runs.map((r) => r.process)).toEqual(['first', 'second']);
  // The standby started only once the holder's connector had stopped (it released the lease then).
  expect(runs[1]!.startedAt).toBeGreaterThanOrEqual(runs[0]!.stoppedAt!);
  expect(second.status()[0]!.runner?.role).toBe('active');
  expect(first.status()[0]!.connector).toBeUndefined();
  expect(await logged()).toEqual(upstream);
});

test('a runner whose lease another process took stops at its next renewal; if the two overlap, the position check refuses the stale append and nothing is stored twice', async () => {
  const upstream: string[] = [];
  publish(upstream, 0, 2);
  // The first runner reads the position, then waits for the test before it appends what it read.
  const outcomes: Promise<AppendOutcome>[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let firstStopped = false;
  const stale: StartConnector = async (_source, sink) => {
    const after = await sink.position();
    const appended = gate.then(() => {
      const outcome = sink.append(upstream.slice(0, 2), '2');
      outcomes.push(outcome);
      return outcome.catch(() => undefined);
    });
    return { status: () => ({ source: 'payments', kind: 'natsJetStream', state: 'running', received: 0, ...(after === undefined ? {} : { position: after }) }), stop: async () => {
      await appended;
      firstStopped = true;
    } };
  };
  const runs: Run[] = [];
  const first = await runtimeOf(env.platform, stale);
  expect(first.status()[0]!.runner?.role).toBe('active');
  // Another process takes the lease (as after a pause of the first longer than its ttl).
  const held = (await env.platform.metadata.listLeases()).find((l) => l.name === LEASE)!;
  await env.platform.metadata.releaseLease(LEASE, held.holder.id);
  const second = await runtimeOf(other, upstreamConnector(upstream, runs, 'second'));
  expect(second.status()[0]!.runner?.role).toBe('active');
  await until(async () => (await logged()).length === 2, 'the second runner appended both events');
  release();
  await until(async () => firstStopped, 'the first runner stopped its connector');
  const settled = await Promise.allSettled(outcomes);
  expect(settled.map((s) => (s.status === 'rejected' ? (s.reason as { code: string }).code : 'stored'))).toEqual(['CONFLICT']);
  expect(first.status()[0]!.runner?.role).toBe('standby');
  expect(await logged()).toEqual(upstream);
  expect((await env.platform.log()).position('payments', 'natsJetStream')).toBe('2');
});

test('sluice status names the active runner (pid, host, since, lease expiry) and the standbys, none once they stopped; the metrics say the same', async () => {
  const upstream: string[] = [];
  const runs: Run[] = [];
  const runtime = await runtimeOf(env.platform, upstreamConnector(upstream, runs, 'first'));
  const standby = await runtimeOf(other, upstreamConnector(upstream, runs, 'second'));
  const held = runtime.status()[0]!.runner!.holder!;
  const before = await healthStatus(env.platform, env.project);
  expect(before.streams[0]!.activeRunner).toMatchObject({ pid: process.pid, host: hostname(), since: held.since });
  expect(Date.parse(before.streams[0]!.activeRunner!.expiresAt)).toBeGreaterThan(Date.now());
  expect(before.streams[0]!.standbys).toEqual([expect.objectContaining({ pid: process.pid, host: hostname() })]);
  const metrics = new SluiceMetrics();
  metrics.addScrapeSource(storeMetrics(env.platform, async () => env.project));
  expect(await metrics.render()).toContain('sluice_connector_active_runners{source="payments"} 1');
  await standby.close();
  await runtime.close();
  runtimes.splice(0);
  const after = await healthStatus(env.platform, env.project);
  expect(after.streams[0]!.activeRunner).toBeNull();
  expect(after.streams[0]!.standbys).toEqual([]);
  expect(await metrics.render()).toContain('sluice_connector_active_runners{source="payments"} 0');
  // Nothing of either is left in the store.
  expect((await env.platform.metadata.listLeases()).map((l) => l.name).filter((n) => n.startsWith('connector'))).toEqual([]);
});

test('the record of a standby that died is removed by the next standby renewal', async () => {
  const dead = { id: 'dead-standby', host: hostname(), pid: 2 ** 22 + 1 };
  await env.platform.metadata.acquireLease(`connector-standby:payments:${dead.id}`, dead, 60_000, () => false);
  const runs: Run[] = [];
  await runtimeOf(env.platform, upstreamConnector([], runs, 'first'));
  await runtimeOf(other, upstreamConnector([], runs, 'second'));
  await until(async () => !(await env.platform.metadata.listLeases()).some((l) => l.holder.id === dead.id), 'the dead standby record removed');
  expect((await healthStatus(env.platform, env.project)).streams[0]!.standbys).toHaveLength(1);
});

test('a standby that cannot take a free lease for longer than its ttl fires connector_unowned; it ends once it holds the lease', async () => {
  const acquire = other.metadata.acquireLease.bind(other.metadata);
  let refusing = true;
  other.metadata.acquireLease = async (...args) => {
    if (refusing && args[0] === LEASE) throw new Error('database is locked');
    return acquire(...args);
  };
  const runs: Run[] = [];
  const runtime = await runtimeOf(other, upstreamConnector([], runs, 'second'));
  const watch = connectorUnownedWatch(other);
  const runners = () => runtime.status().flatMap((s) => (s.runner ? [{ source: s.source, runner: s.runner }] : []));
  const unowned = async () => (await env.platform.metadata.health.list({ firing: true })).filter((c) => c.kind === CONNECTOR_UNOWNED);
  await watch.observe(runners());
  expect(runtime.status()[0]!.runner).toMatchObject({ role: 'standby', lastError: 'database is locked' });
  expect(await unowned()).toEqual([]);
  await sleep(TTL_MS + 50);
  await watch.observe(runners());
  const fired = await unowned();
  expect(fired).toEqual([expect.objectContaining({ subject: 'connector:payments', severity: 'error', details: expect.objectContaining({ pid: process.pid, ttlMs: TTL_MS }) })]);
  expect(fired[0]!.message).toMatch(/stands by to run its connector but has not been able to take or read its lease since .* \(longer than the lease's ttl, 600 ms\): database is locked/);
  expect(runs).toEqual([]);
  refusing = false;
  await until(async () => runtime.status()[0]!.runner?.role === 'active', 'the standby takes the lease');
  await watch.observe(runners());
  expect(await unowned()).toEqual([]);
  expect(runs.map((r) => r.process)).toEqual(['second']);
});
