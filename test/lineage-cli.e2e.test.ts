import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LineageStep, RunEvent } from '../src/observability/lineage/index.js';
import { sluice } from './support/cli.js';
import { openLineageValidator } from './support/openlineage-schema.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'sluice.js');
const CONFIG = `import { defineProject, entity, batchSource, sqlTransform, featureView, featureService, field, sum, count } from 'sluice';

const account = entity({ name: 'account', joinKey: 'account_id' });
const transactions = batchSource({ name: 'transactions', schema: { account_id: 'string', amount: 'float64', fx_rate: 'float64', channel: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const spend = featureView({
  name: 'spend', entity: account, source: transactions, filter: "channel <> 'test'",
  columns: { amount_usd: { type: 'float64', sql: 'amount * coalesce(fx_rate, 1.0)' } },
  features: { total_usd: sum('amount_usd'), n: count(), last_channel: field('channel') },
});
const totals = sqlTransform({
  name: 'account_totals', inputs: [transactions],
  sql: 'SELECT account_id, sum(amount) AS total, max(ts) AS ts FROM transactions GROUP BY ALL',
  timestamp: 'ts', schema: { account_id: 'string', total: 'float64', ts: 'timestamp' },
});
const balance = featureView({ name: 'balance', entity: account, source: totals, features: { total: field('total') } });
const channels = batchSource({ name: 'channels', schema: { account_id: 'string', note: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const notes = featureView({ name: 'notes', entity: account, source: channels, features: { note: field('note') } });
export default defineProject({
  name: 'shop', entities: [account], sources: [transactions, channels], featureViews: [spend, balance, notes], transforms: [totals],
  featureServices: [featureService({ name: 'fraud', features: [spend] })],
});
`;

