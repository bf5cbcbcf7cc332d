import { describe, expect, test } from 'vitest';
import type { ValueStatus } from '../processing/evaluate-online.js';
import { SluiceMetrics } from './metrics.js';

const ALL: ValueStatus[] = ['PRESENT', 'NOT_FOUND', 'OUTSIDE_TTL', 'NULL', 'STALE', 'NOT_MATERIALIZED', 'ERROR'];

const valueCounts = async (metrics: SluiceMetrics) => {
  const text = await metrics.render();
  return Object.fromEntries([...text.matchAll(/^sluice_serving_values_total\{service="([^"]+)",status="([^"]+)"\} (\d+)$/gm)].map((m) => [`${m[1]}:${m[2]}`, Number(m[3])]));
};

describe('SluiceMetrics.recordServing', () => {
  test('every value status is counted per service, and each scrape sees every value served before it, once', async () => {
    const metrics = new SluiceMetrics();
    // Status i appears i + 1 times over two rows.
    const rows = [ALL.flatMap((s, i) => Array<ValueStatus>(i + 1).fill(s)).slice(0, 14), ALL.flatMap((s, i) => Array<ValueStatus>(i + 1).fill(s)).slice(14)];
    metrics.recordServing('scoring', 200, 0.001, rows);
    metrics.recordServing('features', 200, 0.001, [['PRESENT', 'ERROR']]);
    const expected = Object.fromEntries(ALL.map((s, i) => [`scoring:${s}`, i + 1]));
    expect(await valueCounts(metrics)).toEqual({ ...expected, 'features:PRESENT': 1, 'features:ERROR': 1 });
    // Nothing counted twice by a second scrape; new values added to the totals.
    metrics.recordServing('scoring', 200, 0.001, [['STALE']]);
    expect(await valueCounts(metrics)).toEqual({ ...expected, 'scoring:STALE': 6, 'features:PRESENT': 1, 'features:ERROR': 1 });
  });
});
