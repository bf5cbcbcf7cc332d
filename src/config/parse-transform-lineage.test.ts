import { expect, test } from 'vitest';
import { classificationCatalog, isClassified } from '../compliance/classification/catalog.js';
import { valueInputs } from '../compliance/classification/parsed-lineage.js';
import { batchSource, compileProject, defineProject, pii, planChanges, sqlTransform, storedProject, type Project } from '../definitions/index.js';
import { withParsedLineage } from './parse-transform-lineage.js';

const customers = batchSource({
  name: 'customers', schema: { customer_id: 'string', email: 'string', ts: 'timestamp' }, timestamp: 'ts', classify: { email: pii('direct') },
});
const transform = (name: string, sql: string) => sqlTransform({ name, inputs: [customers], sql, timestamp: 'ts', schema: { customer_id: 'string', nick: 'string', ts: 'timestamp' } });
const project = (): Project => compileProject(defineProject({
  name: 'shop', entities: [], sources: [customers], featureViews: [],
  transforms: [
    transform('ctes', 'WITH t AS (SELECT * FROM customers) SELECT customer_id, lower(email) AS nick, ts FROM t'),
    transform('unnested', 'SELECT customer_id, x AS nick, ts FROM customers, unnest([email]) AS t(x)'),
    transform('rows', 'SELECT customer_id, to_json(c)::VARCHAR AS nick, ts FROM customers c'),
  ],
}));

test('at load, a CTE or unnest no longer classifies the key; what reaches the email still does, and the registry keeps it', async () => {
  const before = classificationCatalog(project());
  // The token lineage (no engine): a CTE or an unnest makes every column read every input column.
  expect(isClassified(before.column('ctes', 'customer_id'))).toBe(true);
  const parsed = await withParsedLineage(project());
  expect(parsed.transforms!.map((t) => t.columnInputs && Object.fromEntries(Object.entries(t.columnInputs).map(([o, e]) => [o, valueInputs(e)])))).toEqual([
    { customer_id: ['customers.customer_id'], nick: ['customers.email'], ts: ['customers.ts'] },
    { customer_id: ['customers.customer_id'], nick: ['customers.email'], ts: ['customers.ts'] },
    { customer_id: ['customers.customer_id'], nick: ['customers.customer_id', 'customers.email', 'customers.ts'], ts: ['customers.ts'] },
  ]);
  for (const catalog of [classificationCatalog(parsed), classificationCatalog(storedProject(JSON.parse(JSON.stringify(parsed)) as Project))]) {
    for (const name of ['ctes', 'unnested', 'rows']) {
      expect({ name, key: isClassified(catalog.column(name, 'customer_id')), nick: catalog.column(name, 'nick')?.level }).toEqual({ name, key: false, nick: 'direct' });
    }
  }
});

test('a project applied without the parsed lineage plans one change per transform naming it, nothing rematerialized', async () => {
  const changes = planChanges(project(), await withParsedLineage(project()));
  expect(changes.map((c) => [c.kind, c.name, c.details, c.consequences])).toEqual(['ctes', 'unnested', 'rows'].map((name) => ['transform', name, ["column lineage read from DuckDB's parser"], []]));
});

test('SQL that DuckDB does not parse keeps no parsed lineage (the token lineage applies); the load does not fail here', async () => {
  const broken = compileProject(defineProject({ name: 'shop', entities: [], sources: [customers], featureViews: [], transforms: [transform('broken', 'SELEC customer_id, email AS nick, ts FROM customers')] }));
  expect((await withParsedLineage(broken)).transforms![0]!.columnInputs).toBeUndefined();
});

// Review rev finding 9: what the parse could not resolve read every column of every input, so a
// classified column of an input the SQL never reads classified every output.
test('a transform reading one input is not classified from another input it never reads; an unresolved output from the relations in its scope only', async () => {
  const invoices = batchSource({ name: 'invoices', schema: { customer_id: 'string', fee: 'float64', ts: 'timestamp' }, timestamp: 'ts', classify: { fee: pii('sensitive') } });
  const plain = batchSource({ name: 'plain', schema: { customer_id: 'string', nick: 'string', score: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
  const over = (name: string, sql: string) => sqlTransform({ name, inputs: [plain, invoices], sql, timestamp: 'ts', schema: { customer_id: 'string', nick: 'string', ts: 'timestamp' } });
  const spec = defineProject({
    name: 'shop', entities: [], sources: [plain, invoices], featureViews: [],
    transforms: [
      over('replaced', 'SELECT * EXCLUDE (score) REPLACE (upper(nick) AS nick) FROM plain'),
      over('matched', "SELECT customer_id, COLUMNS('^ni'), ts FROM plain"),
      over('lateral', 'SELECT customer_id, lower(nick) AS n1, n1 || \'!\' AS nick, ts FROM plain'),
      over('lambda', 'SELECT customer_id, list_transform([nick], x -> x)[1] AS nick, ts FROM plain'),
      over('lambda_fee', 'SELECT p.customer_id, list_transform([1], x -> x)[1]::VARCHAR AS nick, p.ts FROM plain p JOIN invoices i USING (customer_id)'),
    ],
  });
  const catalog = classificationCatalog(await withParsedLineage(compileProject(spec)));
  for (const name of ['replaced', 'matched', 'lateral', 'lambda']) {
    expect({ name, classified: ['customer_id', 'nick', 'ts'].filter((c) => isClassified(catalog.column(name, c))) }).toEqual({ name, classified: [] });
  }
  // Unresolved over a scope that holds invoices: conservatively classified.
  expect(catalog.column('lambda_fee', 'nick')?.level).toBe('sensitive');
});
