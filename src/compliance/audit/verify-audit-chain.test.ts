import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { AuditRecord } from '../../storage/metadata/audit-store.js';
import type { MetadataStore } from '../../storage/metadata/metadata-store.js';
import { sqliteMetadataStore } from '../../storage/metadata/sqlite/index.js';
import { openSqlite, type SqliteConnection } from '../../storage/metadata/sqlite/sqlite-driver.js';
import { auditRecordHash, GENESIS_HASH } from '../audit-hash.js';
import { appendCheckpoint, CHECKPOINT_ACTION, latestCheckpoint, type AuditCheckpoint } from './audit-checkpoint.js';
import { exportAuditTrail, parseAuditExport, verifyAuditExport } from './audit-export.js';
import { auditKeyId, auditSigningKey, type AuditSigningKey } from './audit-signing-key.js';
import { checkpointingAuditTrail } from './auto-checkpoints.js';
import { chainVerifier, verifyAuditTrail } from './verify-audit-chain.js';

let dir: string;
let path: string;
let store: MetadataStore;
let key: AuditSigningKey;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-audit-'));
  path = join(dir, 'metadata.db');
  store = sqliteMetadataStore({ path });
  key = auditSigningKey(dir);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Six records by actors cli:user1..cli:user6. */
async function sixRecords(): Promise<void> {
  for (let i = 1; i <= 6; i++) await store.audit.append({ actor: `cli:user${i}`, action: 'ingest', target: `source:s${i}`, outcome: 'succeeded', origin: 'local', details: { rows: i } }, 1000 * i);
}

const verify = (witness?: AuditCheckpoint) => verifyAuditTrail(store.audit, { publicKeys: [key.publicKey], ...(witness ? { witness } : {}) });

/** What an attacker with the file does: open it with SQLite, drop the triggers, change rows. */
async function tamper(sql: string): Promise<void> {
  await store.close();
  const db: SqliteConnection = openSqlite(path);
  db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
  db.exec(sql);
  db.close();
  store = sqliteMetadataStore({ path });
}

