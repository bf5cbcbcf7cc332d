import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { duckDbEngine } from '../../storage/engine/duckdb-engine.js';
import { literal, type SqlEngine } from '../../storage/engine/sql-engine.js';
import type { TransformInput } from '../../definitions/index.js';
import { parsedTransformLineage } from './parsed-lineage.js';

const inputs = {
  accounts: { account_id: 'string', email: 'string', tier: 'string', ts: 'timestamp' },
  invoices: { account_id: 'string', amount: 'float64', note: 'string', ts: 'timestamp' },
} as const;

let engine: SqlEngine;
beforeAll(async () => {
  engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
});
afterAll(async () => engine.close());

const shown = (edges: readonly TransformInput[]) => edges.map((e) => `${e.input} ${e.type}/${e.subtype}${e.unresolved === true ? ' unresolved' : ''}`);
async function parsed(sql: string, outputs: readonly string[]): Promise<{ columns: Record<string, string[]>; rows: string[] }> {
  const [row] = await engine.all<{ tree: string }>(`SELECT json_serialize_sql(${literal(sql)})::VARCHAR AS tree`);
  const lineage = parsedTransformLineage(JSON.parse(row!.tree), inputs, outputs)!;
  return { columns: Object.fromEntries(Object.entries(lineage.columns).map(([o, e]) => [o, shown(e)])), rows: shown(lineage.rows) };
}

// Review rev finding 9: these read every column of every input (invoices too) as DIRECT inputs.
test('* REPLACE, * RENAME, COLUMNS(regex) and a lateral column alias resolve against the relations in scope', async () => {
  expect((await parsed('SELECT * REPLACE (upper(tier) AS tier) FROM accounts', ['tier', 'email'])).columns)
    .toEqual({ tier: ['accounts.tier DIRECT/TRANSFORMATION'], email: ['accounts.email DIRECT/IDENTITY'] });
  expect((await parsed('SELECT * RENAME (email AS contact) FROM accounts', ['contact', 'tier'])).columns)
    .toEqual({ contact: ['accounts.email DIRECT/IDENTITY'], tier: ['accounts.tier DIRECT/IDENTITY'] });
  expect((await parsed("SELECT account_id, COLUMNS('^ti') FROM accounts", ['account_id', 'tier'])).columns)
    .toEqual({ account_id: ['accounts.account_id DIRECT/IDENTITY'], tier: ['accounts.tier DIRECT/IDENTITY'] });
  expect((await parsed('SELECT account_id, amount * 2 AS a2, a2 + 1 AS a3 FROM invoices', ['a3'])).columns)
    .toEqual({ a3: ['invoices.amount DIRECT/TRANSFORMATION'] });
});

test('what the walker cannot tell is marked unresolved, over the relations in scope of its select only', async () => {
  const lambda = await parsed('SELECT account_id, list_transform([1], x -> x + 1) AS l FROM accounts', ['l']);
  expect(lambda.columns.l).toEqual(['accounts.account_id', 'accounts.email', 'accounts.tier', 'accounts.ts'].map((c) => `${c} DIRECT/TRANSFORMATION unresolved`));
  expect((await parsed('SELECT nope FROM invoices', ['nope'])).columns.nope!.every((e) => e.startsWith('invoices.') && e.endsWith(' unresolved'))).toBe(true);
  // Inside a subquery over accounts, beside invoices: its own scope and the ones around it.
  const nested = await parsed('SELECT i.account_id, (SELECT list_transform([1], x -> x) FROM accounts a LIMIT 1) AS l FROM invoices i', ['l']);
  expect(nested.columns.l!.filter((e) => e.endsWith('unresolved')).length).toBe(8);
});

// Review rev finding 11: GROUP BY ALL and GROUP BY 1 grouped by the aggregated columns too.
test('GROUP BY ALL and GROUP BY <position> group by the same columns as the explicit GROUP BY', async () => {
  const sql = (by: string) => `SELECT account_id, sum(amount) AS billed, max(ts) AS ts FROM invoices GROUP BY ${by}`;
  for (const by of ['account_id', 'ALL', '1']) {
    expect({ by, ...(await parsed(sql(by), ['account_id', 'billed', 'ts'])) }).toEqual({
      by, rows: ['invoices.account_id INDIRECT/GROUP_BY'],
      columns: { account_id: ['invoices.account_id DIRECT/IDENTITY'], billed: ['invoices.amount DIRECT/AGGREGATION'], ts: ['invoices.ts DIRECT/AGGREGATION'] },
    });
  }
  expect((await parsed('SELECT account_id, count(*) AS n FROM invoices GROUP BY 1 ORDER BY 2 DESC LIMIT 3', ['n'])).rows).toEqual(['invoices.account_id INDIRECT/GROUP_BY']);
});

