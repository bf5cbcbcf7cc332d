import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { env, natsJetStream, type Project } from '../../src/definitions/index.js';
import { crashProject, crashProjectDir, type CrashEvent } from './crash-check.js';
import { startNatsServer, type NatsServer } from './nats-server.js';

/** A nats-server with the stream `EVENTS` (`events.>`), the crash project reading it (`NATS_URL`) applied in `dir`, and the events to publish. */
export interface JetStreamCrashSetup {
  readonly server: NatsServer;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly project: Project;
  readonly dir: string;
  /** When the events were made (epoch ms): theirs are in the ten minutes before it. */
  readonly start: number;
  /** `count` events over `keys` keys, spread over the last ten minutes. */
  readonly accepted: CrashEvent[];
  /** Messages of the durable `sluice_events` not yet acknowledged (-1 before it exists). */
  pending(): Promise<number>;
}

export async function jetStreamCrashSetup(binary: string, count: number, keys: number): Promise<JetStreamCrashSetup> {
  const server = await startNatsServer(binary);
  const nc = await connect({ servers: server.url });
  const project = crashProject(natsJetStream({ servers: env('NATS_URL'), stream: 'EVENTS', subject: 'events.>' }));
  const dir = await crashProjectDir(project);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'EVENTS', subjects: ['events.>'] });
  const start = Date.now();
  const accepted: CrashEvent[] = Array.from({ length: count }, (_, i) => ({ id: `e${i}`, k: `k${i % keys}`, v: (i % 17) / 4, ts: start - 600_000 + Math.floor((i * 600_000) / count) }));
  const pending = async () => {
    const info = await jsm.consumers.info('EVENTS', 'sluice_events').catch(() => undefined);
    return info === undefined ? -1 : info.num_pending + info.num_ack_pending;
  };
  return { server, nc, jsm, project, dir, start, accepted, pending };
}
