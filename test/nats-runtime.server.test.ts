import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { expect, it } from 'vitest';
import { count, defineProject, entity, env, featureView, natsJetStream, streamSource, sum } from '../src/definitions/index.js';
import { CONNECTORS } from '../src/ingest/connectors/index.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { until } from './support/file-sink.js';
import { NATS_SERVER_BINARY, startNatsServer } from './support/nats-server.js';
import { describeWithServer } from './support/server-suites.js';
import { tempPlatform } from './support/temp-platform.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({
  name: 'payments', timestamp: 'ts', eventId: 'payment_id',
  schema: { payment_id: 'string', account_id: 'string', amount: 'float64', ts: 'timestamp' },
  connector: natsJetStream({ servers: env('SLUICE_TEST_NATS_URL'), stream: 'PAYMENTS', subject: 'payments.>' }),
});
const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n: count(), total: sum('amount') } });
const spec = defineProject({ name: 'pay', entities: [account], sources: [payments], featureViews: [stats] });

describeWithServer('NATS JetStream through sluice: messages read by the push rules', NATS_SERVER_BINARY, (binary) => {
  it('a poison message (NaN, which DuckDB would read) is dead-lettered with its stream sequence and acknowledged; the next message is applied', async () => {
    const server = await startNatsServer(binary);
    const nc = await connect({ servers: server.url });
    await (await jetstreamManager(nc)).streams.add({ name: 'PAYMENTS', subjects: ['payments.>'] });
    process.env.SLUICE_TEST_NATS_URL = server.url;
    const env_ = await tempPlatform(spec, Date.now());
    const platform = { ...env_.platform, now: () => Date.now() };
    const runtime = await startStreamRuntime(platform, { project: () => env_.project, connectors: CONNECTORS, commitIntervalMs: 200 });
    const ts = new Date(Date.now() - 60_000).toISOString();
    try {
      const js = jetstream(nc);
      await js.publish('payments.card', `{"payment_id": "p1", "account_id": "a", "amount": NaN, "ts": "${ts}"}`);
      await js.publish('payments.card', `{"payment_id": "p2", "account_id": "a", "amount": 2.5, "ts": "${ts}",}`);
      await js.publish('payments.card', JSON.stringify({ payment_id: 'p3', account_id: 'a', amount: 4, ts }));
      const serve = async () => getOnlineFeatures(env_.project, await env_.platform.online(), { entities: { account_id: ['a'] }, features: ['stats:n', 'stats:total'] }, Date.now() + 1, await latestSnapshots(env_.platform.metadata, env_.project));
      await until('the good message online', async () => (await serve()).rows[0]!.stats__n === 1);
      expect((await serve()).rows[0]).toMatchObject({ stats__n: 1, stats__total: 4 });
      await until('the dead letters committed', async () => (await env_.platform.metadata.listDeadLetters({ source: 'payments' })).length === 2);
      const letters = await env_.platform.metadata.listDeadLetters({ source: 'payments' });
      expect(letters.map((l) => [l.file.replace(/log entry \d+/, 'log entry N'), l.reason.replace(/ \(.*$/, '')])).toEqual([
        ['natsJetStream (log entry N, stream sequence 1)', 'the event is not valid JSON'],
        ['natsJetStream (log entry N, stream sequence 2)', 'the event is not valid JSON'],
      ]);
      expect(letters[0]!.raw).toContain('NaN');
      // Acknowledged: the consumer has nothing pending, and the connector runs on.
      await until('all acknowledged', async () => (await (await jetstreamManager(nc)).consumers.info('PAYMENTS', 'sluice_payments')).ack_floor.stream_seq === 3);
      expect(runtime.status()[0]!.connector).toMatchObject({ kind: 'natsJetStream', state: 'running', position: '3' });
    } finally {
      await runtime.close();
      await nc.close();
      await server.stop();
      await env_.dispose();
    }
  }, 120_000);
});
