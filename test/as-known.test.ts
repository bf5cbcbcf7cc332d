import { renameSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, field, last, min, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { rebuildDataset } from '../src/serving/datasets/rebuild-dataset.js';
import { tempPlatform } from './support/temp-platform.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({
  name: 'stats', entity: customer, source: txns, ttl: '150m',
  features: { n: count(), n_3h: count({ window: '3h' }), total: sum('amount'), low_3h: min('amount', { window: '3h' }), latest: last('amount'), amount: field('amount') },
});
const spec = defineProject({ name: 'k', entities: [customer], sources: [txns], featureViews: [stats] });
const FEATURES = ['n', 'n_3h', 'total', 'low_3h', 'latest', 'amount'].map((f) => `stats:${f}`);
const at = (hhmm: string) => Date.parse(`2024-01-01T${hhmm}Z`);

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** c1 has events at 01:00 and 02:00, known when they happened, and one at 03:00 Sluice learned of only at 05:00. */
async function setup() {
  const t = await tempPlatform(spec, at('00:30:00'));
  cleanup.push(t.dispose);
  const write = (name: string, text: string) => {
    writeFileSync(join(t.dir, name), text);
    return join(t.dir, name);
  };
  await ingestFile(t.platform, t.project, 'txns', write('a.csv', 'customer_id,amount,ts\nc1,10,2024-01-01T01:00:00Z\nc1,20,2024-01-01T02:00:00Z\n'));
  t.clock.now = at('05:00:00');
  await ingestFile(t.platform, t.project, 'txns', write('late.csv', 'customer_id,amount,ts\nc1,5,2024-01-01T03:00:00Z\n'), { knownAt: 'ingestion' });
  const spine = write('spine.csv', ['customer_id,ts', 'c1,2024-01-01T04:00:00Z', 'c1,2024-01-01T05:00:00Z', 'c1,2024-01-01T05:00:00.001Z', 'c2,2024-01-01T04:00:00Z'].join('\n') + '\n');
  const rows = async (out: string) => (await t.platform.engine()).all<Record<string, unknown>>(`SELECT * FROM read_parquet('${out}')`);
  return { ...t, spine, rows, out: (name: string) => join(t.dir, 'out', name) };
}

const row = (ts: string, n: number, n3h: number, total: number | null, low: number | null, latest: number | null, amount: number | null) => ({
  customer_id: 'c1', ts, stats__n: n, stats__n_3h: n3h, stats__total: total, stats__low_3h: low, stats__latest: latest, stats__amount: amount,
});
const NOBODY = { customer_id: 'c2', ts: '2024-01-01T04:00:00Z', stats__n: 0, stats__n_3h: 0, stats__total: null, stats__low_3h: null, stats__latest: null, stats__amount: null };
// Event time: the 03:00 event is in every row after 03:00, though nothing knew it before 05:00.
const EVENT_TIME = [
  row('2024-01-01T04:00:00Z', 3, 3, 35, 5, 5, 5),
  row('2024-01-01T05:00:00Z', 3, 2, 35, 5, 5, 5),
  row('2024-01-01T05:00:00.001Z', 3, 1, 35, 5, 5, 5),
  NOBODY,
];
// As known: the 03:00 event appears only after 05:00 (known_at < t), then in the windows it falls in.
const AS_KNOWN = [
  row('2024-01-01T04:00:00Z', 2, 2, 30, 10, 20, 20),
  // The 02:00 row is past the 150m ttl at 05:00, and the 03:00 one not known yet: the field is null.
  row('2024-01-01T05:00:00Z', 2, 1, 30, 20, 20, null),
  row('2024-01-01T05:00:00.001Z', 3, 1, 35, 5, 5, 5),
  NOBODY,
];

describe('dataset build --as-known: each row from the events known before its time', () => {
  test('a late-known event (ts < t, known_at >= t) is excluded as known and included by event time', async () => {
    const { platform, project, spine, rows, out } = await setup();
    const byEvent = await buildDataset(platform, project, { spine, features: FEATURES, out: out('event.parquet') });
    const asKnown = await buildDataset(platform, project, { spine, features: FEATURES, out: out('known.parquet'), asKnown: true });
    expect(await rows(out('event.parquet'))).toEqual(EVENT_TIME);
    expect(await rows(out('known.parquet'))).toEqual(AS_KNOWN);
    expect(byEvent.asKnown).toBeUndefined();
    expect(asKnown.asKnown).toBe(true);
    expect(asKnown.datasetId).not.toBe(byEvent.datasetId);
    const registered = await platform.metadata.listDatasets(10);
    expect(registered.find((d) => d.id === asKnown.datasetId)?.asKnown).toBe(true);
    expect(registered.find((d) => d.id === byEvent.datasetId)?.asKnown).toBeUndefined();
  });

  test('the manifest records the time mode and rebuilds the same as-known dataset', async () => {
    const { platform, project, spine, rows, out } = await setup();
    const built = await buildDataset(platform, project, { spine, features: FEATURES, out: out('known.parquet'), asKnown: true });
    const manifest = JSON.parse(readFileSync(`${out('known.parquet')}.manifest.json`, 'utf8')) as { asKnown?: boolean };
    expect(manifest.asKnown).toBe(true);
    const again = await rebuildDataset(platform, project, `${out('known.parquet')}.manifest.json`, { out: out('again.parquet') });
    expect(again.datasetId).toBe(built.datasetId);
    expect(await rows(out('again.parquet'))).toEqual(AS_KNOWN);
  });

  test('lake files written before _known_at existed read as known at their event time, beside newer files', async () => {
    const { platform, project, spine, rows, out } = await setup();
    const engine = await platform.engine();
    const snapshot = await platform.metadata.latestSnapshot('txns');
    // Rewrite the first file as an older Sluice wrote it: no _known_at column.
    const first = platform.lake.resolve(snapshot!.files[0]!);
    expect((await engine.all<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet('${first}')`)).map((c) => c.column_name)).toContain('_known_at');
    await engine.run(`COPY (SELECT * EXCLUDE (_known_at) FROM read_parquet('${first}')) TO '${first}.old' (FORMAT PARQUET)`);
    renameSync(`${first}.old`, first);
    await buildDataset(platform, project, { spine, features: FEATURES, out: out('event.parquet') });
    await buildDataset(platform, project, { spine, features: FEATURES, out: out('known.parquet'), asKnown: true });
    expect(await rows(out('event.parquet'))).toEqual(EVENT_TIME);
    expect(await rows(out('known.parquet'))).toEqual(AS_KNOWN);
    // Only old files: as known is event time.
    await buildDataset(platform, project, { spine, features: FEATURES, out: out('old-only.parquet'), asKnown: true, snapshots: { txns: (await platform.metadata.listSnapshots({ source: 'txns', limit: 10 })).at(-1)!.id } });
    expect((await rows(out('old-only.parquet')))[0]).toMatchObject({ stats__n: 2, stats__total: 30 });
  });

  test('ingest --known-at: event time by default, one ingestion instant per file with ingestion', async () => {
    const { platform } = await setup();
    const engine = await platform.engine();
    const files = (await platform.metadata.latestSnapshot('txns'))!.files.map((f) => platform.lake.resolve(f));
    const known = await engine.all<{ ts: number; known: number }>(`SELECT _ts::DOUBLE AS ts, _known_at::DOUBLE AS known FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}]) ORDER BY _ts`);
    expect(known).toEqual([
      { ts: at('01:00:00'), known: at('01:00:00') },
      { ts: at('02:00:00'), known: at('02:00:00') },
      { ts: at('03:00:00'), known: at('05:00:00') },
    ]);
  });
});