describe('audit chain verification catches tampering with the SQLite file', () => {
  test('an intact chain verifies, with the checkpoint stored in it and a witness', async () => {
    await sixRecords();
    const made = await appendCheckpoint(store.audit, key, 7000, { actor: 'cli:ops', reason: 'manual' });
    expect(made?.checkpoint).toMatchObject({ seq: 6, keyId: key.keyId });
    expect(made?.record).toMatchObject({ seq: 7, action: CHECKPOINT_ACTION });
    expect(await latestCheckpoint(store.audit)).toMatchObject({ seq: 6, hash: made!.checkpoint.hash });
    const result = await verify(made!.checkpoint);
    expect(result).toMatchObject({ ok: true, records: 7, firstSeq: 1, head: { seq: 7 }, checkpoints: 1, witness: { seq: 6, matched: true }, problem: null });
  });

  test('the table refuses UPDATE and DELETE (append-only at the storage level)', async () => {
    await sixRecords();
    await store.close();
    const db = openSqlite(path);
    expect(() => db.exec("UPDATE audit_log SET actor = 'x' WHERE seq = 2")).toThrow(/audit_log is append-only: records cannot be changed/);
    expect(() => db.exec('DELETE FROM audit_log WHERE seq = 2')).toThrow(/audit_log is append-only: records cannot be deleted/);
    db.close();
    store = sqliteMetadataStore({ path });
    expect((await verify()).ok).toBe(true);
  });

  test('one byte changed in the file names that record', async () => {
    await sixRecords();
    await store.close();
    const bytes = readFileSync(path);
    const at = bytes.indexOf('cli:user3');
    expect(at).toBeGreaterThan(0);
    expect(bytes.indexOf('cli:user3', at + 1)).toBe(-1);
    bytes[at + 8] = '7'.charCodeAt(0);
    writeFileSync(path, bytes);
    store = sqliteMetadataStore({ path });
    expect((await store.audit.list({ fromSeq: 3, limit: 1 }))[0]!.actor).toBe('cli:user7');
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.problem).toEqual({ seq: 3, reason: 'its content does not match its hash: the record was changed after it was written' });
  });

  test('a deleted record', async () => {
    await sixRecords();
    await tamper('DELETE FROM audit_log WHERE seq = 4');
    expect((await verify()).problem).toEqual({ seq: 4, reason: 'record 4 is missing (the chain goes from record 3 to record 5): records were deleted' });
  });

  test('the first records deleted', async () => {
    await sixRecords();
    await tamper('DELETE FROM audit_log WHERE seq <= 2');
    expect((await verify()).problem).toEqual({ seq: 1, reason: 'record 1 is missing (the chain goes from its start to record 3): records were deleted' });
  });

  test('two records reordered', async () => {
    await sixRecords();
    await tamper('UPDATE audit_log SET seq = -1 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = -1;');
    expect((await store.audit.list({ fromSeq: 3, limit: 1 }))[0]!.actor).toBe('cli:user4');
    expect((await verify()).problem).toEqual({ seq: 3, reason: 'its content does not match its hash: the record was changed after it was written' });
  });

  test('two records swapped whole (seq and hash fields kept with their content) break the link', async () => {
    await sixRecords();
    const [r3, r4] = await store.audit.list({ fromSeq: 3, limit: 2 });
    // Re-hash each swapped record at its new position, as a careful forger would: the links still break.
    const moved = (r: AuditRecord, seq: number, prevHash: string) => ({ ...r, seq, prevHash, hash: auditRecordHash({ ...r, seq, prevHash }) });
    const new3 = moved(r4!, 3, r3!.prevHash);
    const new4 = moved(r3!, 4, new3.hash);
    const set = (r: AuditRecord) => `UPDATE audit_log SET actor = '${r.actor}', target = '${r.target}', at = ${r.at}, details = '${JSON.stringify(r.details)}', prev_hash = '${r.prevHash}', hash = '${r.hash}' WHERE seq = ${r.seq};`;
    await tamper(set(new3) + set(new4));
    expect((await verify()).problem).toEqual({ seq: 5, reason: 'its prevHash is not the hash of record 4: records were reordered, or one before it was replaced' });
  });

  test('a truncated tail passes without a witness and fails against a witness checkpoint kept elsewhere', async () => {
    await sixRecords();
    const witness = (await appendCheckpoint(store.audit, key, 7000, { actor: 'cli:ops', reason: 'manual' }))!.checkpoint;
    await tamper('DELETE FROM audit_log WHERE seq >= 5');
    expect((await verify()).ok).toBe(true);
    const result = await verify(witness);
    expect(result.ok).toBe(false);
    expect(result.problem).toEqual({ seq: 5, reason: `record 5 is missing: the chain ends at record 4 but the checkpoint signed at 1970-01-01T00:00:07.000Z vouches for record 6: its tail was removed` });
    expect(result.witness).toMatchObject({ seq: 6, matched: false });
  });

  test('a chain rewritten and re-hashed from scratch: caught by the checkpoint stored in it, or, when the forger drops those too, by a stale witness', async () => {
    await sixRecords();
    const witness = (await appendCheckpoint(store.audit, key, 7000, { actor: 'cli:ops', reason: 'manual' }))!.checkpoint;
    await store.audit.append({ actor: 'cli:user8', action: 'gc', target: 'lake', outcome: 'succeeded' }, 8000);
    const forge = async (keepCheckpoints: boolean) => {
      let prevHash = GENESIS_HASH;
      const rows = (await store.audit.list()).filter((r) => keepCheckpoints || r.action !== CHECKPOINT_ACTION).map((r, i) => {
        const base = { ...r, seq: i + 1, prevHash, ...(r.seq === 2 ? { target: 'source:innocent' } : {}) };
        const hash = auditRecordHash(base);
        prevHash = hash;
        return { ...base, hash };
      });
      const values = rows.map((r) => `(${r.seq}, ${r.at}, '${r.actor}', '${r.action}', '${r.target}', '${r.outcome}', ${r.origin ? `'${r.origin}'` : 'NULL'}, NULL, ${r.details ? `'${JSON.stringify(r.details)}'` : 'NULL'}, '${r.prevHash}', '${r.hash}')`);
      await tamper(`DELETE FROM audit_log; INSERT INTO audit_log (seq, at, actor, action, target, outcome, origin, purpose, details, prev_hash, hash) VALUES ${values.join(', ')};`);
    };
    await forge(true);
    expect((await verify()).problem).toEqual({ seq: 6, reason: 'its hash differs from the one checkpoint record 7 signed at 1970-01-01T00:00:07.000Z: the chain up to record 6 was rewritten' });
    await forge(false);
    expect((await verify()).ok).toBe(true);
    expect((await verify(witness)).problem).toEqual({ seq: 6, reason: 'its hash differs from the one in the checkpoint signed at 1970-01-01T00:00:07.000Z: the chain up to record 6 was rewritten' });
  });

  test('a witness with a changed hash, or signed by a key that is not trusted, is refused', async () => {
    await sixRecords();
    const witness = (await appendCheckpoint(store.audit, key, 7000, { actor: 'cli:ops', reason: 'manual' }))!.checkpoint;
    const altered = { ...witness, seq: 5, hash: (await store.audit.list({ fromSeq: 5, limit: 1 }))[0]!.hash };
    expect((await verify(altered)).problem).toEqual({ reason: `the checkpoint signed at 1970-01-01T00:00:07.000Z has a signature that does not verify with key ${key.keyId}: it was forged or altered` });
    const other = generateKeyPairSync('ed25519').publicKey;
    const result = await verifyAuditTrail(store.audit, { publicKeys: [other], witness });
    expect(result.problem).toEqual({ seq: 7, reason: `the checkpoint it holds (for record 6) is signed by key ${key.keyId}, which is not trusted (trusted: ${auditKeyId(other)}); pass that key's public key with --public-key` });
  });
});

