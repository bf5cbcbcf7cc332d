import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sluice } from './support/cli.js';

const config = (ratio: string) => `import { avg, count, batchSource, defineProject, entity, featureService, featureView, requestView } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const transactions = batchSource({ name: 'transactions', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const txnStats = featureView({ name: 'txn_stats', entity: customer, source: transactions, features: { amount_avg: avg('amount'), n: count() } });
const risk = requestView({
  name: 'payment_risk', request: { amount: 'float64' }, inputs: [txnStats],
  features: { ratio: ({ request, txn_stats }) => (txn_stats.amount_avg === null ? null : ${ratio}) },
  types: { ratio: 'float64' },
});
export default defineProject({ name: 'rvcli', entities: [customer], sources: [transactions], featureViews: [txnStats], requestViews: [risk],
  featureServices: [featureService({ name: 'risk', features: [risk, txnStats] })] });
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-rv-cli-'));
  writeFileSync(join(dir, 'sluice.config.ts'), config('request.amount / txn_stats.amount_avg'));
  writeFileSync(join(dir, 'txns.csv'), ['customer_id,amount,ts', 'c1,10,2026-01-01T00:00:00Z', 'c1,30,2026-01-02T00:00:00Z'].join('\n'));
  writeFileSync(join(dir, 'spine.csv'), ['customer_id,ts,amount', 'c1,2026-01-03T00:00:00Z,40', 'c2,2026-01-03T00:00:00Z,5'].join('\n'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('request views from the CLI', () => {
  test('apply, dataset build with the project file\'s functions; an edited function is refused until applied', () => {
    expect(sluice(dir, 'plan').stdout).toMatch(/\+ requestView payment_risk/);
    for (const args of [['apply'], ['ingest', 'transactions', '--file', 'txns.csv']]) expect(sluice(dir, ...args).code).toBe(0);
    const built = sluice(dir, 'dataset', 'build', '--spine', 'spine.csv', '--service', 'risk', '--out', 'train.csv');
    expect(built.stderr).toBe('');
    expect(built.code).toBe(0);
    expect(readFileSync(join(dir, 'train.csv'), 'utf8').trim().split('\n')).toEqual(['customer_id,ts,amount,payment_risk__ratio,txn_stats__amount_avg,txn_stats__n', 'c1,2026-01-03T00:00:00Z,40,2.0,20.0,2', 'c2,2026-01-03T00:00:00Z,5,,,0']);

    expect(sluice(dir, '--json', 'list', 'requests').json<unknown[]>()).toEqual([expect.objectContaining({ name: 'payment_risk', request: { amount: 'float64' }, inputs: ['txn_stats'], features: { ratio: 'float64' } })]);
    expect(sluice(dir, 'materialize').code).toBe(0);
    const got = sluice(dir, '--json', 'get', '--entity', 'customer_id=c1,c2', '--service', 'risk', '--request', 'amount=40,5');
    expect(got.stderr).toBe('');
    expect(got.json<{ rows: Record<string, unknown>[] }>().rows.map((r) => r.payment_risk__ratio)).toEqual([2, null]);
    expect(sluice(dir, 'get', '--entity', 'customer_id=c1', '--service', 'risk').stderr).toMatch(/request has no request field "amount"/);
    // A request value typed on the command line is read as the server reads it: text that is not a number is refused, never read as 0 (empty) or as hex.
    const empty = sluice(dir, 'get', '--entity', 'customer_id=c1,c2', '--service', 'risk', '--request', 'amount=40,');
    expect([empty.code, empty.stderr]).toEqual([1, 'error: request.amount[1] is "", not a float64 (request view "payment_risk")\n']);
    expect(sluice(dir, 'get', '--entity', 'customer_id=c1', '--service', 'risk', '--request', 'amount=0x10').stderr).toMatch(/request\.amount\[0\] is "0x10", not a float64/);
    expect(sluice(dir, 'get', '--entity', 'customer_id=c1', '--service', 'risk', '--request', 'amount=1e999').stderr).toMatch(/request\.amount\[0\] is "1e999", not a float64/);
    expect(sluice(dir, '--json', 'get', '--entity', 'customer_id=c1', '--service', 'risk', '--request', 'amount=4e1').json<{ rows: Record<string, unknown>[] }>().rows[0]!.payment_risk__ratio).toBe(2);

    writeFileSync(join(dir, 'sluice.config.ts'), config('request.amount * txn_stats.amount_avg'));
    expect(sluice(dir, 'plan').stdout).toMatch(/~ requestView payment_risk: feature ratio function changed/);
    const refused = sluice(dir, 'dataset', 'build', '--spine', 'spine.csv', '--service', 'risk', '--out', 'train2.csv');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/request view "payment_risk", feature "ratio": its function in sluice.config.ts differs from the applied definition; run "sluice apply"/);
    const serve = sluice(dir, 'serve', '--port', '0');
    expect(serve.code).toBe(1);
    expect(serve.stderr).toMatch(/differs from the applied definition/);
    // Feature views alone still build.
    expect(sluice(dir, 'dataset', 'build', '--spine', 'spine.csv', '--features', 'txn_stats:n', '--out', 'n.csv').code).toBe(0);

    expect(sluice(dir, 'apply').code).toBe(0);
    expect(sluice(dir, 'dataset', 'build', '--spine', 'spine.csv', '--service', 'risk', '--out', 'train3.csv').code).toBe(0);
    expect(readFileSync(join(dir, 'train3.csv'), 'utf8')).toContain('c1,2026-01-03T00:00:00Z,40,800.0,20.0,2');
  });

  test('a misspelt input feature is a type error in sluice.config.ts that plan reports with its place and the features there are', () => {
    const typo = mkdtempSync(join(tmpdir(), 'sluice-rv-typo-'));
    try {
      writeFileSync(join(typo, 'sluice.config.ts'), config('request.amount / txn_stats.amount_avgg'));
      const planned = sluice(typo, 'plan');
      expect(planned.code).toBe(1);
      expect(planned.stderr).toMatch(/sluice.config.ts:7:\d+ error TS2551: Property 'amount_avgg' does not exist on type '\{ readonly amount_avg: number \| null; readonly n: number \| null; \}'. Did you mean 'amount_avg'\?/);
      // apply refuses what plan refuses: a type error (an unknown option, a misspelt name) is never applied.
      const applied = sluice(typo, 'apply');
      expect([applied.code, applied.stderr]).toEqual([1, expect.stringMatching(/sluice.config.ts:7:\d+ error TS2551: Property 'amount_avgg' does not exist/)]);
      expect(sluice(typo, '--json', 'list', 'views').json<{ error: { code: string } }>().error.code).toBe('NOT_APPLIED');
    } finally {
      rmSync(typo, { recursive: true, force: true });
    }
  });
});
