import { ConflictError } from '../../../errors.js';
import type { ApiKey, KeyStore, StoredApiKey } from '../key-store.js';
import { inTransaction, type SqliteConnection } from './sqlite-driver.js';

export const KEYS_SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY, principal TEXT NOT NULL, roles TEXT NOT NULL, salt TEXT NOT NULL, hash TEXT NOT NULL,
  created_at INTEGER NOT NULL, created_by TEXT NOT NULL, revoked_at INTEGER, revoked_by TEXT);
`;

interface KeyRow {
  id: string; principal: string; roles: string; salt: string; hash: string; created_at: number; created_by: string; revoked_at: number | null; revoked_by: string | null;
}

const toKey = (row: KeyRow): ApiKey => ({
  id: row.id, principal: row.principal, roles: JSON.parse(row.roles) as string[], createdAt: row.created_at, createdBy: row.created_by,
  revokedAt: row.revoked_at, revokedBy: row.revoked_by,
});

/** API keys in the metadata database (see `KeyStore`). */
export function sqliteKeys(db: SqliteConnection): KeyStore {
  const sql = {
    insert: db.prepare('INSERT INTO api_keys (id, principal, roles, salt, hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    find: db.prepare('SELECT * FROM api_keys WHERE id = ?'),
    list: db.prepare('SELECT * FROM api_keys ORDER BY created_at, id'),
    revoke: db.prepare('UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL'),
    any: db.prepare('SELECT EXISTS (SELECT 1 FROM api_keys) AS any'),
  };
  return {
    async create(key) {
      return inTransaction(db, () => {
        if (sql.find.get(key.id)) throw new ConflictError('CONFLICT', `an API key with id "${key.id}" already exists; create a new key`);
        sql.insert.run(key.id, key.principal, JSON.stringify(key.roles), key.salt, key.hash, key.createdAt, key.createdBy);
        return toKey(sql.find.get(key.id) as KeyRow);
      });
    },
    async find(id) {
      const row = sql.find.get(id) as KeyRow | undefined;
      return row && ({ ...toKey(row), salt: row.salt, hash: row.hash } satisfies StoredApiKey);
    },
    async list() {
      return (sql.list.all() as KeyRow[]).map(toKey);
    },
    async revoke(id, at, by) {
      return inTransaction(db, () => {
        sql.revoke.run(at, by, id);
        const row = sql.find.get(id) as KeyRow | undefined;
        return row && toKey(row);
      });
    },
    async any() {
      return (sql.any.get() as { any: number }).any === 1;
    },
  };
}
