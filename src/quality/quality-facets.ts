import { facet, type Facet } from '../observability/lineage/openlineage-facets.js';
import type { CheckKind } from '../definitions/index.js';
import type { BatchProfile } from './evaluate-checks.js';

/** A check's result as run history and lineage events carry it (see `verdictStats`). */
interface StatsCheck {
  readonly check: string;
  readonly kind: CheckKind;
  readonly severity: string;
  readonly passed: boolean;
  readonly failingRows: number;
  readonly message: string;
  readonly column?: string;
}

/** OpenLineage's assertion classification of each kind of check. */
const ASSERTION: Readonly<Record<CheckKind, string>> = {
  notNull: 'not_null', range: 'range', allowedValues: 'accepted_values', unique: 'unique', rowCount: 'row_count', sql: 'custom_sql', regex: 'regex', freshness: 'freshness', schema: 'schema',
};

/**
 * The OpenLineage data quality facets of a checked batch, from a run's stats (or its error's
 * details). On an input (`side: 'input'`, what a job read: an ingest's file): `dataQualityMetrics`
 * and `dataQualityAssertions` (one per check: its kind, name, severity, success and what was
 * found; `extraAssertions` first: an ingest's own row and event-id assertions), both input facets
 * in OpenLineage. On a table the job writes (`side: 'dataset'`, a transform's result, checked
 * before it commits): `dataQualityMetrics` as the dataset facet only (OpenLineage has no
 * output-side assertions facet; the check results are in the run's history and metrics). One row
 * base: `rowCount` is the rows the checks evaluated, which `columnMetrics` count nulls among;
 * `metrics` adds fields (an ingest's `accepted`, `rejected`, `duplicates`: the rows it read) but
 * never replaces `rowCount`. Empty when the stats hold no check results.
 *
 * @example
 * const facets = qualityFacets(stats, 'input', { accepted: 4 });
 */
export function qualityFacets(stats: Readonly<Record<string, unknown>>, side: 'input' | 'dataset', metrics: Record<string, unknown> = {}, extraAssertions: readonly Record<string, unknown>[] = []): Record<string, Facet> {
  const checks = stats.checks as readonly StatsCheck[] | undefined;
  const profile = stats.profile as BatchProfile | undefined;
  if (!checks || !profile) return {};
  const measured = {
    ...metrics, rowCount: profile.rowCount,
    columnMetrics: Object.fromEntries(Object.entries(profile.nullCounts).map(([column, nullCount]) => [column, { nullCount }])),
  };
  if (side === 'dataset') return { dataQualityMetrics: facet('datasetQualityMetrics', measured) };
  return {
    dataQualityMetrics: facet('dataQualityMetrics', measured),
    dataQualityAssertions: facet('dataQualityAssertions', {
      assertions: [...extraAssertions, ...checks.map((c) => ({ assertion: ASSERTION[c.kind], name: c.check, success: c.passed, severity: c.severity, ...(c.column === undefined ? {} : { column: c.column }), actual: c.message }))],
    }),
  };
}
