import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { count, defineProject, entity, env as envSetting, featureView, natsJetStream, streamSource } from '../src/definitions/index.js';
import type { ConnectorStatus } from '../src/ingest/connectors/connector.js';
import { SluiceMetrics } from '../src/observability/metrics.js';
import { storeMetrics } from '../src/observability/store-metrics.js';
import { connectorHealthWatch, healthStatus, reportLostConnectors, CONNECTOR_BEAT_EVERY_MS, CONNECTOR_LOST_AFTER_MS } from '../src/observability/status/index.js';
import { sluice } from './support/cli.js';
import { crashProject, crashProjectDir } from './support/crash-check.js';
import { startSluice } from './support/sluice-process.js';
import { tempPlatform } from './support/temp-platform.js';
import { openPlatform } from '../src/platform.js';
import { NATS_SERVER_BINARY, startNatsServer } from './support/nats-server.js';
import { describeWithServer } from './support/server-suites.js';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { until } from './support/webhook-receiver.js';
import { startRealTime } from '../src/cli/commands/real-time.js';
import { newLeaseHolder } from '../src/orchestration/lease.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const payments = streamSource({
  name: 'payments', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts',
  connector: natsJetStream({ servers: envSetting('SLUICE_TEST_UNSET_NATS_URL'), stream: 'PAYMENTS', subject: 'payments.>' }),
});
const spec = defineProject({ name: 'p', entities: [customer], sources: [payments], featureViews: [featureView({ name: 'stats', entity: customer, source: payments, features: { n: count() } })] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(spec, T0);
});
afterEach(async () => {
  await env.dispose();
});

