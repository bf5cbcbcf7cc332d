import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { ColumnType, MaskMethod } from '../../definitions/index.js';
import { duckDbEngine } from '../../storage/engine/duckdb-engine.js';
import { literal, type SqlEngine } from '../../storage/engine/sql-engine.js';
import { keyedHash } from '../project-secret.js';
import { maskKey, maskKeySql, maskValue, maskValueSql, MASK_PURPOSE } from './mask-methods.js';

let engine: SqlEngine;
beforeAll(async () => {
  engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
});
afterAll(async () => engine?.close());

const secretArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b));
// Any text: ASCII, accents, astral-plane characters, a NUL, quotes.
const textArb = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !s.includes('\0')));
const int64Arb = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });

async function sqlValue(sql: string): Promise<unknown> {
  const [row] = await engine.all<{ v: unknown }>(`SELECT ${sql} AS v`);
  return row!.v;
}

async function both(method: MaskMethod, type: ColumnType, jsValue: unknown, sqlLiteral: string, secret: Buffer): Promise<[unknown, unknown]> {
  const key = maskKey(secret);
  const statements = maskKeySql(key);
  await engine.run(statements.set);
  try {
    return [maskValue(method, type, jsValue, () => key), await sqlValue(maskValueSql(method, type, sqlLiteral))];
  } finally {
    await engine.run(statements.reset);
  }
}

test('hash: the SQL form (HMAC written with sha256 over the pads) equals keyedHash(secret, "mask", value) in JavaScript, for strings and int64', async () => {
  await fc.assert(
    fc.asyncProperty(secretArb, textArb, async (secret, text) => {
      const [js, sql] = await both('hash', 'string', text, `${literal(text)}::VARCHAR`, secret);
      expect(js).toBe(keyedHash(secret, MASK_PURPOSE, text));
      expect(sql).toBe(js);
    }),
    { numRuns: 150 },
  );
  await fc.assert(
    fc.asyncProperty(secretArb, int64Arb, async (secret, n) => {
      const jsValue = Number.isSafeInteger(Number(n)) ? Number(n) : n;
      const [js, sql] = await both('hash', 'int64', jsValue, `'${n}'::BIGINT`, secret);
      expect(js).toBe(keyedHash(secret, MASK_PURPOSE, n.toString()));
      expect(sql).toBe(js);
    }),
    { numRuns: 100 },
  );
});

test('last4 and year give the same value in JavaScript and SQL', async () => {
  const secret = Buffer.alloc(32, 1);
  await fc.assert(
    fc.asyncProperty(textArb, async (text) => {
      const [js, sql] = await both('last4', 'string', text, `${literal(text)}::VARCHAR`, secret);
      expect(sql).toBe(js);
      const chars = Array.from(text);
      expect(js).toBe(chars.length >= 8 ? `****${chars.slice(-4).join('')}` : '****');
    }),
    { numRuns: 150 },
  );
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: Date.UTC(1800, 0, 1), max: Date.UTC(2200, 0, 1) }), async (ms) => {
      const iso = new Date(ms).toISOString();
      const [js, sql] = await both('year', 'timestamp', iso, `epoch_ms(${ms}::BIGINT)`, secret);
      const [asEpoch] = await engine.all<{ v: number }>(`SELECT epoch_ms(${maskValueSql('year', 'timestamp', `epoch_ms(${ms}::BIGINT)`)})::DOUBLE AS v`);
      expect(js).toBe(new Date(Date.UTC(new Date(ms).getUTCFullYear(), 0, 1)).toISOString());
      expect(asEpoch!.v).toBe(Date.parse(js as string));
      expect(sql).toBeDefined();
      expect(maskValue('year', 'timestamp', ms, () => maskKey(secret))).toBe(Date.parse(js as string));
    }),
    { numRuns: 60 },
  );
});

test('each method, per type: null keeps nothing, a method a type cannot take gives null of that type, null stays null', async () => {
  const key = maskKey(Buffer.alloc(32, 2));
  const k = () => key;
  expect(maskValue('null', 'string', 'alice@example.com', k)).toBeNull();
  expect(maskValue('clear', 'string', 'alice@example.com', k)).toBe('alice@example.com');
  expect(maskValue('hash', 'string', 'alice@example.com', k)).toMatch(/^[0-9a-f]{64}$/);
  expect(maskValue('hash', 'int64', 33612345678, k)).toBe(maskValue('hash', 'string', '33612345678', k));
  expect(maskValue('hash', 'float64', 12.5, k)).toBeNull();
  expect(maskValue('hash', 'bool', true, k)).toBeNull();
  expect(maskValue('hash', 'float32[3]', [1, 2, 3], k)).toBeNull();
  expect(maskValue('last4', 'string', '+33612345678', k)).toBe('****5678');
  expect(maskValue('last4', 'string', '1234567', k)).toBe('****');
  expect(maskValue('last4', 'int64', 4111111111111111n, k)).toBe('****1111');
  expect(maskValue('year', 'timestamp', '1990-05-17T10:20:30.000Z', k)).toBe('1990-01-01T00:00:00.000Z');
  expect(maskValue('year', 'string', '1990-05-17', k)).toBeNull();
  for (const method of ['null', 'hash', 'last4', 'year', 'clear'] as const) expect(maskValue(method, 'string', null, k)).toBeNull();
  const [row] = await engine.all<{ t: string; f: string }>(`SELECT typeof(${maskValueSql('null', 'timestamp', 'now()::TIMESTAMP')}) AS t, typeof(${maskValueSql('hash', 'float64', '1.5::DOUBLE')}) AS f`);
  expect(row).toEqual({ t: 'TIMESTAMP', f: 'DOUBLE' });
});

test('the key reaches SQL only through session variables, never in the masking expression', () => {
  const key = maskKey(Buffer.alloc(32, 9));
  const sql = maskValueSql('hash', 'string', '"email"');
  expect(sql).not.toContain(key.outerPadHex);
  expect(sql).not.toContain(key.innerPrefixHex);
  expect(sql).not.toContain(Buffer.alloc(32, 9).toString('hex'));
});
