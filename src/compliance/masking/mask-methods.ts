import { createHmac } from 'node:crypto';
import type { ColumnType, MaskMethod } from '../../definitions/index.js';

/** The keyed-hash purpose of masked values: a masked token never matches an erasure or audit token. */
export const MASK_PURPOSE = 'mask';

/** What `last4` shows in place of the hidden characters. */
const HIDDEN = '****';
/** `last4` shows the tail only of values at least this long, so at most half of a value is shown. */
const LAST4_MIN_LENGTH = 8;

/** Types whose values `hash` and `last4` read as text: a string, or an int64 as its decimal digits. */
const TEXTUAL: readonly ColumnType[] = ['string', 'int64'];

/**
 * The type of a masked value: `hash` and `last4` give strings (of a string or an int64 value);
 * every other case keeps the column's type (`year` of a timestamp is a timestamp, a value a
 * method cannot show is a null of its own type).
 */
export function maskedType(method: MaskMethod, type: ColumnType): ColumnType {
  return (method === 'hash' || method === 'last4') && TEXTUAL.includes(type) ? 'string' : type;
}

/** Whether the method shows anything of a value of this type (else the value is masked to null). */
function shows(method: MaskMethod, type: ColumnType): boolean {
  if (method === 'clear') return true;
  if (method === 'hash' || method === 'last4') return TEXTUAL.includes(type);
  if (method === 'year') return type === 'timestamp';
  return false;
}

/** HMAC-SHA256 as `keyedHash(secret, MASK_PURPOSE, text)`, with the key's pads precomputed once. */
export interface MaskKey {
  readonly secret: Buffer;
  /** The key XOR ipad (64 bytes) followed by the purpose and its separator, as hex: the inner hash's prefix. */
  readonly innerPrefixHex: string;
  /** The key XOR opad (64 bytes), as hex. */
  readonly outerPadHex: string;
}

/** Pads of the project secret for the masking hash (see `keyedHash`: HMAC over `purpose \0 value`). */
export function maskKey(secret: Buffer): MaskKey {
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = padsOf(secret)));
  return key;
}

const keys = new WeakMap<Buffer, MaskKey>();

function padsOf(secret: Buffer): MaskKey {
  // HMAC (RFC 2104): keys longer than the block are hashed first; the project secret is 32 bytes.
  if (secret.length > 64) throw new Error('the masking key must be at most 64 bytes');
  const block = Buffer.alloc(64);
  secret.copy(block);
  const inner = Buffer.concat([block.map((b) => b ^ 0x36), Buffer.from(`${MASK_PURPOSE}\0`, 'utf8')]);
  return { secret, innerPrefixHex: inner.toString('hex'), outerPadHex: Buffer.from(block.map((b) => b ^ 0x5c)).toString('hex') };
}

/** Hashes already computed, per secret: serving asks for the same entities' values again and again. Bounded; emptied when full. */
const hashes = new WeakMap<Buffer, Map<string, string>>();
const MAX_REMEMBERED = 50_000;

function hashText(secret: Buffer, text: string): string {
  let known = hashes.get(secret);
  if (!known) hashes.set(secret, (known = new Map()));
  let hash = known.get(text);
  if (hash === undefined) {
    hash = createHmac('sha256', secret).update(MASK_PURPOSE).update('\0').update(text).digest('hex');
    if (known.size >= MAX_REMEMBERED) known.clear();
    known.set(text, hash);
  }
  return hash;
}

function maskText(method: 'hash' | 'last4', text: string, key: () => MaskKey): string {
  if (method === 'hash') return hashText(key().secret, text);
  const chars = Array.from(text);
  return chars.length >= LAST4_MIN_LENGTH ? HIDDEN + chars.slice(-4).join('') : HIDDEN;
}

/** 1 January 00:00 UTC of a time's year, in the form it was given (epoch ms, or ISO-8601 text). */
function yearOf(value: unknown): unknown {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : typeof value === 'bigint' ? Number(value) : Number.NaN;
  if (!Number.isFinite(ms)) return null;
  const start = Date.UTC(new Date(ms).getUTCFullYear(), 0, 1);
  return typeof value === 'string' ? new Date(start).toISOString() : start;
}

/**
 * A value masked with `method` in JavaScript: a served answer, a dead letter. Null stays null.
 * Equal to {@link maskValueSql} on the same value (tested), so a served value and a dataset
 * value masked the same way are the same text.
 *
 * @example
 * maskValue('last4', 'string', '+33612345678', key); // '****5678'
 */
export function maskValue(method: MaskMethod, type: ColumnType, value: unknown, key: () => MaskKey): unknown {
  if (method === 'clear' || value === null || value === undefined) return value ?? null;
  if (!shows(method, type)) return null;
  if (method === 'year') return yearOf(value);
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'bigint' ? String(value) : undefined;
  return text === undefined ? null : maskText(method as 'hash' | 'last4', text, key);
}

/** The DuckDB variables that hold the masking key's pads while a build runs (set by {@link maskKeySql}). */
const INNER_VARIABLE = 'sluice_mask_inner';
const OUTER_VARIABLE = 'sluice_mask_outer';

/**
 * The statements that give a DuckDB session the masking key (as variables, so the key is in no
 * query text that an error or a log could quote), and the one that clears it again.
 */
export function maskKeySql(key: MaskKey): { readonly set: string; readonly reset: string } {
  return {
    set: `SET VARIABLE ${INNER_VARIABLE} = unhex('${key.innerPrefixHex}'); SET VARIABLE ${OUTER_VARIABLE} = unhex('${key.outerPadHex}')`,
    reset: `RESET VARIABLE ${INNER_VARIABLE}; RESET VARIABLE ${OUTER_VARIABLE}`,
  };
}

/**
 * The same masking as DuckDB SQL over `expr` (the value in its lake type: VARCHAR, BIGINT,
 * TIMESTAMP, ...), set-based: the keyed hash is HMAC-SHA256 written with `sha256` over the
 * key's pads, which the session holds as variables (run {@link maskKeySql}'s `set` first), so no
 * row goes through JavaScript.
 *
 * @example
 * `SELECT ${maskValueSql('hash', 'string', '"email"')} AS email FROM customers`
 */
export function maskValueSql(method: MaskMethod, type: ColumnType, expr: string): string {
  if (method === 'clear') return expr;
  // CASE keeps the expression's SQL type: a masked column is a null of its own type.
  if (!shows(method, type)) return `(CASE WHEN FALSE THEN ${expr} END)`;
  if (method === 'year') return `date_trunc('year', ${expr})`;
  const text = type === 'string' ? `(${expr})` : `CAST(${expr} AS VARCHAR)`;
  if (method === 'last4') return `(CASE WHEN ${text} IS NULL THEN NULL WHEN length(${text}) >= ${LAST4_MIN_LENGTH} THEN '${HIDDEN}' || right(${text}, 4) ELSE '${HIDDEN}' END)`;
  return `sha256(getvariable('${OUTER_VARIABLE}') || unhex(sha256(getvariable('${INNER_VARIABLE}') || encode(${text}))))`;
}
