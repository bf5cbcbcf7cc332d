/**
 * The one home of the entity key: the single text `_key` by which every path (lake events,
 * materialized online tables, spines, requests) identifies an entity.
 *
 * - One join key: the value as text, `CAST(col AS VARCHAR)` / `String(value)`, as always.
 * - Several join keys: each part as its length in UTF-8 bytes (decimal), `:`, then the part,
 *   concatenated: `("u1", "m45")` is `2:u13:m45`. The lengths make it unambiguous, so
 *   `("a:b", "c")` and `("a", "b:c")` never collide, whatever the parts contain.
 *
 * A key with a null part is null: that row identifies no entity.
 */

/** A join key value as a request gives it: text, or an integer (int64 beyond 2^53 as text or bigint). */
export type EntityKeyPart = string | number | bigint;

const utf8 = new TextEncoder();

/**
 * The SQL expression of the key, from SQL expressions of the key columns in join key order
 * (already quoted identifiers). Null when any part is null (`||` propagates NULL).
 *
 * @example
 * entityKeySql(['"user_id"', '"merchant_id"']);
 */
export function entityKeySql(columns: readonly string[]): string {
  if (columns.length === 1) return `CAST(${columns[0]} AS VARCHAR)`;
  return columns.map((c) => `CAST(strlen(CAST(${c} AS VARCHAR)) AS VARCHAR) || ':' || CAST(${c} AS VARCHAR)`).join(' || ');
}

/**
 * The key of one entity from its join key values in join key order: the same text
 * {@link entityKeySql} computes in the engine.
 *
 * @example
 * entityKey(['u1', 'm45']) === '2:u13:m45';
 */
export function entityKey(parts: readonly EntityKeyPart[]): string {
  if (parts.length === 1) return String(parts[0]);
  let key = '';
  for (const part of parts) {
    const text = String(part);
    key += `${utf8.encode(text).length}:${text}`;
  }
  return key;
}
