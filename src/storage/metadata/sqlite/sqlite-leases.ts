import { runLeaseName, type HolderGone, type Lease, type LeaseAttempt, type LeaseHolder, type LeaseSighting, type RunRecord } from '../metadata-store.js';
import { storedStart, toLease, toRun, type LeaseRow, type RunRow } from './sqlite-schema.js';
import { inTransaction, type SqliteConnection } from './sqlite-driver.js';

/**
 * The error a run gets when its holder is gone: it ends at `lastAlive` (its lease's last renewal,
 * or its start without a lease), not when the death was noticed, which may be much later.
 */
export function deadRunError(lastAlive: number, lease: boolean): string {
  return `the process running it died; last known alive at ${new Date(lastAlive).toISOString()} (${lease ? "its lease's last renewal" : 'its start: it held no lease'}), recorded as the run's end`;
}

/** Leases and the runs that hold them, on one SQLite connection (see `MetadataStore`). */
export function sqliteLeases(db: SqliteConnection) {
  const sql = {
    get: db.prepare('SELECT * FROM leases WHERE name = ?'),
    upsert: db.prepare(
      'INSERT INTO leases (name, holder_id, host, pid, started, acquired_at, renewed_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (name) DO UPDATE SET holder_id = excluded.holder_id, host = excluded.host, pid = excluded.pid, started = excluded.started, acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at',
    ),
    renew: db.prepare('UPDATE leases SET renewed_at = ?, expires_at = ? WHERE name = ? AND holder_id = ?'),
    release: db.prepare('DELETE FROM leases WHERE name = ? AND holder_id = ?'),
    releaseUnrenewed: db.prepare('DELETE FROM leases WHERE name = ? AND holder_id = ? AND MAX(acquired_at, COALESCE(renewed_at, acquired_at)) = ?'),
    remove: db.prepare('DELETE FROM leases WHERE name = ?'),
    sighting: db.prepare('SELECT holder_id, renewed_at, seen_at FROM lease_sightings WHERE name = ? AND clock = ?'),
    sight: db.prepare('INSERT INTO lease_sightings (name, clock, holder_id, renewed_at, seen_at) VALUES (?, ?, ?, ?, ?) ' +
      'ON CONFLICT (name, clock) DO UPDATE SET holder_id = excluded.holder_id, renewed_at = excluded.renewed_at, seen_at = excluded.seen_at'),
    forgetSightings: db.prepare('DELETE FROM lease_sightings WHERE name = ? AND NOT EXISTS (SELECT 1 FROM leases WHERE leases.name = lease_sightings.name)'),
    all: db.prepare('SELECT * FROM leases ORDER BY name'),
    running: db.prepare(`SELECT * FROM runs WHERE status = 'running'`),
    fail: db.prepare(`UPDATE runs SET status = 'failed', finished_at = ?, error = ? WHERE id = ? AND status = 'running'`),
    failKey: db.prepare(`UPDATE run_keys SET status = 'failed', finished_at = ?, error = ? WHERE last_run_id = ? AND status = 'running'`),
  };
  const put = (name: string, holder: LeaseHolder, acquiredAt: number, ttlMs: number): Lease => {
    const now = Date.now();
    const lease: Lease = { name, holder, acquiredAt, renewedAt: now, expiresAt: now + ttlMs };
    sql.upsert.run(name, holder.id, holder.host, holder.pid, storedStart(holder), lease.acquiredAt, lease.renewedAt, lease.expiresAt);
    return lease;
  };
  return {
    put,
    acquire(name: string, holder: LeaseHolder, ttlMs: number, isGone: HolderGone): LeaseAttempt {
      return inTransaction(db, (): LeaseAttempt => {
        const row = sql.get.get(name) as LeaseRow | undefined;
        const current = row && toLease(row);
        if (current && current.holder.id !== holder.id && !isGone(current)) return { acquired: false, heldBy: current };
        return { acquired: true, lease: put(name, holder, current?.holder.id === holder.id ? current.acquiredAt : Date.now(), ttlMs) };
      });
    },
    renew(name: string, holderId: string, ttlMs: number): Lease | undefined {
      return inTransaction(db, () => {
        const now = Date.now();
        sql.renew.run(now, now + ttlMs, name, holderId);
        const row = sql.get.get(name) as LeaseRow | undefined;
        return row?.holder_id === holderId ? toLease(row) : undefined;
      });
    },
    release(name: string, holderId: string, renewedAt?: number): void {
      inTransaction(db, () => {
        if (renewedAt === undefined) sql.release.run(name, holderId);
        else sql.releaseUnrenewed.run(name, holderId, renewedAt);
        sql.forgetSightings.run(name);
      });
    },
    remove(name: string): void {
      sql.remove.run(name);
      sql.forgetSightings.run(name);
    },
    sight(name: string, clock: string, now: number): LeaseSighting | undefined {
      return inTransaction(db, () => {
        const row = sql.get.get(name) as LeaseRow | undefined;
        if (row === undefined) {
          sql.forgetSightings.run(name);
          return undefined;
        }
        const lease = toLease(row);
        const seen = sql.sighting.get(name, clock) as { holder_id: string; renewed_at: number; seen_at: number } | undefined;
        if (seen !== undefined && seen.holder_id === lease.holder.id && seen.renewed_at === lease.renewedAt) return { lease, unchangedSince: seen.seen_at };
        sql.sight.run(name, clock, lease.holder.id, lease.renewedAt, now);
        return { lease, unchangedSince: now };
      });
    },
    list(): Lease[] {
      return (sql.all.all() as LeaseRow[]).map(toLease);
    },
    failDeadRuns(isGone: HolderGone): RunRecord[] {
      return inTransaction(db, () => {
        const failed: RunRecord[] = [];
        for (const row of sql.running.all() as RunRow[]) {
          const leaseRow = sql.get.get(runLeaseName(row.id)) as LeaseRow | undefined;
          const lease = leaseRow && toLease(leaseRow);
          if (lease && !isGone(lease)) continue;
          // Noticed now at the latest: a renewal under a clock that ran ahead is not a time after it; never before the run's start.
          const finishedAt = Math.max(row.started_at, lease ? Math.min(lease.renewedAt, Date.now()) : row.started_at);
          const error = deadRunError(finishedAt, lease !== undefined);
          sql.fail.run(finishedAt, error, row.id);
          // The run key whose attempt it was ends with it: a scheduled firing is never claimed again, so nothing else would settle it.
          sql.failKey.run(finishedAt, error, row.id);
          if (lease) sql.remove.run(lease.name);
          failed.push({ ...toRun(row), status: 'failed', finishedAt, error });
        }
        return failed;
      });
    },
  };
}
