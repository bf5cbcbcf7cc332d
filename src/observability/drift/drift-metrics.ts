import { Gauge, type Registry } from 'prom-client';
import type { MetadataStore } from '../../storage/metadata/metadata-store.js';

/**
 * Registers `sluice_drift_score{subject,feature,metric}` on `registry`: the latest drift score
 * of each feature or source column (see `DriftStore.latest`), read from the metadata store at
 * scrape time, so results of `sluice drift` and of ingests in other processes show.
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
      for (const r of await metadata.drift.latest()) this.set({ subject: r.subject, feature: r.feature, metric: r.metric }, r.score);
    },
  });
}