const status = (state: ConnectorStatus['state']): ConnectorStatus => ({ source: 'payments', kind: 'natsJetStream', state, received: 0 });
const firing = async () => (await env.platform.metadata.health.list({ firing: true })).filter((c) => c.subject === 'connector:payments').map((c) => [c.kind, c.severity]);
const beats = async () => (await env.platform.metadata.listLeases()).filter((l) => l.name.startsWith('connector-beat:payments:'));
/** A reader's clock the test moves (its beats' holder, this process, runs: only staleness can say it is gone). */
const reader = { id: 'test-reader', now: 0 };
const look = () => reportLostConnectors(env.platform, { clock: () => reader });
/** The holder's clock moves too: a renewal is another `renewedAt`. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

test('a connector whose process stops beating without a clean stop is connector_lost, naming the process and its last beat; its next beat ends it', async () => {
  const metrics = new SluiceMetrics();
  metrics.addScrapeSource(storeMetrics(env.platform, async () => env.project));
  const up = async () => Number((await metrics.render()).split('\n').find((l) => l.startsWith('sluice_connector_up{source="payments"}'))?.split(' ')[1]);
  const watch = connectorHealthWatch(env.platform);
  await watch.observe([status('running')]);
  const [beat] = await beats();
  expect(beat).toMatchObject({ holder: { pid: process.pid, host: hostname() } });
  expect(beat!.expiresAt - beat!.renewedAt).toBe(CONNECTOR_LOST_AFTER_MS);
  // Beats are written at most every CONNECTOR_BEAT_EVERY_MS of the poll's clock, not at every poll.
  await new Promise((resolve) => setTimeout(resolve, 5));
  await watch.observe([status('running')]);
  expect((await beats())[0]!.renewedAt).toBe(beat!.renewedAt);

  // Within the bound of the reader's clock (and its process alive) the connector is not lost.
  expect(await look()).toBe(0);
  reader.now += CONNECTOR_LOST_AFTER_MS - 1;
  expect(await look()).toBe(0);
  // Seen unchanged for the bound, it is.
  reader.now += 1;
  expect(await look()).toBe(1);
  expect(await firing()).toEqual([['connector_lost', 'error']]);
  const [lost] = await env.platform.metadata.health.list({ firing: true, kind: 'connector_lost' });
  expect(lost!.message).toMatch(new RegExp(`^source "payments": its connector is lost: the process that ran it \\(pid ${process.pid} on ${hostname()}\\) last beat at ${new Date(beat!.renewedAt).toISOString()} and did not stop cleanly`));
  expect(lost!.details).toEqual({ source: 'payments', pid: process.pid, host: hostname(), lastBeat: new Date(beat!.renewedAt).toISOString() });
  const unhealthy = await healthStatus(env.platform, env.project);
  expect(unhealthy.healthy).toBe(false);
  expect(unhealthy.problems.join('\n')).toMatch(/^connector_lost connector:payments: /m);
  expect(await up()).toBe(0);
  // Reported once: its stale beat was removed.
  expect(await beats()).toEqual([]);
  reader.now += CONNECTOR_LOST_AFTER_MS;
  expect(await look()).toBe(0);

  // The process beats again (it had only stalled): the beat is taken again and the condition ends.
  env.clock.now += CONNECTOR_BEAT_EVERY_MS;
  await watch.observe([status('running')]);
  expect(await firing()).toEqual([]);
  expect(await beats()).toHaveLength(1);
  expect(await up()).toBe(1);

  // A clean stop removes the beats: connector_stopped, never connector_lost.
  await watch.stopped([status('running')]);
  expect(await beats()).toEqual([]);
  reader.now += CONNECTOR_LOST_AFTER_MS;
  expect(await look()).toBe(0);
  expect(await firing()).toEqual([['connector_stopped', 'warn']]);
});

test('a lost process is not reported while another process still beats for the connector; a clean stop ends connector_lost', async () => {
  const first = connectorHealthWatch(env.platform);
  const second = connectorHealthWatch(env.platform);
  await first.observe([status('running')]);
  await second.observe([status('running')]);
  expect(await look()).toBe(0);
  // The second process beats again, the first does not.
  env.clock.now += CONNECTOR_BEAT_EVERY_MS;
  await tick();
  await second.observe([status('running')]);
  reader.now += CONNECTOR_LOST_AFTER_MS;
  expect(await look()).toBe(0);
  expect(await firing()).toEqual([]);
  expect(await beats()).toHaveLength(1);
  reader.now += CONNECTOR_LOST_AFTER_MS;
  expect(await look()).toBe(1);
  expect(await firing()).toEqual([['connector_lost', 'error']]);
  await second.stopped([status('running')]);
  expect(await firing()).toEqual([['connector_stopped', 'warn']]);
});

test('sluice worker killed with SIGKILL: sluice status reports its connector lost, naming its pid; the next worker ends it', async () => {
  const dir = await crashProjectDir(crashProject(natsJetStream({ servers: envSetting('SLUICE_TEST_UNSET_NATS_URL'), stream: 'EVENTS', subject: 'events.>' })));
  try {
    const statusJson = () => {
      const r = sluice(dir, 'status', '--json');
      return r.json<{ healthy: boolean; conditions: { kind: string; subject: string; message: string; details: Record<string, unknown> }[] }>();
    };
    const kinds = () => statusJson().conditions.filter((c) => c.subject === 'connector:events').map((c) => c.kind).sort();
    const worker = await startSluice(dir, ['worker', '--no-scheduler']);
    // Its connector's start is refused (no NATS URL): connector_failed, written by the poll that beats too.
    await until(async () => kinds().includes('connector_failed'), 'the worker to report its connector');
    expect(kinds()).toEqual(['connector_failed']);
    await worker.kill();
    const lost = statusJson().conditions.find((c) => c.kind === 'connector_lost');
    expect(lost).toMatchObject({ subject: 'connector:events', details: { source: 'events', pid: worker.pid, host: hostname() } });
    expect(lost!.message).toMatch(new RegExp(`the process that ran it \\(pid ${worker.pid} on `));
    expect(statusJson().healthy).toBe(false);

    const next = await startSluice(dir, ['worker', '--no-scheduler']);
    await until(async () => !kinds().includes('connector_lost'), 'the next worker to end connector_lost');
    expect(await next.stop()).toBe(143);
    expect(kinds()).toEqual(['connector_stopped']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);

/** Whether a process beats for a connector of the project in `dir` (read as another process would). */
async function beatStored(dir: string): Promise<boolean> {
  const platform = openPlatform({ projectDir: dir });
  try {
    return (await platform.metadata.listLeases()).some((l) => l.name.startsWith('connector-beat:'));
  } finally {
    await platform.close();
  }
}

