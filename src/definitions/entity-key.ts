import { int64TextSql, parseInt64Text } from './int64-text.js';

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

/** The length of `text` in UTF-8 bytes, without encoding it (a lone surrogate counts as U+FFFD, 3 bytes, as `TextEncoder` writes it). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * The longest entity key, and the longest event id, accepted, in UTF-8 bytes (a composite key
 * as encoded). LMDB keys hold at most 1978 bytes: the online store's key also holds the view
 * name and a generation, the event log's key of a remembered id the source name; 1024 leaves
 * room for both. Ingest refuses longer ones, so no store holds one.
 */
export const MAX_KEY_BYTES = 1024;

/**
 * Whether a text is longer than {@link MAX_KEY_BYTES} in UTF-8 (`strlen` in SQL), measured only
 * when its length could exceed it (a UTF-16 unit is at most 3 UTF-8 bytes).
 *
 * @example
 * exceedsKeyBytes('u1'); // false
 * exceedsKeyBytes('é'.repeat(513)); // true: 1026 bytes
 */
export const exceedsKeyBytes = (text: string): boolean => text.length * 3 > MAX_KEY_BYTES && utf8Length(text) > MAX_KEY_BYTES;

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
    key += `${utf8Length(text)}:${text}`;
  }
  return key;
}

/**
 * An int64 key part in the one text form the lake holds (`7` for `"007"`, `"+7"` or `7`), so a
 * request or a spine finds the entity however it writes the number. Text that is no whole
 * decimal number, or is out of range, stays as given (it matches no entity).
 *
 * @example
 * int64KeyPart('007') === '7';
 */
export function int64KeyPart(part: EntityKeyPart): EntityKeyPart {
  if (typeof part !== 'string') return part;
  const value = parseInt64Text(part);
  return value === undefined ? part : value.toString();
}

/**
 * The SQL of an int64 key part in the lake's text form, from a column of type `sqlType` as a
 * file gives it (see {@link int64KeyPart}); null when it is not a whole number in range. A
 * float holds one only up to 2^53.
 */
export function int64KeyPartSql(column: string, sqlType: string): string {
  if (sqlType === 'DOUBLE' || sqlType === 'FLOAT') {
    return `CASE WHEN ${column} = floor(${column}) AND abs(${column}) <= 9007199254740992 THEN CAST(CAST(${column} AS BIGINT) AS VARCHAR) END`;
  }
  return `CAST(${int64TextSql(`CAST(${column} AS VARCHAR)`)} AS VARCHAR)`;
}
