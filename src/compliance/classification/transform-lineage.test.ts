import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { duckDbEngine } from '../../storage/engine/duckdb-engine.js';
import { literal, type SqlEngine } from '../../storage/engine/sql-engine.js';
import { HOSTILE_STATEMENTS } from './hostile-statements.js';
import { transformColumnLineage } from './transform-lineage.js';

const inputs = {
  accounts: { account_id: 'string', email: 'string', tier: 'string', ts: 'timestamp' },
  invoices: { account_id: 'string', amount: 'float64', note: 'string', ts: 'timestamp' },
} as const;

test('a plain SELECT: each output column comes from the columns its item names, aliases and qualifiers read', () => {
  const sql = `SELECT a.account_id, lower(a.email) AS mail, a.tier, sum(i.amount) billed, max(i.ts) AS ts
    FROM accounts a LEFT JOIN invoices i USING (account_id) WHERE i.note <> 'email' GROUP BY ALL`;
  expect(transformColumnLineage(sql, inputs, ['account_id', 'mail', 'tier', 'billed', 'ts'])).toEqual({
    account_id: ['accounts.account_id', 'invoices.account_id'],
    mail: ['accounts.email'],
    tier: ['accounts.tier'],
    billed: ['invoices.amount'],
    ts: ['accounts.ts', 'invoices.ts'],
  });
});

test('filter, join and group columns are not lineage; literals, comments and functions named like columns are not read', () => {
  const sql = `SELECT account_id, 'email' AS label, -- email
    /* tier */ count(*) AS n FROM invoices WHERE note IS NOT NULL GROUP BY account_id`;
  expect(transformColumnLineage(sql, inputs, ['account_id', 'label', 'n'])).toEqual({ account_id: ['accounts.account_id', 'invoices.account_id'], label: [], n: [] });
});

test('stars carry each input column to the output column of the same name; quoted identifiers are read', () => {
  expect(transformColumnLineage('SELECT * FROM accounts', inputs, ['email', 'tier'])).toEqual({ email: ['accounts.email'], tier: ['accounts.tier'] });
  expect(transformColumnLineage('SELECT a.* EXCLUDE (tier), "EMAIL" AS contact FROM accounts a', inputs, ['email', 'contact'])).toEqual({ email: ['accounts.email'], contact: ['accounts.email'] });
});

test('CTEs, subqueries and set operations are conservative: every column the SQL names', () => {
  const cte = 'WITH x AS (SELECT account_id, email AS e FROM accounts) SELECT account_id, e AS contact FROM x';
  const lineage = transformColumnLineage(cte, inputs, ['account_id', 'contact']);
  expect(lineage.contact).toEqual(expect.arrayContaining(['accounts.email']));
  expect(lineage.account_id).toEqual(expect.arrayContaining(['accounts.email', 'accounts.account_id']));
  const sub = transformColumnLineage('SELECT s.m FROM (SELECT email AS m FROM accounts) s', inputs, ['m']);
  expect(sub.m).toContain('accounts.email');
  const union = transformColumnLineage('SELECT account_id FROM accounts UNION ALL SELECT note FROM invoices', inputs, ['account_id']);
  expect(union.account_id).toEqual(expect.arrayContaining(['invoices.note', 'accounts.account_id']));
});

test('SQL that reaches a column without naming it is conservative: the output comes from every input column', () => {
  for (const [sql, output] of HOSTILE_STATEMENTS) {
    expect({ sql, lineage: transformColumnLineage(sql, inputs, ['account_id', output])[output] }).toEqual({ sql, lineage: expect.arrayContaining(['accounts.email']) });
  }
});

test('casts, typed literals and count(*) stay precise', () => {
  const sql = "SELECT account_id, CAST(tier AS VARCHAR) AS t1, tier::VARCHAR AS t2, ts::DATE AS d, TIMESTAMP '2024-01-01' AS t0, count(*) AS n, try_cast(tier AS INTEGER) AS t3 FROM accounts GROUP BY ALL";
  expect(transformColumnLineage(sql, inputs, ['t1', 't2', 'd', 't0', 'n', 't3'])).toEqual({ t1: ['accounts.tier'], t2: ['accounts.tier'], d: ['accounts.ts', 'invoices.ts'], t0: [], n: [], t3: ['accounts.tier'] });
});