let root: string;
let dir: string;
const events = () => join(root, 'lineage.jsonl');
/** The CLI with OpenLineage configured as its own clients read it: the file transport. */
const withLineage = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', OPENLINEAGE__TRANSPORT__TYPE: 'file', OPENLINEAGE__TRANSPORT__LOG_FILE_PATH: events(), OPENLINEAGE_NAMESPACE: 'shop' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-lineage-cli-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), CONFIG);
  writeFileSync(join(dir, 'txns.csv'), 'account_id,amount,fx_rate,channel,ts\na1,10,1.1,web,2024-01-01T00:00:00Z\na2,x,1,web,2024-01-02T00:00:00Z\n');
  writeFileSync(join(dir, 'spine.csv'), 'account_id,ts\na1,2024-02-01T00:00:00Z\n');
  expect(sluice(dir, 'apply').code).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sluice lineage, end to end', () => {
  test('jobs run by the CLI emit valid OpenLineage events to the configured file', () => {
    expect(withLineage('ingest', 'transactions', '--file', 'txns.csv').code).toBe(0);
    expect(withLineage('transform', 'run', '--all').code).toBe(0);
    expect(withLineage('materialize').code).toBe(0);
    const build = withLineage('dataset', 'build', '--spine', 'spine.csv', '--service', 'fraud', '--out', 'out/train.parquet');
    expect(build.code, build.stderr).toBe(0);
    const emitted = readFileSync(events(), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RunEvent);
    expect(emitted.map((e) => `${e.eventType} ${e.job.namespace}/${e.job.name}`)).toEqual([
      'START shop/ingest.transactions', 'COMPLETE shop/ingest.transactions', 'START shop/transform.account_totals', 'COMPLETE shop/transform.account_totals',
      'START shop/materialize', 'COMPLETE shop/materialize', `START shop/dataset_build.${join(dir, 'out/train.parquet')}`, `COMPLETE shop/dataset_build.${join(dir, 'out/train.parquet')}`,
    ]);
    const validate = openLineageValidator();
    for (const e of emitted) expect(validate(e)).toEqual([]);
    expect(emitted[1]!.inputs[0]!.inputFacets).toMatchObject({ dataQualityMetrics: { rowCount: 2, rejected: 1 } });
  });

  test('impact analysis: what depends on source:transactions.amount, column by column, through views, services, transforms and datasets', () => {
    const r = sluice(dir, 'lineage', 'source:transactions.amount', '--downstream', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { downstream, affected } = r.json<{ downstream: LineageStep[]; affected: string[] }>();
    const reached = downstream.map((s) => `${s.id}.${s.column}`);
    expect(reached).toEqual(expect.arrayContaining(['view:spend.total_usd', 'service:fraud.spend__total_usd', 'transform:account_totals.total', 'view:balance.total']));
    const dataset = affected.find((id) => id.startsWith('dataset:'));
    expect(dataset).toBeDefined();
    expect(reached).toContain(`${dataset}.spend__total_usd`);
    // Not what it does not read: n counts rows (reads only the filter's column), notes reads another source.
    expect(reached).not.toContain('view:spend.n');
    expect(affected).not.toContain('view:notes');
    // The filter's column reaches every feature of the view, as a filter.
    const channel = sluice(dir, 'lineage', 'source:transactions.channel', '--downstream', '--json').json<{ downstream: LineageStep[] }>().downstream;
    expect(channel.filter((s) => s.id === 'view:spend').map((s) => s.column).sort()).toEqual(['last_channel', 'n', 'total_usd']);
    const human = sluice(dir, 'lineage', 'source:transactions.amount', '--downstream');
    expect(human.stdout).toContain('  view:spend.total_usd  (transformation)');
    expect(human.stdout).toContain('  transform:account_totals.total  (aggregation)');
    // GROUP BY ALL groups by account_id only (review rev finding 11: the aggregated amount was said to decide every output's rows).
    expect(reached).not.toContain('transform:account_totals.account_id');
    const key = sluice(dir, 'lineage', 'source:transactions.account_id', '--downstream');
    expect(key.stdout).toContain('  transform:account_totals.total  (indirect: group by)');
    // The same type and subtype as the transform's OpenLineage facet (lineage-events.test.ts).
    const keyJson = sluice(dir, 'lineage', 'source:transactions.account_id', '--downstream', '--json').json<{ downstream: LineageStep[] }>().downstream;
    expect(keyJson.filter((s) => s.id === 'transform:account_totals').map((s) => [s.column, s.transformation])).toEqual([
      ['account_id', { type: 'DIRECT', subtype: 'IDENTITY' }], ['total', { type: 'INDIRECT', subtype: 'GROUP_BY' }], ['ts', { type: 'INDIRECT', subtype: 'GROUP_BY' }],
    ]);
    expect(human.stdout).toMatch(/a change to source:transactions\.amount affects 5 node\(s\): .*view:spend, service:fraud, dataset:/);
  });

  test('the graph around a node, upstream and downstream; unknown nodes and columns are named with a fix', () => {
    const view = sluice(dir, 'lineage', 'view:balance', '--json').json<{ upstream: LineageStep[]; downstream: LineageStep[] }>();
    expect(view.upstream.map((s) => s.id)).toEqual(['transform:account_totals', 'source:transactions']);
    expect(view.downstream).toEqual([]);
    const service = sluice(dir, 'lineage', 'fraud', '--upstream', '--json').json<{ upstream: LineageStep[] }>();
    expect(service.upstream.map((s) => s.id)).toEqual(['view:spend', 'source:transactions']);
    const column = sluice(dir, 'lineage', 'service:fraud.spend__total_usd', '--upstream', '--json').json<{ upstream: LineageStep[] }>();
    expect(column.upstream.map((s) => `${s.id}.${s.column}`).sort()).toEqual(['source:transactions.amount', 'source:transactions.channel', 'source:transactions.fx_rate', 'view:spend.total_usd']);
    const missing = sluice(dir, 'lineage', 'source:transactions.amout');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('source:transactions has no column "amout" (did you mean "amount"?)');
    expect(sluice(dir, 'lineage', 'view:nope').stderr).toContain('no lineage node "view:nope"');
  });

  test('HTTP transport from the CLI: a job with the endpoint down still succeeds and spools its events; the next job delivers them first, in order', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    // Async spawn: the endpoint below lives in this process and must answer while the command runs.
    const run = (...args: string[]) => new Promise<{ code: number; stderr: string }>((done) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1', OPENLINEAGE_URL: `http://127.0.0.1:${port}` } });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => done({ code: code ?? -1, stderr }));
    });
    const down = await run('materialize', '--views', 'notes');
    expect(down.code).toBe(0);
    expect(down.stderr).toContain('warning: lineage: OpenLineage endpoint');
    const spool = join(dir, '.sluice', 'lineage-spool');
    expect(readdirSync(spool).filter((f) => f.endsWith('.json'))).toHaveLength(2);

    const received: RunEvent[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.writeHead(200).end(void received.push(JSON.parse(body) as RunEvent)));
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    try {
      expect((await run('materialize', '--views', 'spend')).code).toBe(0);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    expect(received.map((e) => `${e.eventType} ${e.job.name}`)).toEqual(['START materialize.notes', 'COMPLETE materialize.notes', 'START materialize.spend', 'COMPLETE materialize.spend']);
    expect(existsSync(spool) && readdirSync(spool).filter((f) => f.endsWith('.json'))).toEqual([]);
  });
});
