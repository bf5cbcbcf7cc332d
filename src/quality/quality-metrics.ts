import type { GaugeSample, ScrapeSource } from '../observability/metrics.js';
import type { MetadataStore } from '../storage/metadata/metadata-store.js';

/**
 * Check outcomes for `/metrics`, read from the quality store at each scrape (checks run in
 * other processes: `sluice ingest`, `sluice transform run`, `sluice materialize`):
 * `sluice_check_results_total{dataset,check,outcome}` (passed or failed evaluations) and
 * `sluice_checks_failing{dataset,severity}` (checks whose latest result failed).
 *
 * @example
 * metrics.addScrapeSource(qualityMetrics(platform.metadata));
 */
export function qualityMetrics(metadata: Pick<MetadataStore, 'quality'>): ScrapeSource {
  return async () => {
    const [totals, latest] = await Promise.all([metadata.quality.resultTotals(), metadata.quality.latestResults()]);
    const failing = new Map<string, GaugeSample>();
    for (const r of latest) {
      for (const severity of ['warn', 'error'] as const) {
        const key = `${r.dataset}\u0000${severity}`;
        const sample = failing.get(key) ?? { labels: { dataset: r.dataset, severity }, value: 0 };
        failing.set(key, { ...sample, value: sample.value + (!r.passed && r.severity === severity ? 1 : 0) });
      }
    }
    return {
      sluice_check_results_total: totals.map((t) => ({ labels: { dataset: t.dataset, check: t.check, outcome: t.outcome }, value: t.count })),
      sluice_checks_failing: [...failing.values()],
    };
  };
}
