export { columnReferences } from './column-references.js';
export { lineageConfigFromEnv, type LineageConfig } from './lineage-config.js';
export { lineageEmitter, type LineageEmitter } from './lineage-emitter.js';
export { lineageGraph, tableNodeId, type ColumnEdge, type LineageGraph, type LineageNode, type LineageNodeKind } from './lineage-graph.js';
export type { LineageTransport } from './lineage-transport.js';
export { httpTransport, type HttpTransportOptions } from './http-transport.js';
export { fileTransport } from './file-transport.js';
export { datasetNamespaces, runEvent, type RunEvent, type RunEventType, type RunTransition } from './run-event.js';
export { describeSteps, resolveLineageTarget, traceLineage, type LineageStep, type LineageTarget } from './lineage-query.js';
