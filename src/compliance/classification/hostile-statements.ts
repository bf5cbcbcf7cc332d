/**
 * SQL over `accounts (account_id, email, tier, ts)` that puts accounts.email into the named output
 * column without naming it there (found by the governance pass, 11-30): every lineage must carry
 * email to that column. Shared by the token and the parsed lineage's tests.
 */
export const HOSTILE_STATEMENTS: readonly (readonly [sql: string, output: string])[] = [
  ['SELECT account_id, x AS nick FROM accounts, unnest([email]) AS t(x)', 'nick'],
  ['SELECT account_id, to_json(a)::VARCHAR AS nick FROM accounts a', 'nick'],
  ['SELECT account_id, accounts::VARCHAR AS nick FROM accounts', 'nick'],
  ["SELECT account_id, struct_extract(a, 'email') AS nick FROM accounts a", 'nick'],
  ['SELECT * REPLACE (email AS tier) FROM accounts', 'tier'],
  ['SELECT * RENAME (email AS nick) FROM accounts', 'nick'],
  ['SELECT email AS e, e AS nick FROM accounts', 'nick'],
  ['SELECT #2 AS nick FROM accounts', 'nick'],
  ["SELECT COLUMNS('emai.') AS nick FROM accounts", 'nick'],
  ['SELECT * FROM accounts, unnest([email]) AS t(nick)', 'nick'],
  ['SELECT account_id, nick FROM accounts, (VALUES (email)) v(nick)', 'nick'],
  ['SELECT account_id, v.tier FROM accounts, (VALUES (email)) v(tier)', 'tier'],
  ['SELECT tier FROM accounts a(account_id, tier)', 'tier'],
  ['SELECT account_id, nick FROM accounts CROSS JOIN LATERAL (SELECT email AS nick)', 'nick'],
  ['WITH t AS (SELECT * FROM accounts) SELECT account_id, to_json(t)::VARCHAR AS nick FROM t', 'nick'],
  ['SELECT account_id, list_transform([email], q -> q)[1] AS nick FROM accounts', 'nick'],
  // Found by the session's review (11-30): DuckDB's method-call syntax, a name given twice, quotes the tokens misread.
  ['SELECT account_id, email.lower() AS nick FROM accounts', 'nick'],
  ['SELECT account_id, email.substr(1) nick FROM accounts', 'nick'],
  ['SELECT account_id, email.lower().upper() AS nick FROM accounts', 'nick'],
  ['SELECT account_id, a.email.lower() AS nick FROM accounts a', 'nick'],
  ['SELECT account_id, email AS nick, tier AS nick FROM accounts', 'nick'],
  ['SELECT *, tier AS email FROM accounts', 'email'],
  ["SELECT account_id, $$'$$ AS pad, email AS nick FROM accounts -- ' AS nick", 'nick'],
  ["SELECT account_id, E'\\'' AS pad, email AS nick FROM accounts -- ' AS nick", 'nick'],
];
