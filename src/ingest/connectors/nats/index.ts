export { startNatsJetStream } from './nats-jetstream-connector.js';
export { natsJetStreamConfig, NATS_BATCH_SIZE, type NatsJetStreamConfig } from './config.js';