test('property: on random grouped SELECTs, GROUP BY ALL, by positions and by the expressions written out give the same edges', async () => {
  const key = fc.constantFrom('account_id', 'note', 'lower(note)', 'ts::DATE', "account_id || '-' || note");
  const aggregate = fc.constantFrom('sum(amount)', 'max(ts)', 'count(*)', 'avg(amount) FILTER (WHERE note IS NULL)', "string_agg(note, ',' ORDER BY ts)");
  const items = fc.tuple(fc.uniqueArray(key, { minLength: 1, maxLength: 3 }), fc.array(aggregate, { minLength: 1, maxLength: 3 }), fc.boolean());
  await fc.assert(fc.asyncProperty(items, async ([keys, aggregates, keysFirst]) => {
    const list = keysFirst ? [...keys, ...aggregates] : [...aggregates, ...keys];
    const select = `SELECT ${list.map((e, i) => `${e} AS o${i}`).join(', ')} FROM invoices GROUP BY `;
    const outputs = list.map((_, i) => `o${i}`);
    const positions = keys.map((k) => list.indexOf(k) + 1);
    const [all, byPosition, written] = await Promise.all([`${select}ALL`, `${select}${positions.join(', ')}`, `${select}${keys.join(', ')}`].map((sql) => parsed(sql, outputs)));
    expect({ list, all }).toEqual({ list, all: written });
    expect({ list, byPosition }).toEqual({ list, byPosition: written });
  }), { numRuns: Number(process.env.LINEAGE_RUNS ?? 40) });
});

// Review rev finding 12: every edge was DIRECT/TRANSFORMATION, every row-deciding column INDIRECT/"TABLE".
test('edge subtypes as OpenLineage lists them: identity, aggregation, transformation; join, filter, sort, window, conditional', async () => {
  const window = await parsed('SELECT account_id, sum(amount) OVER (PARTITION BY note ORDER BY ts) AS running, lag(amount) OVER (ORDER BY ts) AS prev FROM invoices', ['account_id', 'running', 'prev']);
  expect(window).toEqual({ rows: [], columns: {
    account_id: ['invoices.account_id DIRECT/IDENTITY'],
    running: ['invoices.amount DIRECT/AGGREGATION', 'invoices.note INDIRECT/WINDOW', 'invoices.ts INDIRECT/WINDOW'],
    prev: ['invoices.amount DIRECT/TRANSFORMATION', 'invoices.ts INDIRECT/WINDOW'],
  } });
  expect((await parsed("SELECT CASE WHEN note = 'x' THEN amount ELSE 0 END AS v FROM invoices", ['v'])).columns.v)
    .toEqual(['invoices.amount DIRECT/TRANSFORMATION', 'invoices.note INDIRECT/CONDITIONAL']);
  expect((await parsed("SELECT if(note = 'x', amount, 0) AS v FROM invoices", ['v'])).columns.v)
    .toEqual(['invoices.amount DIRECT/TRANSFORMATION', 'invoices.note INDIRECT/CONDITIONAL']);
  const joined = await parsed('SELECT a.account_id, i.amount::INTEGER AS amt FROM accounts a JOIN invoices i ON i.account_id = a.account_id WHERE i.note IS NULL ORDER BY i.ts', ['account_id', 'amt']);
  expect(joined).toEqual({
    columns: { account_id: ['accounts.account_id DIRECT/IDENTITY'], amt: ['invoices.amount DIRECT/TRANSFORMATION'] },
    rows: ['accounts.account_id INDIRECT/JOIN', 'invoices.account_id INDIRECT/JOIN', 'invoices.note INDIRECT/FILTER', 'invoices.ts INDIRECT/SORT'],
  });
  // A correlated scalar subquery's condition decides that subquery's value, not which rows the transform outputs.
  const correlated = await parsed('SELECT a.account_id, (SELECT max(i.amount) FROM invoices i WHERE i.account_id = a.account_id) AS top FROM accounts a', ['top']);
  expect(correlated).toEqual({ rows: [], columns: { top: ['invoices.amount DIRECT/AGGREGATION', 'accounts.account_id INDIRECT/CONDITIONAL', 'invoices.account_id INDIRECT/CONDITIONAL'] } });
  // In a filter, a subquery decides rows, with everything it reads.
  expect((await parsed('SELECT account_id FROM accounts a WHERE EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = a.account_id)', ['account_id'])).rows)
    .toEqual(['accounts.account_id INDIRECT/FILTER', 'invoices.account_id INDIRECT/FILTER']);
});
