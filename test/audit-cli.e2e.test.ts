import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openSqlite } from '../src/storage/metadata/sqlite/sqlite-driver.js';
import { sluice } from './support/cli.js';

interface Listed { records: Array<{ seq: number; actor: string; action: string; target: string; outcome: string; origin?: string; details?: Record<string, unknown> }> }

let root: string;
let dir: string;
const operator = `cli:${userInfo().username}`;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-audit-cli-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sluice audit, end to end', () => {
  test('administrative commands leave one record each, failures too, with no entity key or value in them', () => {
    expect(sluice(dir, 'apply').code).toBe(0);
    expect(sluice(dir, 'ingest', 'transactions', '--file', 'data/transactions.csv').code).toBe(0);
    expect(sluice(dir, 'ingest', 'customers', '--file', 'data/customers.csv').code).toBe(0);
    expect(sluice(dir, 'ingest', 'transactions', '--file', 'data/missing.csv').code).toBe(1);
    expect(sluice(dir, 'materialize').code).toBe(0);
    expect(sluice(dir, 'dataset', 'build', '--spine', 'data/labels.csv', '--service', 'fraud_v1', '--out', 'out/train.csv').code).toBe(0);
    expect(sluice(dir, 'gc', '--dry-run').code).toBe(0);

    // The access layer records its decisions too (outcome allowed): apply, each ingest (push on the stream source transactions,
    // run on ingest:customers), materialize (run on each view's job), dataset build, gc and this listing itself.
    const decisions = (records: Listed['records']) => records.filter((r) => r.outcome === 'allowed').map((r) => [r.action, r.target]);
    const all = sluice(dir, '--json', 'audit', 'list').json<Listed>();
    expect(decisions(all.records)).toEqual([
      ['admin.audit', 'admin:audit'], ['admin.gc', 'admin:gc'], ['dataset.build', 'datasets'],
      ['job.authorize', 'job:materialize:profile'], ['job.authorize', 'job:materialize:small_txns'], ['job.authorize', 'job:materialize:txn_stats'],
      ['push.write', 'source:transactions'], ['job.authorize', 'job:ingest:customers'], ['push.write', 'source:transactions'], ['admin.apply', 'admin:apply'],
    ]);
    const listed = { records: all.records.filter((r) => r.outcome !== 'allowed') };
    expect(listed.records.map((r) => [r.action, r.target, r.outcome])).toEqual([
      ['gc', 'lake', 'succeeded'],
      ['dataset.build', 'service:fraud_v1', 'succeeded'],
      ['materialize', 'views:all', 'succeeded'],
      ['ingest', 'source:transactions', 'failed'],
      ['ingest', 'source:customers', 'succeeded'],
      ['ingest', 'source:transactions', 'succeeded'],
      ['apply', 'registry', 'succeeded'],
    ]);
    for (const r of all.records) expect(r).toMatchObject({ actor: operator, origin: 'local' });
    expect(listed.records[3]!.details).toEqual({ error: 'NOT_FOUND' });
    expect(listed.records[5]!.details).toMatchObject({ file: 'data/transactions.csv', accepted: 5, rejected: 3 });

    const ingests = sluice(dir, '--json', 'audit', 'list', '--action', 'ingest', '--limit', '2').json<Listed>();
    expect(ingests.records.map((r) => [r.target, r.outcome])).toEqual([['source:transactions', 'failed'], ['source:customers', 'succeeded']]);
    expect(sluice(dir, '--json', 'audit', 'list', '--actor', 'cli:nobody').json<Listed>().records).toEqual([]);
    expect(sluice(dir, 'audit', 'list', '--limit', '1').stdout).toMatch(/^seq\s+time\s+actor\s+action\s+target\s+outcome\s+origin\s+purpose\s+details\n\d+\s+\S+\s+cli:\S+\s+admin\.audit\s+admin:audit\s+allowed\s+local/);

    // No raw entity key, and no value of the ingested data, in any audit record.
    const text = JSON.stringify(sluice(dir, '--json', 'audit', 'list', '--limit', '1000').json<Listed>());
    for (const secret of ['"c1"', '"c2"', 'gold', 'silver', '"m1"', '"t1"']) expect(text).not.toContain(secret);
  });

  test('checkpoint, verify against it, export and verify the export offline; tampering makes verify exit 1 naming the record', () => {
    const checkpointFile = join(root, 'witness.json');
    const publicKeyFile = join(root, 'audit.pub');
    const made = sluice(dir, 'audit', 'checkpoint', '--out', checkpointFile);
    expect(made.code).toBe(0);
    // The checkpoint signs the head: the record of this command's authorization; verify then reads one more record, its own authorization after it.
    const k = Number(/^checkpoint of record (\d+) \(hash [0-9a-f]{64}\) signed with key [0-9a-f]{16} -> /.exec(made.stdout)?.[1]);
    expect(k).toBeGreaterThan(9);
    expect(JSON.parse(readFileSync(checkpointFile, 'utf8'))).toMatchObject({ format: 'sluice-audit-checkpoint/v1', seq: k });
    expect(statSync(join(dir, '.sluice', 'secrets', 'audit-signing.key')).mode & 0o777).toBe(0o600);
    expect(sluice(dir, 'audit', 'public-key', '--out', publicKeyFile).code).toBe(0);
    expect(readFileSync(publicKeyFile, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);

    const ok = sluice(dir, 'audit', 'verify', '--checkpoint', checkpointFile, '--public-key', publicKeyFile);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^audit trail verified: ${k + 2} records \\(1\\.\\.${k + 2}\\), head hash [0-9a-f]{64}\n1 checkpoint\\(s\\) stored in the chain checked, signatures by .*audit\\.pub\nthe checkpoint signed at \\S+ \\(record ${k}, key [0-9a-f]{16}\\) holds\n$`));

    const exportFile = join(root, 'audit.jsonl');
    const exported = sluice(dir, 'audit', 'export', '--since', '1h', '--out', exportFile);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain(`exported ${k + 5} audit records since`);
    const offline = sluice(root, 'audit', 'verify', '--export', exportFile, '--public-key', publicKeyFile, '--json');
    expect(offline.json()).toMatchObject({ ok: true, records: k + 5, firstSeq: 1, witness: { seq: k + 4, matched: true } });
    expect(sluice(dir, '--json', 'audit', 'list', '--action', 'audit.verify').json<Listed>().records[0]).toMatchObject({ outcome: 'succeeded', details: { records: k + 2, witness: k, problemSeq: null } });

    const db = openSqlite(join(dir, '.sluice', 'metadata.db'));
    expect(() => db.exec('DELETE FROM audit_log WHERE seq = 3')).toThrow(/append-only/);
    db.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET target = 'source:other' WHERE seq = 3");
    db.close();
    const bad = sluice(dir, 'audit', 'verify');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('audit trail verification FAILED at record 3: its content does not match its hash: the record was changed after it was written\n');
    expect(sluice(dir, '--json', 'audit', 'list', '--action', 'audit.verify', '--limit', '1').json<Listed>().records[0]).toMatchObject({ outcome: 'failed', details: { problemSeq: 3 } });

    const usage = sluice(dir, 'audit', 'export', '--since', 'yesterday');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('expected an ISO-8601 time');
    const notCheckpoint = sluice(dir, 'audit', 'verify', '--checkpoint', publicKeyFile);
    expect(notCheckpoint.code).toBe(1);
    expect(notCheckpoint.stderr).toContain(`--checkpoint ${publicKeyFile} cannot be read as JSON`);
  });

  test('an --out file that exists is refused unless --force, and is left as it was (a review overwrote /etc/passwd with an export)', () => {
    const existing = join(root, 'keep.txt');
    writeFileSync(existing, 'precious\n', { mode: 0o644 });
    for (const args of [['export', '--since', '1h'], ['checkpoint'], ['public-key']]) {
      const refused = sluice(dir, 'audit', ...args, '--out', existing);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`${existing} already exists; pass --force to replace it`);
      expect(readFileSync(existing, 'utf8')).toBe('precious\n');
      expect(statSync(existing).mode & 0o777).toBe(0o644);
    }
    expect(sluice(dir, 'audit', 'public-key', '--out', existing, '--force').code).toBe(0);
    expect(readFileSync(existing, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  test('an --out under a read-only directory is refused naming the file asked for, not its temporary', (t) => {
    // A read-only bind mount: as root, chmod 555 refuses nothing.
    const [source, readOnly] = [join(root, 'ro-source'), join(root, 'ro')];
    mkdirSync(source, { recursive: true });
    mkdirSync(readOnly, { recursive: true });
    if (process.getuid?.() !== 0 || spawnSync('mount', ['--bind', '-o', 'ro', source, readOnly]).status !== 0) return t.skip('needs root and bind mounts');
    try {
      for (const args of [['checkpoint'], ['public-key'], ['export', '--since', '1h']]) {
        const out = join(readOnly, 'cp.json');
        const refused = sluice(dir, 'audit', ...args, '--out', out);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(`EROFS: read-only file system, open '${out}'`);
        expect(refused.stderr).not.toContain('.tmp-');
      }
    } finally {
      spawnSync('umount', [readOnly]);
    }
  });

  test('every process that opens the platform checkpoints the trail every SLUICE_AUDIT_CHECKPOINT_EVERY records', () => {
    const other = join(root, 'other');
    expect(sluice(root, 'init', 'other').code).toBe(0);
    process.env.SLUICE_AUDIT_CHECKPOINT_EVERY = '2';
    try {
      expect(sluice(other, 'apply').code).toBe(0);
      expect(sluice(other, 'gc', '--dry-run').code).toBe(0);
      // apply is two records (its authorization, then its outcome), gc two (admin.gc, then its outcome), the listing's authorization one: checkpoints after records 2, 4, 6 and 8.
      const checkpoints = sluice(other, '--json', 'audit', 'list', '--action', 'audit.checkpoint').json<Listed>().records;
      expect(checkpoints.map((r) => [r.seq, r.actor, r.details?.seq, r.details?.reason])).toEqual([[9, 'sluice', 8, 'every 2 records'], [7, 'sluice', 6, 'every 2 records'], [5, 'sluice', 4, 'every 2 records'], [3, 'sluice', 2, 'every 2 records']]);
      expect(sluice(other, '--json', 'audit', 'verify').json()).toMatchObject({ ok: true, problem: null });
    } finally {
      delete process.env.SLUICE_AUDIT_CHECKPOINT_EVERY;
    }
  });

  test('an access rule can keep the audit commands from the local operator: refused naming the rule, and the refusal is audited', () => {
    const guarded = join(root, 'guarded');
    expect(sluice(root, 'init', 'guarded').code).toBe(0);
    const config = join(guarded, 'sluice.config.ts');
    writeFileSync(config, readFileSync(config, 'utf8')
      .replace("from 'sluice';", "from 'sluice';\nimport { allow, deny } from 'sluice';")
      .replace("featureServices: [featureService(", "access: [deny({ role: 'local-operator', admin: ['audit'] }), allow({ role: 'auditor', admin: ['audit'] })],\n  featureServices: [featureService("));
    expect(sluice(guarded, 'apply').code).toBe(0);
    const refused = sluice(guarded, 'audit', 'list');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cli:\S+ may not run admin action "audit"/);
    expect(sluice(guarded, 'audit', 'export', '--since', '1h').code).toBe(1);
    const key = /(sk_[0-9a-f]{12}_[A-Za-z0-9_-]{43})/.exec(sluice(guarded, 'keys', 'create', '--principal', 'auditor', '--role', 'auditor').stdout)![1]!;
    process.env.SLUICE_API_KEY = key;
    try {
      const decisions = sluice(guarded, '--json', 'audit', 'list', '--action', 'admin.audit').json<Listed>().records;
      expect(decisions.map((r) => [r.actor.startsWith('cli:') ? 'cli' : r.actor, r.outcome])).toEqual([['key:auditor', 'allowed'], ['cli', 'denied'], ['cli', 'denied']]);
    } finally {
      delete process.env.SLUICE_API_KEY;
    }
  });
});
