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
 * details): `dataQualityMetrics` (rows and nulls per column, from the checks' scan) and
 * `dataQualityAssertions` (one per check: its kind, name, severity, success and what was found).
 * `extraAssertions` are added first (an ingest's own row and event-id assertions). Empty when the
 * stats hold no check results.
 *
 * @example
 * const facets = qualityFacets(stats, { rowCount: 4 });
 */
export function qualityFacets(stats: Readonly<Record<string, unknown>>, metrics: Record<string, unknown> = {}, extraAssertions: readonly Record<string, unknown>[] = []): Record<string, Facet> {
  const checks = stats.checks as readonly StatsCheck[] | undefined;
  const profile = stats.profile as BatchProfile | undefined;
  if (!checks || !profile) return {};
  return {
    dataQualityMetrics: facet('dataQualityMetrics', {
      rowCount: profile.rowCount, ...metrics,
      columnMetrics: Object.fromEntries(Object.entries(profile.nullCounts).map(([column, nullCount]) => [column, { nullCount }])),
    }),
    dataQualityAssertions: facet('dataQualityAssertions', {
      assertions: [...extraAssertions, ...checks.map((c) => ({ assertion: ASSERTION[c.kind], name: c.check, success: c.passed, severity: c.severity, ...(c.column === undefined ? {} : { column: c.column }), actual: c.message }))],
    }),
  };
}
