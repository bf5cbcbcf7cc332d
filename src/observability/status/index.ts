export { reportFreshness, freshnessSubject, STALE } from './report-freshness.js';
export { startMonitoring, type Monitoring, type MonitoringOptions } from './start-monitoring.js';
export { healthStatus, type ConditionStatus, type HealthStatus, type RunStatusRow } from './health-status.js';
export { reportSchemaChange, schemaChangeOf, recordSchemaChangePart, schemaChangeParts, SCHEMA_CHANGED, DROPPED_COLUMNS_WAY, type SchemaChange, type SchemaChangePart, type SchemaChangeWay } from './report-schema-change.js';
export { SCHEMA_CHANGE_MIN_EVENTS, streamSchemaWatch } from './stream-schema-watch.js';
export { clearRemovedConditions } from './clear-removed-conditions.js';
export { connectorHealthWatch, connectorSubject, reportConnectorIncident, CONNECTOR_FAILED, CONNECTOR_RETRYING, CONNECTOR_STOPPED, DATA_LOST, type ConnectorHealthOptions, type ConnectorHealthWatch } from './connector-health.js';
export { connectorBeats, reportLostConnectors, CONNECTOR_LOST, CONNECTOR_BEAT_EVERY_MS, CONNECTOR_LOST_AFTER_MS, type ConnectorBeats } from './connector-beats.js';
export { connectorUnownedWatch, CONNECTOR_UNOWNED, type ConnectorUnownedWatch } from './connector-unowned.js';
