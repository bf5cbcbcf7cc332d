import type { ColumnType } from '../../definitions/index.js';

/** Who produced the events (OpenLineage's `producer` and every facet's `_producer`). */
export const SLUICE_PRODUCER = 'https://github.com/sluice/sluice/tree/v0.1.0';
export const RUN_EVENT_SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';

/** The spec version of each standard facet Sluice emits: its `_schemaURL` names the JSON Schema it must validate against. */
const FACET_SCHEMAS = {
  schema: 'https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
  columnLineage: 'https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet',
  dataQualityMetrics: 'https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet',
  /** The same metrics as a dataset facet (in a dataset's `facets`): what a job checked of a table it writes. */
  datasetQualityMetrics: 'https://openlineage.io/spec/facets/1-0-0/DataQualityMetricsDatasetFacet.json#/$defs/DataQualityMetricsDatasetFacet',
  dataQualityAssertions: 'https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet',
  outputStatistics: 'https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet',
  errorMessage: 'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet',
  jobType: 'https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet',
  sql: 'https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet',
  nominalTime: 'https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet',
} as const;

export type Facet = Readonly<Record<string, unknown>> & { readonly _producer: string; readonly _schemaURL: string };

/** A standard facet: its fields with `_producer` and the `_schemaURL` of its spec version. */
export function facet(name: keyof typeof FACET_SCHEMAS, fields: Record<string, unknown>): Facet {
  return { _producer: SLUICE_PRODUCER, _schemaURL: FACET_SCHEMAS[name], ...fields };
}

/** The `schema` facet of a table: its columns in order, with Sluice's type names. */
export function schemaFacet(columns: Readonly<Record<string, ColumnType | 'unknown'>>): Facet {
  return facet('schema', { fields: Object.entries(columns).map(([name, type], i) => ({ name, type, ordinal_position: i + 1 })) });
}

/** Row counts as `dataQualityMetrics` (an input facet: what the job read); per-column metrics are not computed. */
export function rowCountMetrics(rowCount: number, extra: Record<string, unknown> = {}): Facet {
  return facet('dataQualityMetrics', { rowCount, columnMetrics: {}, ...extra });
}