describe('export and automatic checkpoints', () => {
  test('an export since a time verifies offline with the public key, and a record changed in it does not', async () => {
    await sixRecords();
    const lines: string[] = [];
    const written = await exportAuditTrail(store.audit, key, { since: 3500, at: 9000, request: { actor: 'cli:ops', reason: 'export' } }, (l) => void lines.push(l));
    expect(written).toBe(4);
    const parsed = parseAuditExport(lines.join('\n'), 'audit.jsonl');
    expect(parsed.header).toMatchObject({ fromSeq: 4, toSeq: 7, keyId: key.keyId });
    expect(parsed.records.map((r) => r.seq)).toEqual([4, 5, 6, 7]);
    const check = (records: readonly AuditRecord[]) => {
      const verifier = chainVerifier({ publicKeys: [key.publicKey], witness: parsed.checkpoint, partial: true });
      for (const r of records) if (!verifier.add(r)) break;
      return verifier.finish();
    };
    expect(check(parsed.records)).toMatchObject({ ok: true, records: 4, firstSeq: 4, checkpoints: 1, witness: { seq: 6, matched: true } });
    const forged = parsed.records.map((r) => (r.seq === 5 ? { ...r, outcome: 'failed' as const } : r));
    expect(check(forged).problem).toEqual({ seq: 5, reason: 'its content does not match its hash: the record was changed after it was written' });
    expect(() => parseAuditExport(lines.slice(0, -1).join('\n'), 'cut.jsonl')).toThrow('cut.jsonl has no checkpoint line: it is cut short; export it again');
  });

  test('an export whose first or last records are cut fails, whether or not its header was edited to match: the header\'s range is signed', async () => {
    await sixRecords();
    const lines: string[] = [];
    await exportAuditTrail(store.audit, key, { since: 0, at: 9000, request: { actor: 'cli:ops', reason: 'export' } }, (l) => void lines.push(l));
    const [header, ...rest] = lines;
    const records = rest.slice(0, -1);
    const checkpoint = rest[rest.length - 1]!;
    const verifyLines = (...parts: string[]) => verifyAuditExport(parseAuditExport(parts.join('\n'), 'audit.jsonl'), [key.publicKey]);
    expect(verifyLines(header!, ...records, checkpoint)).toMatchObject({ ok: true, records: 7, range: { fromSeq: 1, toSeq: 7, signed: true } });
    expect(verifyLines(header!, ...records.slice(3), checkpoint).problem).toEqual({ seq: 1, reason: 'record 1 is missing: the export\'s range starts there but its first record is record 4: records were cut from its start' });
    const edited = JSON.stringify({ ...JSON.parse(header!), fromSeq: 4 });
    expect(verifyLines(edited, ...records.slice(3), checkpoint).problem).toEqual({ reason: `the export's header has a range signature that does not verify with key ${key.keyId}: its range (records 4..7) was altered` });
    expect(verifyLines(header!, ...records.slice(0, -1), checkpoint).problem).toEqual({ seq: 7, reason: 'record 7 is missing: the export\'s range ends at record 7 but its last record is 6: its tail was removed' });
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(verifyAuditExport(parseAuditExport(lines.join('\n'), 'audit.jsonl'), [other]).ok).toBe(false);
  });

  test('a v1 export (range not signed) fails unless its unsigned range is accepted: a v1 header can be forged over a cut export', async () => {
    await sixRecords();
    const lines: string[] = [];
    await exportAuditTrail(store.audit, key, { since: 0, at: 9000, request: { actor: 'cli:ops', reason: 'export' } }, (l) => void lines.push(l));
    const { fromPrevHash: _p, toHash: _h, signature: _s, ...v1 } = { ...JSON.parse(lines[0]!), format: 'sluice-audit-export/v1' } as Record<string, unknown>;
    const old = [JSON.stringify(v1), ...lines.slice(1)];
    const verifyLines = (parts: string[], acceptUnsignedRange?: boolean) => verifyAuditExport(parseAuditExport(parts.join('\n'), 'audit.jsonl'), [key.publicKey], acceptUnsignedRange === undefined ? {} : { acceptUnsignedRange });
    expect(verifyLines(old)).toMatchObject({
      ok: false, records: 7, range: { fromSeq: 1, toSeq: 7, signed: false, unsignedAccepted: false },
      problem: { reason: 'the export\'s range (records 1..7) is not signed (a v1 export, written before 2026-12-01): records cut from its start with its header edited to match would not be caught, and a v1 header can be written over any export; export the records again (sluice audit export) for a signed range, or pass --accept-unsigned-range to accept it as it is (recorded in the audit trail)' },
    });
    expect(verifyLines(old, true)).toMatchObject({ ok: true, records: 7, problem: null, range: { signed: false, unsignedAccepted: true } });
    // Accepted, its records are still checked against its header's range.
    expect(verifyLines([old[0]!, ...old.slice(4)], true).problem).toMatchObject({ seq: 1 });
    // A v2 export cut at its start and given a v1 header with fromSeq edited to match: refused unless accepted.
    const forged = JSON.stringify({ ...v1, fromSeq: 4 });
    expect(verifyLines([forged, ...old.slice(4)]).ok).toBe(false);
    expect(verifyLines(lines).range).toEqual({ fromSeq: 1, toSeq: 7, signed: true, unsignedAccepted: false });
  });

  test('the trail checkpoints itself every N records, and the chain with its checkpoints verifies', async () => {
    const errors: unknown[] = [];
    const trail = checkpointingAuditTrail(store.audit, { every: 5, key: () => key, onError: (e) => errors.push(e) });
    const event = { actor: 'key:svc', action: 'serve.read', target: 'service:fraud_v1', outcome: 'allowed' } as const;
    for (let i = 0; i < 8; i++) await trail.append(event, i);
    await trail.appendMany([8, 9, 10, 11].map((at) => ({ event, at })));
    const checkpoints = await store.audit.list({ action: CHECKPOINT_ACTION });
    expect(checkpoints.map((r) => [r.seq, r.details?.seq])).toEqual([[6, 5], [14, 10]]);
    expect(errors).toEqual([]);
    expect(await verifyAuditTrail(trail, { publicKeys: [key.publicKey] })).toMatchObject({ ok: true, records: 14, checkpoints: 2 });
  });
});
