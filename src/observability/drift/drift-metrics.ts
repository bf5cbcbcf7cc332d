import { Gauge, type Registry } from 'prom-client';
import type { DriftResult } from '../../storage/metadata/drift-store.js';
import type { MetadataStore } from '../../storage/metadata/metadata-store.js';

/**
 * The results a scrape exports: every source column's latest, and of the served-against-trained
 * results only those of the newest dataset compared per service (`details.service`; `null`: all
 * services), so the series do not grow with every dataset ever compared.
 *
 * @example
 * exportedDriftResults(await metadata.drift.latest());
 */
export function exportedDriftResults(latest: readonly DriftResult[]): DriftResult[] {
  const serviceOf = (r: DriftResult) => String(r.details?.service ?? null);
  const newest = new Map<string, { subject: string; at: number }>();
  for (const r of latest) {
    if (!r.subject.startsWith('dataset:')) continue;
    const seen = newest.get(serviceOf(r));
    if (!seen || r.computedAt > seen.at) newest.set(serviceOf(r), { subject: r.subject, at: r.computedAt });
  }
  return latest.filter((r) => !r.subject.startsWith('dataset:') || newest.get(serviceOf(r))?.subject === r.subject);
}

/**
 * Registers `sluice_drift_score{subject,feature,metric}` on `registry`: the latest drift score
 * of each feature or source column (see `DriftStore.latest`; of datasets, the newest compared per
 * service: `exportedDriftResults`), read from the metadata store at scrape time, so results of
 * `sluice drift` and of ingests in other processes show.
 *
 * @example
 * registerDriftMetrics(metrics.registry, platform.metadata);
 */
export function registerDriftMetrics(registry: Registry, metadata: MetadataStore): void {
  // Once per registry (two servers may share one).
  if (registry.getSingleMetric('sluice_drift_score')) return;
  new Gauge({
    name: 'sluice_drift_score',
    help: 'Latest drift score (PSI or Jensen-Shannon) of a feature against its training dataset (subject dataset:<id>) or of a source column between consecutive batches (subject source:<name>)',
    labelNames: ['subject', 'feature', 'metric'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of exportedDriftResults(await metadata.drift.latest())) this.set({ subject: r.subject, feature: r.feature, metric: r.metric }, r.score);
    },
  });
}
