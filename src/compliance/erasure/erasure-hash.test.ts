import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { entityKey, entityKeySql } from '../../definitions/index.js';
import { duckDbEngine } from '../../storage/engine/duckdb-engine.js';
import { keyedHash } from '../project-secret.js';
import { ERASURE_KEY_TABLE, ERASURE_PURPOSE, erasedEventHashSql, erasureHash, erasureHashSql, erasureHmacPads } from './erasure-hash.js';

test('the HMAC in DuckDB SQL equals erasureHash in JavaScript, for any key text (composite keys too) and any secret length', async () => {
  const engine = await duckDbEngine({ threads: 1 });
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 100 }),
        fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { minLength: 1, maxLength: 3 }),
        fc.constantFrom('customer', 'user_merchant', "it's"),
        async (secretBytes, parts, entity) => {
          const secret = Buffer.from(secretBytes);
          const pads = erasureHmacPads(secret);
          await engine.run(`CREATE OR REPLACE TEMP TABLE ${ERASURE_KEY_TABLE} (ipad VARCHAR, opad VARCHAR); CREATE OR REPLACE TEMP TABLE parts (p0 VARCHAR, p1 VARCHAR, p2 VARCHAR)`);
          await engine.appendColumns(ERASURE_KEY_TABLE, [{ type: 'text', values: [pads.inner] }, { type: 'text', values: [pads.outer] }]);
          await engine.appendColumns('parts', [0, 1, 2].map((i) => ({ type: 'text' as const, values: [parts[i] ?? null] })));
          const columns = parts.map((_, i) => `p${i}`);
          const [row] = await engine.all<{ h: string }>(`SELECT ${erasureHashSql(entity, entityKeySql(columns))} AS h FROM parts`);
          expect(row!.h).toBe(erasureHash(secret, entity, entityKey(parts)));
        },
      ),
      { numRuns: 60 },
    );
  } finally {
    await engine.close();
  }
});

test("an erased event's hash in SQL is the keyed hash (erasure purpose) of `event` NUL its text, distinct per text and from every subject's hash", async () => {
  const engine = await duckDbEngine({ threads: 1 });
  try {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 64 }), fc.string({ unit: 'grapheme', maxLength: 60 }), async (secretBytes, text) => {
        const secret = Buffer.from(secretBytes);
        const pads = erasureHmacPads(secret);
        await engine.run(`CREATE OR REPLACE TEMP TABLE ${ERASURE_KEY_TABLE} (ipad VARCHAR, opad VARCHAR); CREATE OR REPLACE TEMP TABLE texts (t VARCHAR)`);
        await engine.appendColumns(ERASURE_KEY_TABLE, [{ type: 'text', values: [pads.inner] }, { type: 'text', values: [pads.outer] }]);
        await engine.appendColumns('texts', [{ type: 'text', values: [text] }]);
        const [row] = await engine.all<{ h: string }>(`SELECT ${erasedEventHashSql('t')} AS h FROM texts`);
        expect(row!.h).toBe(keyedHash(secret, ERASURE_PURPOSE, `event\0${text}`));
        expect(row!.h).not.toBe(erasureHash(secret, 'event', text));
      }),
      { numRuns: 40 },
    );
  } finally {
    await engine.close();
  }
});

test('the SQL text never holds the secret: the pads come from a table', () => {
  const secret = randomBytes(32);
  const sql = erasureHashSql('customer', '"customer_id"');
  expect(sql).not.toContain(secret.toString('hex'));
  expect(sql).toContain(ERASURE_KEY_TABLE);
});