test('property: whatever the SQL, an output column named in a select item never loses an input column that item reads', () => {
  const columns = ['account_id', 'email', 'tier', 'amount', 'note'];
  const expr = fc.oneof(
    fc.constantFrom(...columns),
    fc.constantFrom(...columns).map((c) => `lower(${c})`),
    fc.tuple(fc.constantFrom(...columns), fc.constantFrom(...columns)).map(([a, b]) => `coalesce(${a}, ${b})`),
    fc.tuple(fc.constantFrom(...columns), fc.constantFrom(...columns)).map(([a, b]) => `CASE WHEN ${a} IS NULL THEN ${b} END`),
  );
  fc.assert(fc.property(fc.array(expr, { minLength: 1, maxLength: 4 }), fc.boolean(), (exprs, wrap) => {
    const items = exprs.map((e, i) => `${e} AS out_${i}`).join(', ');
    const sql = wrap ? `WITH t AS (SELECT * FROM accounts) SELECT ${items} FROM t` : `SELECT ${items} FROM accounts JOIN invoices USING (account_id)`;
    const lineage = transformColumnLineage(sql, inputs, exprs.map((_, i) => `out_${i}`));
    exprs.forEach((e, i) => {
      for (const c of columns.filter((c) => new RegExp(`\\b${c}\\b`).test(e))) {
        const expected = Object.entries(inputs).filter(([, s]) => c in s).map(([name]) => `${name}.${c}`);
        expect(lineage[`out_${i}`]).toEqual(expect.arrayContaining(expected));
      }
    });
  }));
});

describe('against DuckDB\'s own parser', () => {
  let engine: SqlEngine;
  beforeAll(async () => {
    engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
  });
  afterAll(async () => engine.close());

  /** Per select item of a plain SELECT, DuckDB's output name and the columns its expression references. */
  async function duckdbLineage(sql: string): Promise<Record<string, string[]>> {
    const [row] = await engine.all<{ tree: string }>(`SELECT json_serialize_sql(${literal(sql)})::VARCHAR AS tree`);
    const items = (JSON.parse(row!.tree) as { statements: { node: { select_list: Record<string, unknown>[] } }[] }).statements[0]!.node.select_list;
    const refs = (node: unknown): string[] => {
      if (Array.isArray(node)) return node.flatMap(refs);
      if (node === null || typeof node !== 'object') return [];
      const n = node as Record<string, unknown>;
      const own = n.class === 'COLUMN_REF' ? [String((n.column_names as string[]).at(-1)).toLowerCase()] : [];
      return [...own, ...Object.values(n).flatMap(refs)];
    };
    return Object.fromEntries(items.map((item) => [String(item.alias || (item.column_names as string[]).at(-1)).toLowerCase(), [...new Set(refs(item))].sort()]));
  }

  test('property: for random plain SELECTs, every column DuckDB sees an item reference is in its lineage, and nothing else', async () => {
    const column = fc.constantFrom('a.account_id', 'a.email', 'tier', 'i.amount', 'note', '"EMAIL"');
    const expr = fc.oneof(
      column,
      column.map((c) => `lower(${c})`),
      fc.tuple(column, column).map(([x, y]) => `coalesce(${x}, ${y})`),
      fc.tuple(column, column).map(([x, y]) => `CASE WHEN ${x} IS NULL THEN ${y} ELSE 'email' END`),
      column.map((c) => `CAST(${c} AS VARCHAR)`),
      fc.tuple(column, column).map(([x, y]) => `${x} || '-' || ${y}`),
      column.map((c) => `max(${c})`),
      fc.constant('count(*)'),
      column.map((c) => `1 + length(${c}::VARCHAR)`),
      fc.tuple(column, column).map(([x, y]) => `first(${x} ORDER BY ${y})`),
    );
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(expr, fc.boolean()), { minLength: 1, maxLength: 5 }), async (items) => {
      const list = items.map(([e, as], i) => `${e} ${as ? 'AS ' : ''}out_${i}`).join(', ');
      const sql = `SELECT ${list} FROM accounts a JOIN invoices i USING (account_id) WHERE a.tier <> 'x'`;
      const truth = await duckdbLineage(sql);
      const lineage = transformColumnLineage(sql, inputs, items.map((_, i) => `out_${i}`));
      items.forEach((_, i) => {
        const expected = truth[`out_${i}`]!.flatMap((c) => Object.entries(inputs).filter(([, s]) => c in s).map(([name]) => `${name}.${c}`));
        expect([...lineage[`out_${i}`]!].sort()).toEqual(expected.sort());
      });
    }), { numRuns: 100 });
  });
});
