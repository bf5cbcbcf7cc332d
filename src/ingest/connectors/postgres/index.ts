export { startPostgresCdc, postgresCdcConnector, type PostgresCdcTuning } from './postgres-cdc-connector.js';
export { postgresCdcConfig, redactConnection, type PostgresCdcConfig } from './postgres-cdc-config.js';
export { decodePosition, encodePosition, type CdcPosition, type SnapshotPart } from './cdc-position.js';
