import type { StartConnector } from './connector.js';
import { startNatsJetStream } from './nats/index.js';
import { startPostgresCdc } from './postgres/index.js';

export type { AppendOutcome, ConnectorIncident, ConnectorLog, ConnectorOptions, ConnectorSink, ConnectorStatus, RunningConnector, StartConnector } from './connector.js';

/** The connectors Sluice can run, by the kind their definitions give (`natsJetStream({...})` is `natsJetStream`). */
export const CONNECTORS: Readonly<Record<string, StartConnector>> = { natsJetStream: startNatsJetStream, postgresCdc: startPostgresCdc };
