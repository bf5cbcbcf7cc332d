import type { MetadataStore } from '../../storage/metadata/metadata-store.js';
import type { ScrapeSource } from '../metrics.js';

/**
 * `sluice_skew_mismatch_rate{service,feature}` at each scrape: per service and feature, the
 * mismatch rate of the newest skew run that compared it (see `runSkewJob`).
 *
 * @example
 * metrics.addScrapeSource(skewMetrics(platform.metadata));
 */
export function skewMetrics(metadata: MetadataStore): ScrapeSource {
  return async () => ({
    sluice_skew_mismatch_rate: (await metadata.skew.latest()).filter((r) => r.compared > 0).map((r) => ({ labels: { service: r.service, feature: r.feature }, value: r.mismatchRate })),
  });
}
