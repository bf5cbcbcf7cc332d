// The answer the serving-log benches log (`bench/serving-log-cpu.js`, `bench/serving-log-record-ab.js`):
// the 50-feature bench service's answer for `entities` keys, with values as the bench store serves them.
import { benchKeys } from './server-comparison.js';

/** The bench service's answer and request for `entities` keys (numbers, nulls, a string; statuses PRESENT and NULL mixed). */
export function logBenchAnswer(project, entities) {
  const service = project.featureServices.find((s) => s.name === 'all');
  const features = project.featureViews.flatMap((v) => v.features.map((f) => `${v.name}__${f.name}`));
  const keys = benchKeys(entities, 17, 10_000);
  // Short windows are empty (count 0, the rest null), longer ones filled.
  const valueOf = (f, r) => (f.includes('10m') || f.includes('1h') ? (f.includes('count') || f.includes('merchants') ? 0 : null)
    : f.endsWith('merchant') || f.endsWith('segment') ? `m${r}` : f.endsWith('verified') ? r % 2 === 0 : Math.round((r + 1) * 1234.5678 / (f.length + 1)) / 100);
  const response = {
    asOf: new Date().toISOString(), features, stale: 0,
    rows: keys.map((k, r) => Object.fromEntries([['customer_id', k], ...features.map((f) => [f, valueOf(f, r)])])),
    metadata: keys.map((_k, r) => ({ status: features.map((f) => (valueOf(f, r) === null ? 'NULL' : 'PRESENT')), ageMs: features.map(() => 60_000) })),
    views: Object.fromEntries(project.featureViews.map((v) => [v.name, { status: 'FRESH', viewHash: v.hash ?? 'h', previousDefinition: false, materializedAt: null, snapshots: { [v.source]: `${v.source}@1-f62c0ec7` } }])),
  };
  return { service, response, request: { service: service.name, entities: { customer_id: keys } } };
}
