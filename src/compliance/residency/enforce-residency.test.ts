import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  allowTransfer, batchSource, compileProject, count, dataset, defineProject, entity, featureService, featureView, sqlTransform, sum, type ProjectSpec, type TransferSpec,
} from '../../definitions/index.js';
import { PolicyError } from '../../errors.js';
import type { MetadataStore } from '../../storage/metadata/metadata-store.js';
import { sqliteMetadataStore } from '../../storage/metadata/sqlite/index.js';
import { enforceResidency } from './enforce-residency.js';
import { residencyFlows } from './residency-flows.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = batchSource({ name: 'payments', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', region: 'eu-west-1' });
const enriched = sqlTransform({ name: 'enriched', inputs: [payments], sql: 'SELECT account_id, amount, ts FROM payments', timestamp: 'ts', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' } });
const txnStats = featureView({ name: 'txn_stats', entity: account, source: enriched, features: { total: sum('amount'), n: count() } });

function project(options: { store?: string; transfers?: TransferSpec[]; datasetRegion?: string; region?: string } = {}): ProjectSpec {
  return defineProject({
    name: 'pay', entities: [account], sources: [payments], transforms: [enriched], featureViews: [txnStats],
    featureServices: [featureService({ name: 'fraud', features: [txnStats] })],
    region: options.region ?? 'eu-west-1',
    ...(options.store === undefined ? {} : { onlineStore: { region: options.store } }),
    ...(options.transfers === undefined ? {} : { transfers: options.transfers }),
    ...(options.datasetRegion === undefined ? {} : { datasets: [dataset({ name: 'train', service: 'fraud', spine: 'data/spine.csv', out: 'datasets/train.parquet', region: options.datasetRegion })] }),
  });
}

let store: MetadataStore | undefined;
afterEach(async () => store?.close());
const metadata = () => (store = sqliteMetadataStore({ path: join(mkdtempSync(join(tmpdir(), 'sluice-residency-')), 'metadata.db') }));
const who = { actor: 'cli:alice', origin: 'local' };

describe('residency at plan and apply', () => {
  test('a project in one region has no flows; one without regions has none either', () => {
    expect(residencyFlows(compileProject(project()))).toEqual([]);
    const plain = compileProject(defineProject({ name: 'p', entities: [account], sources: [batchSource({ name: 'payments', schema: { account_id: 'string', ts: 'timestamp' }, timestamp: 'ts' })], featureViews: [] }));
    expect(plain.region).toBeUndefined();
    expect(residencyFlows(plain)).toEqual([]);
  });

  test('an online store in another region is refused, naming the whole path and the fix, and the refusal is audited', async () => {
    const audit = metadata().audit;
    const p = compileProject(project({ store: 'us-east-1' }));
    const refusal = enforceResidency(audit, 1000, p, { ...who, during: 'plan', recordTransfers: false });
    await expect(refusal).rejects.toThrow(PolicyError);
    await expect(refusal).rejects.toThrow('source payments (eu-west-1) -> transform enriched (eu-west-1) -> view txn_stats -> online store (us-east-1): moves data of source payments from eu-west-1 to us-east-1 with no transfer policy; keep it in eu-west-1 (onlineStore: { region: "eu-west-1" }), or allow it: transfers: [allowTransfer({ from: "eu-west-1", to: "us-east-1", purpose: "...", sources: ["payments"] })]');
    const [record] = await audit.list();
    expect(record).toMatchObject({ actor: 'cli:alice', action: 'residency.refused', target: 'project:pay', outcome: 'denied', origin: 'local', details: { during: 'plan', paths: ['source payments (eu-west-1) -> transform enriched (eu-west-1) -> view txn_stats -> online store (us-east-1)'] } });
  });

  test('a transform in another region is refused at its table', async () => {
    const moved = sqlTransform({ ...enriched, region: 'us-east-1' });
    const p = compileProject(defineProject({ name: 'pay', entities: [account], sources: [payments], transforms: [moved], featureViews: [], region: 'eu-west-1' }));
    await expect(enforceResidency(metadata().audit, 1, p, { ...who, during: 'apply', recordTransfers: true })).rejects.toThrow('source payments (eu-west-1) -> transform enriched (us-east-1): moves data');
  });

  test('a transfer policy (by region prefix) allows the move; apply records it with its purpose, plan does not', async () => {
    const audit = metadata().audit;
    const p = compileProject(project({ store: 'us-east-1', transfers: [allowTransfer({ from: 'eu', to: 'us', purpose: 'fraud-model', sources: [payments], safeguard: 'SCC 2021/914' })] }));
    expect(await enforceResidency(audit, 1, p, { ...who, during: 'plan', recordTransfers: false })).toHaveLength(1);
    expect(await audit.list()).toEqual([]);
    await enforceResidency(audit, 2, p, { ...who, during: 'apply', recordTransfers: true });
    expect(await audit.list()).toMatchObject([{
      action: 'residency.transfer', target: 'source:payments', outcome: 'allowed', purpose: 'fraud-model',
      details: { during: 'apply', from: 'eu-west-1', to: 'us-east-1', place: 'online store', transfer: 'eu->us:fraud-model', safeguard: 'SCC 2021/914', path: 'source payments (eu-west-1) -> transform enriched (eu-west-1) -> view txn_stats -> online store (us-east-1)' },
    }]);
  });

  test('a policy for other regions or other sources does not allow it', async () => {
    const p = compileProject(project({ store: 'us-east-1', transfers: [allowTransfer({ from: 'eu', to: 'ap', purpose: 'x', sources: ['payments'] })] }));
    await expect(enforceResidency(metadata().audit, 1, p, { ...who, during: 'apply', recordTransfers: true })).rejects.toThrow('to us-east-1 with no transfer policy');
  });

  test('declared datasets and datasets built ad hoc check their output region', async () => {
    const audit = metadata().audit;
    await expect(enforceResidency(audit, 1, compileProject(project({ datasetRegion: 'us-east-1' })), { ...who, during: 'apply', recordTransfers: true }))
      .rejects.toThrow('source payments (eu-west-1) -> transform enriched (eu-west-1) -> view txn_stats -> dataset train (us-east-1): moves data');
    const p = compileProject(project());
    const adhoc = { name: 'adhoc', region: 'us-west-2', features: ['txn_stats:total'] };
    await expect(enforceResidency(audit, 2, p, { ...who, during: 'dataset.build', recordTransfers: true, dataset: adhoc })).rejects.toThrow('-> dataset adhoc (us-west-2)');
    expect((await audit.list()).at(-1)).toMatchObject({ action: 'residency.refused', target: 'dataset:adhoc', details: { during: 'dataset.build' } });
    expect(await enforceResidency(audit, 3, p, { ...who, during: 'dataset.build', recordTransfers: true, dataset: { ...adhoc, region: 'eu-west-1' } })).toEqual([]);
  });
});

describe('residency definitions are checked', () => {
  test('regions without a project region, bad names, unknown transfer sources', () => {
    expect(() => defineProject({ name: 'p', entities: [account], sources: [payments], featureViews: [] })).toThrow('regions or transfers are declared, but not the project\'s default region; add region: "eu-west-1"');
    expect(() => project({ region: 'EU West' })).toThrow('region "EU West" is not a region name; write e.g. "eu-west-1"');
    expect(() => project({ transfers: [allowTransfer({ from: 'eu', to: 'us', purpose: 'x', sources: ['paymnets'] })] })).toThrow('names source "paymnets", which is not in the project (did you mean "payments"?)');
    expect(() => project({ transfers: [allowTransfer({ from: 'eu', to: 'us', purpose: 'x', sources: [enriched] })] })).toThrow('names transform "enriched"; list the sources it reads instead');
    expect(() => project({ transfers: [allowTransfer({ from: 'eu', to: 'us', purpose: '', sources: [payments] })] })).toThrow('needs a purpose');
  });

  test('regions are outside every hash', () => {
    const plain = compileProject(defineProject({ name: 'pay', entities: [account], sources: [batchSource({ ...payments, region: undefined })], transforms: [enriched], featureViews: [txnStats], featureServices: [featureService({ name: 'fraud', features: [txnStats] })] }));
    const placed = compileProject(project({ store: 'us-east-1', transfers: [allowTransfer({ from: 'eu', to: 'us', purpose: 'x', sources: [payments] })] }));
    expect(placed.hash).toBe(plain.hash);
    expect(placed.featureViews[0]!.hash).toBe(plain.featureViews[0]!.hash);
    expect(placed.sources.map((s) => [s.name, s.region])).toEqual([['payments', 'eu-west-1'], ['enriched', 'eu-west-1']]);
    expect(placed.featureViews[0]!.region).toBe('us-east-1');
  });
});
