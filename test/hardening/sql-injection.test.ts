import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import {
  batchSource, compileProject, count, dataset, defineProject, entity, featureService, featureView, last, notNull, requestView, sqlTransform, type ProjectSpec,
} from '../../src/definitions/index.js';
import { ingestFile } from '../../src/ingest/ingest-file.js';
import { materialize } from '../../src/processing/materialize.js';
import { buildDataset } from '../../src/serving/datasets/build-dataset.js';
import { getOnlineFeatures } from '../../src/serving/online-features.js';
import { latestSnapshots } from '../../src/serving/latest-snapshots.js';
import { tempPlatform } from '../support/temp-platform.js';

/** Names an attacker (or a careless generator of definitions) could try: each must be refused at load, before any SQL is built. */
const HOSTILE = ['x"; DROP TABLE payments; --', "a'b", 'a b', 'a.b', 'a;b', 'a\u0000', 'ａｂ', 'é', 'a\nb', '1a', '', 'a-b', '"quoted"', 'a`b', 'a[0]', 'a/*c*/'];

const base = { account_id: 'string', amount: 'float64', note: 'string', ts: 'timestamp' } as const;
function project(name: { entity?: string; joinKey?: string; source?: string; column?: string; view?: string; feature?: string; service?: string; transform?: string; transformColumn?: string; derived?: string; dataset?: string; check?: string; requestView?: string; requestField?: string }): ProjectSpec {
  const account = entity({ name: name.entity ?? 'account', joinKey: name.joinKey ?? 'account_id' });
  const schema = { ...base, [name.joinKey ?? 'account_id']: 'string', ...(name.column !== undefined ? { [name.column]: 'string' } : {}) } as Record<string, 'string' | 'float64' | 'timestamp'>;
  const payments = batchSource({ name: name.source ?? 'payments', schema, timestamp: 'ts', checks: [notNull('amount', { name: name.check ?? 'amount_present' })] });
  const transform = sqlTransform({ name: name.transform ?? 'totals', inputs: [payments], sql: `SELECT account_id, sum(amount) AS total, max(ts) AS ts FROM ${name.source ?? 'payments'} GROUP BY ALL`, timestamp: 'ts', schema: { account_id: 'string', [name.transformColumn ?? 'total']: 'float64', ts: 'timestamp' } });
  const stats = featureView({
    name: name.view ?? 'stats', entity: account, source: payments,
    ...(name.derived !== undefined ? { columns: { [name.derived]: { type: 'float64' as const, sql: 'amount * 2' } } } : {}),
    features: { [name.feature ?? 'n']: count(), last_note: last('note') },
  });
  const request = requestView({ name: name.requestView ?? 'scored', inputs: [stats], request: { [name.requestField ?? 'amount']: 'float64' }, features: { big: () => true }, types: { big: 'bool' } });
  const service = featureService({ name: name.service ?? 'scoring', features: [stats] });
  return defineProject({
    name: 'p', entities: [account], sources: [payments], transforms: [transform], featureViews: [stats], requestViews: [request], featureServices: [service],
    datasets: [dataset({ name: name.dataset ?? 'train', service: name.service ?? 'scoring', spine: 'data/spine.csv', out: 'datasets/train.parquet' })],
  });
}

test('the test project compiles with ordinary names', () => {
  expect(() => compileProject(project({}))).not.toThrow();
});

const POSITIONS = ['entity', 'joinKey', 'source', 'column', 'view', 'feature', 'service', 'transform', 'transformColumn', 'derived', 'dataset', 'check', 'requestView', 'requestField'] as const;
test.each(POSITIONS)('a hostile %s name is refused at load, naming it and the rule, for every hostile name', (position) => {
  for (const name of HOSTILE) {
    let error: unknown;
    try {
      compileProject(project({ [position]: name }));
    } catch (caught) {
      error = caught;
    }
    expect({ name, code: (error as { code?: string } | undefined)?.code }).toEqual({ name, code: 'DEFINITION_INVALID' });
    expect((error as Error).message).toMatch(/is not valid: use letters, digits and "_"|may not start with|starts with "_"/);
  }
});

const dirs: string[] = [];
const disposals: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const d of disposals.splice(0)) await d();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test('values are data: CSV cells, keys, a file path and a spine path with quotes, SQL and glob characters are stored, served and joined exactly, nothing executed', async () => {
  const account = entity({ name: 'account', joinKey: 'account_id' });
  const payments = batchSource({ name: 'payments', schema: base, timestamp: 'ts' });
  const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n: count(), last_note: last('note') } });
  const spec = defineProject({ name: 'p', entities: [account], sources: [payments], featureViews: [stats], featureServices: [featureService({ name: 'scoring', features: [stats] })] });
  const t = await tempPlatform(spec, Date.UTC(2024, 1, 1));
  disposals.push(t.dispose);
  const dir = mkdtempSync(join(tmpdir(), "sluice-it's [a]*?-"));
  dirs.push(dir);
  const keys = ["a'); DROP TABLE payments; --", 'b"; COPY (SELECT 1) TO \'/tmp/pwned\'; --', '\\x\\', 'c, d', "read_csv('/etc/passwd')", '${HOME}', '2:a13:b'];
  const csv = (text: string) => `"${text.replaceAll('"', '""')}"`;
  const file = join(dir, "pay'ments [1] *.csv");
  writeFileSync(file, ['account_id,amount,note,ts', ...keys.map((k, i) => `${csv(k)},${i},${csv(`note ${k}\nline 2`)},2024-01-0${i + 1}T00:00:00Z`)].join('\n'));
  const result = await ingestFile(t.platform, t.project, 'payments', file);
  expect(result).toMatchObject({ accepted: keys.length, rejected: 0 });
  await materialize(t.platform, t.project);
  const online = await getOnlineFeatures(t.project, await t.platform.online(), { entities: { account_id: keys }, service: 'scoring' }, t.clock.now, await latestSnapshots(t.platform.metadata, t.project));
  expect(online.rows.map((r) => [r.account_id, r.stats__n, r.stats__last_note])).toEqual(keys.map((k) => [k, 1, `note ${k}\nline 2`]));
  const spine = join(dir, "spi'ne [x].csv");
  writeFileSync(spine, ['account_id,ts', ...keys.map((k) => `${csv(k)},2024-01-31T00:00:00Z`)].join('\n'));
  const out = join(dir, "tr'ain [y].jsonl");
  const manifest = await buildDataset(t.platform, t.project, { service: 'scoring', spine, out, timestampColumn: 'ts' });
  expect(manifest.rowCount).toBe(keys.length);
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(rows.map((r) => [r.account_id, r.stats__n, r.stats__last_note])).toEqual(keys.map((k) => [k, 1, `note ${k}\nline 2`]));
  // The lake still holds its one table's data: no statement in a value ran.
  expect(await t.platform.metadata.latestSnapshot('payments')).toMatchObject({ rowCount: keys.length });
});
