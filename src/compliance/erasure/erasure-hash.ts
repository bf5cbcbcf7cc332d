import { createHash } from 'node:crypto';
import { keyedHash } from '../project-secret.js';

/** The keyed-hash purpose of erased subjects: the block list, requests and certificates use it, nothing else. */
export const ERASURE_PURPOSE = 'erasure';

/**
 * The keyed hash of an erased subject, `<entity>:<key>` (the entity key as `entityKey` encodes
 * it: a composite key's parts length-prefixed). The one form a subject is stored in.
 *
 * @example
 * erasureHash(projectSecret(ctx.dataDir), 'customer', 'c42'); // 64 hex digits
 */
export function erasureHash(secret: Buffer, entity: string, key: string): string {
  return keyedHash(secret, ERASURE_PURPOSE, `${entity}:${key}`);
}

/**
 * The inner and outer HMAC-SHA256 pads of the secret, hex, with the erasure purpose (and its
 * separator) already after the inner pad: what {@link erasureHashSql} reads from its key table,
 * so the secret never appears in SQL text (which errors and logs may show).
 */
export function erasureHmacPads(secret: Buffer): { readonly inner: string; readonly outer: string } {
  const block = Buffer.alloc(64);
  (secret.length > 64 ? createHash('sha256').update(secret).digest() : secret).copy(block);
  const inner = Buffer.from(block.map((b) => b ^ 0x36));
  const outer = Buffer.from(block.map((b) => b ^ 0x5c));
  return { inner: Buffer.concat([inner, Buffer.from(`${ERASURE_PURPOSE}\0`, 'utf8')]).toString('hex'), outer: outer.toString('hex') };
}

/** The DuckDB table (one row: `ipad`, `opad`, hex) {@link erasureHashSql} reads the pads from. */
export const ERASURE_KEY_TABLE = '_sluice_erasure_key';

/**
 * {@link erasureHash} as a DuckDB expression over `keySql` (text: the entity key as `entityKeySql`
 * gives it), computed with `sha256` as RFC 2104 defines HMAC; the pads come from
 * {@link ERASURE_KEY_TABLE}. `entity` must be a validated entity name.
 */
export function erasureHashSql(entity: string, keySql: string): string {
  return hmacSql(`${`'${entity.replaceAll("'", "''")}:'`} || ${keySql}`);
}

/**
 * The keyed hash (erasure purpose) of an erased event's text `textSql`, as a DuckDB expression:
 * the event's identity in its dead letter, which keeps no text of its own, so distinct events of
 * one subject stay distinct dead letters and a retried one is still one. Its message,
 * `event` NUL `<text>`, is never a subject's `<entity>:<key>` (an entity name has no NUL).
 *
 * @example
 * `'{"erased": "' || _sluice_h || '", "event": "' || ${erasedEventHashSql('_raw')} || '"}'`
 */
export function erasedEventHashSql(textSql: string): string {
  return hmacSql(`'event' || chr(0) || coalesce(${textSql}, '')`);
}

/** HMAC-SHA256 of the text `messageSql` with the erasure pads of {@link ERASURE_KEY_TABLE}, hex. */
function hmacSql(messageSql: string): string {
  const pad = (which: 'inner' | 'outer') => `unhex((SELECT ${which === 'inner' ? 'ipad' : 'opad'} FROM ${ERASURE_KEY_TABLE}))`;
  return `sha256(${pad('outer')} || unhex(sha256(${pad('inner')} || encode(${messageSql}))))`;
}
