import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { env, natsJetStream, type Setting, type Source } from '../src/definitions/index.js';
import type { ConnectorIncident, ConnectorLog, ConnectorSink, RunningConnector } from '../src/ingest/connectors/connector.js';
import { startNatsJetStream } from '../src/ingest/connectors/nats/index.js';
import { FileSink, until } from './support/file-sink.js';
import { freePort, NATS_SERVER_BINARY, startNatsServer, type NatsServer } from './support/nats-server.js';
import { describeWithServer } from './support/server-suites.js';

const source = (servers: Setting): Source => ({
  name: 'payments',
  kind: 'stream',
  schema: { payment_id: 'string', amount: 'float64', ts: 'timestamp' },
  timestamp: 'ts',
  eventId: 'payment_id',
  connector: natsJetStream({ servers, stream: 'PAYMENTS', subject: 'payments.>' }),
  hash: 'test',
});

const event = (i: number): string => JSON.stringify({ payment_id: `p${i}`, amount: i / 4, ts: '2026-11-28T12:00:00Z' });

describeWithServer('NATS JetStream connector against a real nats-server', NATS_SERVER_BINARY, (binary) => {
  let server: NatsServer | undefined;
  let nc: NatsConnection | undefined;
  let dir: string;
  const running: RunningConnector[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-nats-test-'));
  });

  afterEach(async () => {
    for (const connector of running.splice(0)) await connector.stop();
    await nc?.close();
    nc = undefined;
    await server?.stop();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function serverWithStream(port?: number): Promise<NatsServer> {
    server = await startNatsServer(binary, port === undefined ? {} : { port });
    nc = await connect({ servers: server.url });
    await (await jetstreamManager(nc)).streams.add({ name: 'PAYMENTS', subjects: ['payments.>', 'refunds.>'] });
    return server;
  }

  async function publish(subject: string, payloads: readonly (string | Uint8Array)[]): Promise<void> {
    const js = jetstream(nc!);
    for (const payload of payloads) await js.publish(subject, payload);
  }

  async function start(sink: ConnectorSink, servers: string, log?: ConnectorLog): Promise<RunningConnector> {
    const connector = await startNatsJetStream(source(servers), sink, log === undefined ? {} : { log });
    running.push(connector);
    return connector;
  }

  async function consumerInfo() {
    return (await jetstreamManager(nc!)).consumers.info('PAYMENTS', 'sluice_payments');
  }

  it('delivers every message of the subject once, in order, with its stream sequence as the position, and acknowledges them', async () => {
    const { url } = await serverWithStream();
    const payments = Array.from({ length: 2500 }, (_, i) => event(i));
    await publish('payments.card', payments.slice(0, 1200));
    await publish('refunds.card', ['{"not":"mine"}']);
    await publish('payments.card', payments.slice(1200));
    const odd = ['not json', new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d])];
    await publish('payments.card', odd);
    const sink = new FileSink(join(dir, 'sink.json'));
    const connector = await start(sink, url);
    await until('2502 events arrived', () => sink.read().events.length >= 2502);
    await until('the lag is known and zero', () => connector.status().lag === 0);
    const stored = sink.read();
    expect(stored.events.slice(0, 2500)).toEqual(payments);
    expect(stored.events[2500]).toBe('not json');
    // A payload that is not UTF-8 is refused by the rule file ingest uses (its text kept with U+FFFD); each event names its stream sequence.
    expect(stored.events[2501]).toBe('{"\uFFFD"}');
    expect(stored.problems.slice(2499)).toEqual([null, null, 'invalid UTF-8 at byte offset 2; publish the message as UTF-8']);
    expect(stored.at.slice(1199, 1201)).toEqual(['stream sequence 1200', 'stream sequence 1202']);
    expect(stored.at.slice(2500)).toEqual(['stream sequence 2502', 'stream sequence 2503']);
    expect(stored.position).toBe('2503');
    expect(connector.status()).toMatchObject({ source: 'payments', kind: 'natsJetStream', state: 'running', position: '2503', received: 2502 });
    await connector.stop();
    expect(connector.status().state).toBe('stopped');
    const info = await consumerInfo();
    expect(info.ack_floor.stream_seq).toBe(2503);
    expect(info.num_ack_pending).toBe(0);
  });

  it('stop finishes the append in flight and its acknowledgements; a restart reads on with nothing lost or doubled', async () => {
    const { url } = await serverWithStream();
    const payments = Array.from({ length: 3000 }, (_, i) => event(i));
    await publish('payments.card', payments.slice(0, 2000));
    const file = new FileSink(join(dir, 'sink.json'));
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const inAppend = new Promise<void>((resolve) => (entered = resolve));
    const held = new Promise<void>((resolve) => (release = resolve));
    const gated: ConnectorSink = {
      position: () => file.position(),
      append: async (events, position) => {
        entered();
        await held;
        return file.append(events, position);
      },
    };
    const first = await start(gated, url);
    await inAppend;
    const stopped = first.stop();
    release();
    await stopped;
    const afterStop = file.read();
    expect(afterStop.appends).toBe(1);
    expect(afterStop.events).toEqual(payments.slice(0, afterStop.events.length));
    // The acknowledgements reached the server before the connection closed (the connector flushes them);
    // JetStream moves the consumer's ack floor over them on its own, a moment later (seen in CI: 842 of 1000).
    await until('the acknowledgements of the appended batch were applied', async () => (await consumerInfo()).ack_floor.stream_seq >= Number(afterStop.position));
    expect((await consumerInfo()).ack_floor.stream_seq).toBe(Number(afterStop.position));

    await publish('payments.card', payments.slice(2000));
    const second = await start(file, url);
    await until('all 3000 events arrived', () => file.read().events.length >= 3000);
    await second.stop();
    expect(file.read().events).toEqual(payments);
  });

  it('a stalled sink stops the pulling: a few batches are read ahead, not the stream', async () => {
    const { url } = await serverWithStream();
    const payments = Array.from({ length: 20_000 }, (_, i) => event(i));
    await publish('payments.card', payments);
    const file = new FileSink(join(dir, 'sink.json'));
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const stalled: ConnectorSink = { position: () => file.position(), append: async (events, position) => (await held, file.append(events, position)) };
    const connector = await start(stalled, url);
    await until('the connector runs', () => connector.status().state === 'running');
    await until('the connector read ahead', async () => (await consumerInfo()).delivered.stream_seq >= 2000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await consumerInfo()).delivered.stream_seq).toBeLessThanOrEqual(5000);
    expect(connector.status().lag).toBeGreaterThanOrEqual(15_000);
    release();
    await until('all 20000 events arrived', () => file.read().events.length >= 20_000);
    expect(file.read().events).toEqual(payments);
  });

  it('a worker killed after an append but before its acknowledgements: the redelivered messages are skipped, not appended twice', async () => {
    const { url } = await serverWithStream();
    // A short ack wait makes the server redeliver the unacknowledged messages soon after the kill.
    await (await jetstreamManager(nc!)).consumers.add('PAYMENTS', { durable_name: 'sluice_payments', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: 'payments.>', ack_wait: nanos(1000) });
    const payments = Array.from({ length: 300 }, (_, i) => event(i));
    await publish('payments.card', payments);
    const file = join(dir, 'sink.json');
    await runUntilKilled(source(url), file, 300);
    const sink = new FileSink(file);
    expect(sink.read().events).toEqual(payments);
    expect((await consumerInfo()).num_ack_pending).toBeGreaterThan(0);

    const logs: string[] = [];
    const restarted = await start(sink, url, (level, m) => logs.push(`${level} ${m}`));
    await until('the redelivered messages were acknowledged', async () => (await consumerInfo()).ack_floor.stream_seq === 300);
    await publish('payments.card', [event(300)]);
    await until('the next event arrived', () => sink.read().events.length > 300);
    await restarted.stop();
    expect(sink.read().events).toEqual([...payments, event(300)]);
    expect(logs.some((m) => m.includes('recreating consumer'))).toBe(false);
  });

  it('a worker killed with messages delivered beyond its stored position: the consumer is rewound, nothing lost or doubled', async () => {
    const { url } = await serverWithStream();
    const payments = Array.from({ length: 3000 }, (_, i) => event(i));
    await publish('payments.card', payments);
    const file = join(dir, 'sink.json');
    await runUntilKilled(source(url), file, 1);
    const sink = new FileSink(file);
    const kept = sink.read().events.length;
    expect(kept).toBeLessThan(3000);

    const delivered = (await consumerInfo()).delivered.stream_seq;
    const logs: string[] = [];
    const restarted = await start(sink, url, (level, m) => logs.push(`${level} ${m}`));
    await until('all 3000 events arrived', () => sink.read().events.length >= 3000);
    expect(logs.some((m) => m.includes(`recreating consumer "sluice_payments" of stream "PAYMENTS" to read from stream sequence ${kept + 1}`))).toBe(delivered > kept);
    await restarted.stop();
    expect(sink.read().events).toEqual(payments);
  });

  it('workers SIGKILLed at random moments, ten times over: every event stored once, in order', async () => {
    const { url } = await serverWithStream();
    const payments = Array.from({ length: 20_000 }, (_, i) => event(i));
    const publishing = publish('payments.card', payments);
    const file = join(dir, 'sink.json');
    const sink = new FileSink(file);
    for (let kill = 0; kill < 10; kill++) {
      const before = sink.read().appends;
      const child = spawn(process.execPath, [crashChild, JSON.stringify(source(url)), file, 'never'], { stdio: ['ignore', 'ignore', 'inherit'] });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await until('the worker appended', () => sink.read().appends > before || child.exitCode !== null);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 50));
      child.kill('SIGKILL');
      await exited;
    }
    await publishing;
    const last = await start(sink, url);
    await until('all 20000 events arrived', () => sink.read().events.length >= 20_000);
    await last.stop();
    expect(sink.read().events).toEqual(payments);
  });

  it('retries while the server is down, keeps the secret out of logs and status, and recovers when the server starts', async () => {
    const port = await freePort();
    process.env.SLUICE_TEST_NATS_URL = `nats://sluice:s3cret-token@127.0.0.1:${port}`;
    const logs: string[] = [];
    const sink = new FileSink(join(dir, 'sink.json'));
    const connector = await startNatsJetStream(source(env('SLUICE_TEST_NATS_URL')), sink, { log: (level, m) => logs.push(`${level} ${m}`) });
    running.push(connector);
    await until('the connector reports retrying', () => connector.status().state === 'retrying' && logs.length >= 2);
    expect(connector.status().lastError).toMatch(/^cannot connect to <env SLUICE_TEST_NATS_URL>: /);
    // Said as a warning, once (the caller names the source); the lag is unknown while the server cannot be asked.
    expect(logs[0]).toMatch(/^warn NATS JetStream: cannot connect to <env SLUICE_TEST_NATS_URL>: .*; retrying in \d+ ms$/);
    expect(connector.status().lag).toBeNull();

    await serverWithStream(port);
    await until('the connector is running on the empty stream, nothing to read', () => connector.status().state === 'running');
    expect(connector.status().lag).toBe(0);
    await publish('payments.card', [event(1), event(2)]);
    await until('the events arrived', () => sink.read().events.length === 2);
    expect(connector.status()).toMatchObject({ state: 'running', position: '2', received: 2 });
    expect(connector.status().lastError).toBeUndefined();
    await connector.stop();
    expect([...logs, JSON.stringify(connector.status())].join('\n')).not.toContain('s3cret-token');
    delete process.env.SLUICE_TEST_NATS_URL;
  });

  it('a connection lost mid-stream: retries until the server is back, then reads on with nothing lost or doubled', async () => {
    const first = await serverWithStream();
    const payments = Array.from({ length: 1500 }, (_, i) => event(i));
    await publish('payments.card', payments.slice(0, 1000));
    const sink = new FileSink(join(dir, 'sink.json'));
    const connector = await start(sink, first.url);
    await until('the first 1000 events arrived', () => sink.read().events.length >= 1000);
    await nc?.close();
    await first.halt();
    await until('the connector reports retrying', () => connector.status().state === 'retrying');

    server = await startNatsServer(binary, { port: first.port, store: first.store });
    nc = await connect({ servers: server.url });
    await publish('payments.card', payments.slice(1000));
    await until('all 1500 events arrived', () => sink.read().events.length >= 1500);
    expect(sink.read().events).toEqual(payments);
    expect(connector.status()).toMatchObject({ state: 'running', position: '1500', received: 1500 });
  });

  it('an append that fails after every reconnect: the connector stays retrying (naming the stream sequence) with a growing backoff, until an append succeeds', async () => {
    const { url } = await serverWithStream();
    await publish('payments.card', [event(1), event(2)]);
    const file = new FileSink(join(dir, 'sink.json'));
    let failing = true;
    const states: string[] = [];
    const started: RunningConnector[] = [];
    const sink: ConnectorSink = {
      position: () => file.position(),
      append: (events, position, upstream) => {
        states.push(started[0]?.status().state ?? 'starting');
        return failing ? Promise.reject(new Error('the log is full')) : file.append(events, position, upstream);
      },
    };
    const logs: string[] = [];
    const connector = await start(sink, url, (level, m) => logs.push(`${level} ${m}`));
    started.push(connector);
    const delays = () => logs.flatMap((l) => /retrying in (\d+) ms$/.exec(l)?.slice(1) ?? []).map(Number);
    await until('five failed appends', () => delays().length >= 5);
    // Retry k waits between 125 * 2^k and 250 * 2^k ms: the count of attempts was never reset by a reconnect without progress.
    delays().slice(0, 5).forEach((ms, k) => expect(ms).toBeGreaterThanOrEqual(125 * 2 ** k));
    // Connected again but nothing appended: still retrying, the condition's clock kept running.
    expect(states.slice(1).every((s) => s === 'retrying')).toBe(true);
    expect(connector.status()).toMatchObject({ state: 'retrying', lastError: expect.stringMatching(/stream sequences 1 to 2.*the log is full/) });
    failing = false;
    await until('the events arrived', () => file.read().events.length === 2);
    await until('running again', () => connector.status().state === 'running');
    expect(connector.status().lastError).toBeUndefined();
  });

  it('will not recreate a consumer of an interest-retention stream (that could discard messages): it says so and retries', async () => {
    server = await startNatsServer(binary);
    nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'PAYMENTS', subjects: ['payments.>'], retention: RetentionPolicy.Interest });
    await jsm.consumers.add('PAYMENTS', { durable_name: 'sluice_payments', ack_policy: AckPolicy.Explicit, filter_subject: 'payments.>' });
    await publish('payments.card', [event(1), event(2)]);
    const taken = await jetstream(nc).consumers.get('PAYMENTS', 'sluice_payments').then((c) => c.next());
    expect(taken?.seq).toBe(1);
    const sink = new FileSink(join(dir, 'sink.json'));
    const connector = await start(sink, server.url);
    await until('the connector refuses', () => connector.status().state === 'retrying');
    expect(connector.status().lastError).toMatch(/consumer "sluice_payments" of stream "PAYMENTS" must be recreated .* uses interest retention/);
    expect(sink.read().events).toEqual([]);
  });

  it('says so when the stream dropped messages (its limits) before Sluice read them, and reads on from the oldest it holds', async () => {
    server = await startNatsServer(binary);
    nc = await connect({ servers: server.url });
    await (await jetstreamManager(nc)).streams.add({ name: 'PAYMENTS', subjects: ['payments.>'], max_msgs: 5 });
    const payments = Array.from({ length: 13 }, (_, i) => event(i));
    await publish('payments.card', payments.slice(0, 3));
    const sink = new FileSink(join(dir, 'sink.json'));
    const first = await start(sink, server.url);
    await until('3 events arrived', () => sink.read().events.length === 3);
    await first.stop();
    await publish('payments.card', payments.slice(3));
    const logs: string[] = [];
    const incidents: ConnectorIncident[] = [];
    const second = await startNatsJetStream(source(server.url), sink, { log: (level, m) => logs.push(`${level} ${m}`), report: (incident) => incidents.push(incident) });
    running.push(second);
    await until('the newest 5 arrived', () => sink.read().events.length === 8);
    await second.stop();
    expect(sink.read().events).toEqual([...payments.slice(0, 3), ...payments.slice(8)]);
    const message = 'stream "PAYMENTS" no longer holds sequences 4 to 8 (removed by its limits before Sluice read them): events of subject "payments.>" among them are lost; the oldest sequence it holds is 9';
    expect(logs).toContain(`warn ${message}`);
    expect(incidents).toEqual([{ kind: 'lost', from: 4, to: 8, message }]);
  });

  it('a gap that opens while it runs (the stream removed messages before they were delivered) is reported as lost, naming the sequences; another subject\'s messages are no gap', async () => {
    server = await startNatsServer(binary);
    nc = await connect({ servers: server.url });
    await (await jetstreamManager(nc)).streams.add({ name: 'PAYMENTS', subjects: ['payments.>', 'refunds.>'], max_msgs: 500 });
    const file = new FileSink(join(dir, 'sink.json'));
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let hold = false;
    const stalled: ConnectorSink = { position: () => file.position(), append: async (events, position) => (hold && (await held), file.append(events, position)) };
    const incidents: ConnectorIncident[] = [];
    const logs: string[] = [];
    const connector = await startNatsJetStream(source(server.url), stalled, { log: (level, m) => logs.push(`${level} ${m}`), report: (incident) => incidents.push(incident) });
    running.push(connector);
    const payments = Array.from({ length: 8_000 }, (_, i) => event(i));
    // Sequences 1, 2 (a refund: skipped by the filter, no loss), 3.
    await publish('payments.card', payments.slice(0, 1));
    await publish('refunds.card', [event(-1)]);
    await publish('payments.card', payments.slice(1, 2));
    await until('the first two arrived', () => file.read().events.length === 2);
    hold = true;
    await publish('payments.card', payments.slice(2, 3));
    // The sink holds the append of sequence 4: the connector reads a few batches ahead, the stream keeps its newest 500.
    await publish('payments.card', payments.slice(3));
    release();
    await until('the newest events arrived', () => file.read().events.at(-1) === payments.at(-1));
    await until('the gap was reported', () => incidents.length > 0);
    const [lost] = incidents;
    // Stream sequence of payments[i] is i + 2 from i = 1 on; the stream holds 7502 to 8001.
    expect(lost).toMatchObject({ kind: 'lost', to: 7_501 });
    const read = (lost as { from: number }).from - 2;
    expect(read).toBeGreaterThan(3);
    expect(file.read().events).toEqual([...payments.slice(0, read), ...payments.slice(7_500)]);
    expect(incidents).toHaveLength(1);
    expect(logs.filter((l) => l.startsWith('warn stream "PAYMENTS" no longer holds'))).toEqual([`warn ${(lost as { message: string }).message}`]);
  });

  it('retries while the stream is missing, naming it, and reads it once it exists', async () => {
    server = await startNatsServer(binary);
    nc = await connect({ servers: server.url });
    const sink = new FileSink(join(dir, 'sink.json'));
    const connector = await start(sink, server.url);
    await until('the connector reports the missing stream', () => connector.status().state === 'retrying');
    expect(connector.status().lastError).toMatch(/stream not found/i);

    await (await jetstreamManager(nc)).streams.add({ name: 'PAYMENTS', subjects: ['payments.>'] });
    await publish('payments.card', [event(1)]);
    await until('the event arrived', () => sink.read().events.length === 1);
    expect(connector.status().state).toBe('running');
  });
});

const crashChild = join(import.meta.dirname, 'support', 'nats-crash-child.mjs');

/** Runs the connector in a child process that SIGKILLs itself once the append storing `dieAt` is durable. */
async function runUntilKilled(source: Source, file: string, dieAt: number): Promise<void> {
  const child = spawn(process.execPath, [crashChild, JSON.stringify(source), file, String(dieAt)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, s) => resolve(s)));
  expect(signal).toBe('SIGKILL');
}
