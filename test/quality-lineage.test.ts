import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { allowedValues, batchSource, compileProject, defineProject, entity, featureView, field, notNull, range, sqlTransform, unique } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import type { RunEvent } from '../src/observability/lineage/index.js';
import { SluiceMetrics } from '../src/observability/metrics.js';
import { openPlatform } from '../src/platform.js';
import { runTransform } from '../src/processing/transforms/run-transform.js';
import { qualityMetrics } from '../src/quality/quality-metrics.js';
import { openLineageValidator } from './support/openlineage-schema.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const txns = batchSource({
  name: 'transactions', schema: { txn_id: 'string', account_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' }, timestamp: 'ts',
  checks: [notNull('amount', { severity: 'error' }), allowedValues('channel', ['web', 'pos']), unique('txn_id')],
});
const daily = sqlTransform({
  name: 'account_totals', inputs: [txns], sql: 'SELECT account_id, sum(amount) AS total, max(ts) AS ts FROM transactions GROUP BY ALL',
  timestamp: 'ts', schema: { account_id: 'string', total: 'float64', ts: 'timestamp' }, checks: [range('total', { min: 0 })],
});
const spec = defineProject({ name: 'shop', entities: [account], sources: [txns], transforms: [daily], featureViews: [featureView({ name: 'totals', entity: account, source: daily, features: { total: field('total') } })] });
const NOW = Date.parse('2024-02-01T00:00:00Z');

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

test('check results travel as dataQualityMetrics and dataQualityAssertions facets (valid against the official schemas) and as metrics', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-quality-lineage-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const events = join(dir, 'lineage.jsonl');
  const platform = openPlatform({ projectDir: dir, now: () => NOW, threads: 1, projectSpec: spec, lineage: { transport: 'file', path: events, namespace: 'shop' } });
  const project = compileProject(spec);
  await platform.metadata.recordRegistry(project);
  const good = join(dir, 'good.csv');
  writeFileSync(good, 'txn_id,account_id,amount,channel,ts\nt1,a1,10,web,2024-01-01T00:00:00Z\nt2,a1,-5,fax,2024-01-02T00:00:00Z\n');
  await ingestFile(platform, project, 'transactions', good);
  await runTransform(platform, project, 'account_totals');
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'txn_id,account_id,amount,channel,ts\nt3,a2,,web,2024-01-03T00:00:00Z\n');
  await expect(ingestFile(platform, project, 'transactions', bad)).rejects.toThrow('quarantined as 1');
  const metrics = new SluiceMetrics();
  metrics.addScrapeSource(qualityMetrics(platform.metadata));
  const text = await metrics.render();
  expect(text).toContain('sluice_check_results_total{dataset="transactions",check="amount_not_null",outcome="passed"} 1');
  expect(text).toContain('sluice_check_results_total{dataset="transactions",check="amount_not_null",outcome="failed"} 1');
  expect(text).toContain('sluice_checks_failing{dataset="transactions",severity="error"} 1');
  expect(text).toContain('sluice_checks_failing{dataset="account_totals",severity="warn"} 0');
  await platform.close();

  const emitted = readFileSync(events, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as RunEvent);
  const validate = openLineageValidator();
  for (const event of emitted) expect(validate(event), `${event.job.name} ${event.eventType}`).toEqual([]);
  expect(emitted.map((e) => `${e.eventType} ${e.job.name}`)).toEqual(['START ingest.transactions', 'COMPLETE ingest.transactions', 'START transform.account_totals', 'COMPLETE transform.account_totals', 'START ingest.transactions', 'FAIL ingest.transactions']);
  const [, ingest, , transform, , failed] = emitted as [RunEvent, RunEvent, RunEvent, RunEvent, RunEvent, RunEvent];
  expect(ingest.inputs[0]!.inputFacets).toMatchObject({
    dataQualityMetrics: { rowCount: 2, accepted: 2, columnMetrics: { amount: { nullCount: 0 }, channel: { nullCount: 0 } } },
    dataQualityAssertions: { assertions: [
      { assertion: 'rows_valid', success: true }, { assertion: 'event_ids_unique', success: true },
      { assertion: 'not_null', name: 'amount_not_null', success: true, severity: 'error', column: 'amount' },
      { assertion: 'accepted_values', name: 'channel_allowed_values', success: false, severity: 'warn', column: 'channel', actual: 'channel in (web, pos): 1 of 2 rows fail' },
      { assertion: 'unique', name: 'txn_id_unique', success: true, severity: 'warn', column: 'txn_id' },
    ] },
  });
  // Checked before it commits: the table it writes carries the metrics as a dataset facet (OpenLineage's assertions facet is input-side).
  expect(transform.outputs[0]!.facets).toMatchObject({ dataQualityMetrics: { rowCount: 1, _schemaURL: expect.stringContaining('/DataQualityMetricsDatasetFacet.json') } });
  // A quarantined batch: its run fails, and its FAIL event says which assertion failed.
  expect(failed.inputs[0]!.inputFacets).toMatchObject({
    dataQualityMetrics: { rowCount: 1, columnMetrics: { amount: { nullCount: 1 } } },
    dataQualityAssertions: { assertions: expect.arrayContaining([{ assertion: 'not_null', name: 'amount_not_null', success: false, severity: 'error', column: 'amount', actual: 'amount is not null: 1 of 1 rows fail' }]) },
  });

});
