import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { batchSource, compileProject, defineProject, sqlTransform } from '../../src/definitions/index.js';
import { ingestFile } from '../../src/ingest/ingest-file.js';
import { checkTransforms, runTransform } from '../../src/processing/transforms/run-transform.js';
import { literal } from '../../src/storage/engine/sql-engine.js';
import { tempPlatform } from '../support/temp-platform.js';

const payments = batchSource({ name: 'payments', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const other = batchSource({ name: 'other', schema: { account_id: 'string', secret: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const transform = (sql: string) => sqlTransform({ name: 't', inputs: [payments], sql, timestamp: 'ts', schema: { account_id: 'string', ts: 'timestamp' } });
const spec = defineProject({ name: 'p', entities: [], sources: [payments, other], featureViews: [], transforms: [transform('SELECT account_id, ts FROM payments')] });

let t: Awaited<ReturnType<typeof tempPlatform>>;
beforeAll(async () => {
  t = await tempPlatform(spec, Date.UTC(2024, 1, 1));
  writeFileSync(join(t.dir, 'p.csv'), 'account_id,amount,ts\na1,1,2024-01-01T00:00:00Z\n');
  writeFileSync(join(t.dir, 'o.csv'), 'account_id,secret,ts\na1,TOPSECRET,2024-01-01T00:00:00Z\n');
  await ingestFile(t.platform, t.project, 'payments', join(t.dir, 'p.csv'));
  await ingestFile(t.platform, t.project, 'other', join(t.dir, 'o.csv'));
});
afterAll(async () => t.dispose());

const plan = (sql: string) => checkTransforms(t.platform, compileProject(defineProject({ ...spec, transforms: [transform(sql)] })));

test.each([
  ["SELECT account_id, ts FROM read_csv('/etc/passwd')", 'POLICY_DENIED', /the table function read_csv\(\)/],
  ['SELECT account_id, ts FROM "read_csv"(\'/etc/passwd\')', 'POLICY_DENIED', /the table function read_csv\(\)/],
  ["SELECT account_id, ts FROM READ_TEXT('/etc/hostname')", 'POLICY_DENIED', /the table function READ_TEXT\(\)|read_text/i],
  ["SELECT p.account_id, p.ts FROM payments p, LATERAL (SELECT * FROM glob('/etc/*')) g", 'POLICY_DENIED', /the table function glob\(\)/],
  ["SELECT account_id, ts FROM payments WHERE account_id IN (SELECT content FROM read_text('/etc/passwd'))", 'POLICY_DENIED', /read_text\(\)/],
  ["SELECT \"getenv\"('HOME') AS account_id, ts FROM payments", 'POLICY_DENIED', /the function getenv\(\)/],
  ["SELECT GETENV('HOME') AS account_id, ts FROM payments", 'POLICY_DENIED', /the function getenv\(\)/],
  ['SELECT account_id, ts FROM other', 'POLICY_DENIED', /reading "other", which is not one of its inputs/],
  ["SELECT account_id, ts FROM 'lake/other/*.parquet'", 'POLICY_DENIED', /which is not one of its inputs/],
  ["SELECT account_id, ts FROM payments; COPY payments TO '/tmp/x.csv'", 'POLICY_DENIED', /not allowed/],
  ["ATTACH '.sluice/metadata.db' AS m (TYPE sqlite)", 'POLICY_DENIED', /ATTACH is not allowed/],
  ['INSTALL httpfs', 'POLICY_DENIED', /INSTALL is not allowed/],
  // Unicode and comment tricks: a full-width or Cyrillic look-alike is another name (refused as a table function, or it does not bind); a comment splits a name.
  ["SELECT account_id, ts FROM ｒｅａｄ_csv('/etc/passwd')", 'POLICY_DENIED', /the table function ｒｅａｄ_csv\(\)/],
  ["SELECT gеtenv('HOME') AS account_id, ts FROM payments", 'DEFINITION_INVALID', /./],
  ["SELECT account_id, ts FROM read/**/_csv('/etc/passwd')", 'POLICY_DENIED', /./],
])('plan refuses hostile transform SQL: %s', async (sql, code, message) => {
  const error = await plan(sql).then(() => undefined, (e: unknown) => e as { code: string; message: string });
  expect(error?.code).toBe(code);
  expect(error?.message).toMatch(message);
});

test('behind the parser, the engine a transform runs on reads only its inputs\' files and writes only its output: every escape is refused by DuckDB itself', async () => {
  // What a parser bypass would reach: the sandboxed engine of a run, given exactly what runTransform gives it.
  const input = (await t.platform.metadata.latestSnapshot('payments'))!.files.map((f) => t.platform.lake.resolve(f));
  const otherFile = t.platform.lake.resolve((await t.platform.metadata.latestSnapshot('other'))!.files[0]!);
  const out = join(t.dir, '.sluice', 'tmp', 'out.parquet');
  const engine = await t.platform.newEngine(1, { sandbox: { allowedPaths: [...input, out] } });
  try {
    expect(await engine.all(`SELECT count(*)::INTEGER AS n FROM read_parquet(${literal(input[0]!)})`)).toEqual([{ n: 1 }]);
    const refused = [
      "SELECT * FROM read_csv('/etc/passwd')",
      "SELECT * FROM read_text('/etc/hostname')",
      "SELECT * FROM read_blob('/etc/hostname')",
      "SELECT * FROM glob('/*')",
      `SELECT * FROM read_parquet(${literal(otherFile)})`,
      `SELECT * FROM ${literal(otherFile)}`,
      `ATTACH ${literal(join(t.dir, '.sluice', 'metadata.db'))} AS m`,
      `COPY (SELECT 1) TO ${literal(join(t.dir, 'leak.csv'))}`,
      "COPY (SELECT 1) TO '/tmp/sluice-leak.csv'",
      'INSTALL httpfs',
      'LOAD httpfs',
      "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
      "SELECT getenv('HOME')",
      "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')",
      'SET enable_external_access = true',
      "SET allowed_paths = ['/']",
      "SET allowed_directories = ['/']",
      'SET lock_configuration = false',
      "SET temp_directory = '/tmp'",
    ];
    for (const sql of refused) {
      const error = await engine.all(sql).then(() => undefined, (e: unknown) => e as Error);
      expect({ sql, refused: error !== undefined }).toEqual({ sql, refused: true });
      expect(error!.message).toMatch(/disabled by configuration|configuration has been locked|does not exist|Permission Error|not allowed|disabled/);
    }
  } finally {
    await engine.close();
  }
});

test('a transform that passes the checks runs and commits, its engine sandboxed', async () => {
  const result = await runTransform(t.platform, t.project, 't');
  expect(result).toMatchObject({ transform: 't', rows: 1 });
});