describeWithServer('a running JetStream connector whose worker is killed', NATS_SERVER_BINARY, (binary) => {
  test('healthy while it runs; SIGKILLed, sluice status is unhealthy with connector_lost instead of healthy for good', async () => {
    const server = await startNatsServer(binary);
    const nc = await connect({ servers: server.url });
    const dir = await crashProjectDir(crashProject(natsJetStream({ servers: envSetting('NATS_URL'), stream: 'EVENTS', subject: 'events.>' })));
    try {
      await (await jetstreamManager(nc)).streams.add({ name: 'EVENTS', subjects: ['events.>'] });
      const statusJson = () => sluice(dir, 'status', '--json').json<{ healthy: boolean; conditions: { kind: string; details: Record<string, unknown> }[] }>();
      const worker = await startSluice(dir, ['worker', '--no-scheduler'], { NATS_URL: server.url });
      // Its poll has run (it beats on the same poll): the connector's heartbeat is in the store.
      await until(() => beatStored(dir), 'the worker to beat');
      expect(statusJson()).toMatchObject({ healthy: true, conditions: [] });
      await worker.kill();
      const after = statusJson();
      expect(after.healthy).toBe(false);
      expect(after.conditions).toEqual([expect.objectContaining({ kind: 'connector_lost', details: expect.objectContaining({ pid: worker.pid }) })]);
    } finally {
      await nc.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

test('a beat whose write failed is written again on the next poll, not a whole beat later', async () => {
  let failNext = false;
  const metadata = env.platform.metadata;
  const flaky = { ...metadata, renewLease: async (name: string, holderId: string, ttlMs: number) => {
    if (failNext) {
      failNext = false;
      throw new Error('database is locked');
    }
    return metadata.renewLease(name, holderId, ttlMs);
  } };
  const watch = connectorHealthWatch({ ...env.platform, metadata: flaky, now: env.platform.now });
  await watch.observe([status('running')]);
  const [first] = await beats();
  env.clock.now += CONNECTOR_BEAT_EVERY_MS;
  failNext = true;
  await new Promise((resolve) => setTimeout(resolve, 5));
  await expect(watch.observe([status('running')])).rejects.toThrow('database is locked');
  expect((await beats())[0]!.renewedAt).toBe(first!.renewedAt);
  // The next poll (a second later) writes it.
  env.clock.now += 1_000;
  await watch.observe([status('running')]);
  expect((await beats())[0]!.renewedAt).toBeGreaterThan(first!.renewedAt);
});

test('a process stopping cleanly keeps beating while its runtime closes, however long that takes: never connector_lost', async () => {
  const realTime = await startRealTime(env.platform, () => undefined);
  await until(async () => (await beats()).length === 1, 'the first beat');
  const [before] = await beats();
  let finish!: () => void;
  const closing = new Promise<void>((resolve) => (finish = resolve));
  const close = realTime.runtime.close.bind(realTime.runtime);
  realTime.runtime.close = async () => {
    await closing;
    await close();
  };
  const closed = realTime.close();
  try {
    // A beat later by the poll's clock, the stopping process still beats.
    env.clock.now += CONNECTOR_BEAT_EVERY_MS;
    await until(async () => (await beats())[0]!.renewedAt > before!.renewedAt, 'a beat while the runtime closes');
  } finally {
    finish();
    await closed;
  }
  expect(await beats()).toEqual([]);
  expect(await firing()).toEqual([['connector_stopped', 'error']]);
});

test('a live connector whose host clock is 45 s behind is never lost: its beat is judged on the reader\'s clock, by whether it changed', async () => {
  const wall = Date.now;
  const behind = vi.spyOn(Date, 'now').mockImplementation(() => wall() - 45_000);
  const watch = connectorHealthWatch(env.platform);
  await watch.observe([status('running')]);
  behind.mockRestore();
  // The beat's expiry (its writer's clock) is past on this host's clock: not a verdict.
  expect((await beats())[0]!.expiresAt).toBeLessThan(Date.now());
  expect(await reportLostConnectors(env.platform)).toBe(0);
  expect(await reportLostConnectors(env.platform)).toBe(0);
  expect(await beats()).toHaveLength(1);
  expect(await firing()).toEqual([]);
  // It beats on, skewed: never lost, however many bounds pass on the reader's clock.
  for (let i = 0; i < 3; i++) {
    expect(await look()).toBe(0);
    env.clock.now += CONNECTOR_BEAT_EVERY_MS;
    await tick();
    vi.spyOn(Date, 'now').mockImplementation(() => wall() - 45_000);
    await watch.observe([status('running')]);
    vi.restoreAllMocks();
    reader.now += CONNECTOR_LOST_AFTER_MS;
  }
  expect(await look()).toBe(0);
  // It stops beating: one bound of the reader's clock later it is lost.
  reader.now += CONNECTOR_LOST_AFTER_MS;
  expect(await look()).toBe(1);
  expect(await firing()).toEqual([['connector_lost', 'error']]);
});

test('a beat of another machine with this host name (another boot) is not dead at once: only the staleness bound says it is gone', async () => {
  const here = newLeaseHolder();
  const otherBoot = here.started === undefined ? undefined : `00000000-1111-2222-3333-444444444444:${here.started.split(':').slice(-2).join(':')}`;
  const other = { id: `${hostname()}:4242:abcd1234`, host: hostname(), pid: 4242, ...(otherBoot === undefined ? {} : { started: otherBoot }) };
  await env.platform.metadata.acquireLease(`connector-beat:payments:${other.id}`, other, CONNECTOR_LOST_AFTER_MS, () => false);
  expect(await reportLostConnectors(env.platform)).toBe(0);
  expect(await look()).toBe(0);
  expect(await beats()).toHaveLength(1);
  reader.now += CONNECTOR_LOST_AFTER_MS;
  expect(await look()).toBe(1);
  expect(await beats()).toEqual([]);
});

test('a beat renewed between the look that judged it stale and its removal is kept', async () => {
  const watch = connectorHealthWatch(env.platform);
  await watch.observe([status('running')]);
  const [seen] = await beats();
  env.clock.now += CONNECTOR_BEAT_EVERY_MS;
  await tick();
  await watch.observe([status('running')]);
  await env.platform.metadata.releaseLease(seen!.name, seen!.holder.id, seen!.renewedAt);
  expect(await beats()).toHaveLength(1);
  await env.platform.metadata.releaseLease(seen!.name, seen!.holder.id, (await beats())[0]!.renewedAt);
  expect(await beats()).toEqual([]);
});
