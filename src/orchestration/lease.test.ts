import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { sqliteMetadataStore } from '../storage/metadata/sqlite/index.js';
import { openSqlite } from '../storage/metadata/sqlite/sqlite-driver.js';
import { InterruptedError } from '../errors.js';
import { heartbeat, holderIsGone, leaseWaitStopped, newLeaseHolder, withLease } from './lease.js';
import { ownProcessStart, processStart } from './process-identity.js';

const lease = (host: string, pid: number, expiresInMs: number) => ({ name: 'x', holder: { id: 'h', host, pid }, acquiredAt: 0, renewedAt: 0, expiresAt: Date.now() + expiresInMs });

test('a holder is gone when its lease expired, or when it ran on this host and its process is dead', () => {
  expect(holderIsGone(lease(hostname(), process.pid, 60_000))).toBe(false);
  expect(holderIsGone(lease('elsewhere', 2 ** 22 + 1, 60_000))).toBe(false);
  expect(holderIsGone(lease('elsewhere', process.pid, -1))).toBe(true);
  // Above the Linux pid limit (2^22): no such process.
  expect(holderIsGone(lease(hostname(), 2 ** 22 + 1, 60_000))).toBe(true);
  const [a, b] = [newLeaseHolder(), newLeaseHolder()];
  expect(a.id).not.toBe(b.id);
  expect(a).toMatchObject({ host: hostname(), pid: process.pid });
});

test('a stop ends a wait for a live holder at once, as an InterruptedError naming the lease, its holder and the stop; the body never runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lease-'));
  const store = sqliteMetadataStore({ path: join(dir, 'm.db') });
  try {
    await withLease(store, 'job', {}, async () => {
      const stopping = new AbortController();
      let ran = false;
      // A ten-minute wait: only the stop can end it within the test.
      const waiting = withLease(store, 'job', { waitMs: 600_000, purpose: 'the job', signal: stopping.signal }, async () => void (ran = true)).catch((error: unknown) => error);
      setTimeout(() => stopping.abort(new InterruptedError('INTERRUPTED', 'interrupted (SIGTERM)', { details: { signal: 'SIGTERM' } })), 20);
      const stopped = await waiting;
      expect(leaseWaitStopped(stopped)).toBe(true);
      expect(stopped).toMatchObject({ code: 'INTERRUPTED', details: { signal: 'SIGTERM', lease: 'job', holder: { pid: process.pid } } });
      expect((stopped as Error).message).toMatch(new RegExp(`^interrupted \\(SIGTERM\\) while waiting for the job in process ${process.pid} on .* to finish: what waited had not started$`));
      expect(ran).toBe(false);
    });
    expect(await store.listLeases()).toEqual([]);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('withLease runs holders of one name one at a time, and releases on failure', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lease-'));
  const store = sqliteMetadataStore({ path: join(dir, 'm.db') });
  try {
    const order: string[] = [];
    const job = (name: string) => withLease(store, 'job', { waitMs: 60_000 }, async () => {
      order.push(`${name} start`);
      await new Promise((r) => setImmediate(r));
      order.push(`${name} end`);
    });
    await Promise.all([job('a'), job('b'), job('c')]);
    // Each holder ends before the next starts.
    expect(order).toHaveLength(6);
    for (let i = 0; i < order.length; i += 2) expect(order[i + 1]).toBe(order[i]!.replace('start', 'end'));
    await expect(withLease(store, 'job', {}, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await store.listLeases()).toEqual([]);
    await withLease(store, 'job', {}, async () => {
      await expect(withLease(store, 'job', { purpose: 'the job' }, async () => undefined)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(`the job is already running in process ${process.pid} on ${hostname()}`) });
    });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const canTellStarts = processStart(process.pid) !== undefined;

test.runIf(canTellStarts)('a holder whose pid is now another process (pid reuse after a SIGKILL) is gone at once; the same process is held', async () => {
  const withStart = (pid: number, started: string) => ({ name: 'x', holder: { id: 'h', host: hostname(), pid, started }, acquiredAt: 0, renewedAt: 0, expiresAt: Date.now() + 60_000 });
  const own = ownProcessStart()!;
  expect(newLeaseHolder().started).toBe(own);
  expect(holderIsGone(withStart(process.pid, own))).toBe(false);
  // This pid, another start: the recorded holder died and its pid went to this process.
  const [boot, tickText, ns] = own.split(':') as [string, string, string];
  const ticks = Number(tickText);
  expect(holderIsGone(withStart(process.pid, `${boot}:${ticks - 1}:${ns}`))).toBe(true);
  expect(holderIsGone(withStart(process.pid, `another-boot:${ticks}:${ns}`))).toBe(true);
  // Without a recorded start (a lease written before starts were recorded): the pid alone, as before.
  expect(holderIsGone(lease(hostname(), process.pid, 60_000))).toBe(false);

  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => child.once('spawn', r));
    const started = processStart(child.pid!)!;
    expect(started).toMatch(/^[0-9a-f-]+:\d+:\d+$/);
    expect(holderIsGone(withStart(child.pid!, started))).toBe(false);
    expect(holderIsGone(withStart(child.pid!, `${boot}:${Number(started.split(':')[1]) + 1}:${ns}`))).toBe(true);
  } finally {
    child.kill('SIGKILL');
  }
});

test.runIf(canTellStarts)('withLease takes over at once from a holder whose pid another process now has, and waits for the live one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lease-'));
  const store = sqliteMetadataStore({ path: join(dir, 'm.db') });
  try {
    const own = ownProcessStart()!;
    const [boot, ticks, ns] = own.split(':') as [string, string, string];
    const dead = { id: 'dead', host: hostname(), pid: process.pid, started: `${boot}:${ticks}0:${ns}` };
    await store.acquireLease('job', dead, 60_000, () => false);
    expect((await store.listLeases())[0]!.holder).toEqual(dead);
    expect(await withLease(store, 'job', {}, async () => 'ran')).toBe('ran');
    const live = { id: 'live', host: hostname(), pid: process.pid, started: own };
    await store.acquireLease('job', live, 60_000, () => false);
    await expect(withLease(store, 'job', {}, async () => 'ran')).rejects.toMatchObject({ code: 'CONFLICT' });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a metadata database made before holders recorded their start opens, keeps its leases (pid rule) and records starts from then on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lease-'));
  const path = join(dir, 'm.db');
  const old = openSqlite(path);
  old.exec(`CREATE TABLE leases (name TEXT PRIMARY KEY, holder_id TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, acquired_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
    CREATE TABLE run_keys (key TEXT PRIMARY KEY, job TEXT NOT NULL, trigger TEXT NOT NULL, scheduled_for INTEGER, status TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, last_run_id TEXT, holder_id TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
      claimed_at INTEGER NOT NULL, finished_at INTEGER, error TEXT);`);
  old.prepare('INSERT INTO leases VALUES (?, ?, ?, ?, ?, ?)').run('job', 'old', hostname(), process.pid, 0, Date.now() + 60_000);
  old.close();
  const store = sqliteMetadataStore({ path });
  try {
    expect((await store.listLeases())[0]!.holder).toEqual({ id: 'old', host: hostname(), pid: process.pid });
    await expect(withLease(store, 'job', {}, async () => 'ran')).rejects.toMatchObject({ code: 'CONFLICT' });
    await store.releaseLease('job', 'old');
    const holder = newLeaseHolder();
    await store.acquireLease('job', holder, 60_000, () => false);
    expect((await store.listLeases())[0]!.holder).toEqual(holder);
    const claimed = await store.schedules.claim({ key: 'k', job: 'j', trigger: 'manual', holder }, Date.now());
    expect(claimed.record.holder).toEqual(holder);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a metadata database made before leases recorded their renewals opens, ends a dead run at its lease\'s acquisition, and records renewals from then on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lease-'));
  const path = join(dir, 'm.db');
  const old = openSqlite(path);
  old.exec(`CREATE TABLE runs (id TEXT PRIMARY KEY, job TEXT NOT NULL, status TEXT NOT NULL, started_at INTEGER NOT NULL, finished_at INTEGER, params TEXT NOT NULL, stats TEXT, error TEXT);
    CREATE TABLE leases (name TEXT PRIMARY KEY, holder_id TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, acquired_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, started TEXT);`);
  old.prepare(`INSERT INTO runs VALUES ('r1', 'ingest', 'running', 5000, NULL, '{}', NULL, NULL)`).run();
  old.prepare('INSERT INTO leases VALUES (?, ?, ?, ?, ?, ?, NULL)').run('run:r1', 'old', 'elsewhere', 1, 5000, 65_000);
  old.close();
  const store = sqliteMetadataStore({ path });
  try {
    expect((await store.listLeases())[0]).toMatchObject({ acquiredAt: 5000, renewedAt: 5000 });
    const [dead] = await store.failDeadRuns(holderIsGone);
    expect(dead).toMatchObject({ id: 'r1', status: 'failed', finishedAt: 5000, error: expect.stringContaining('last known alive at 1970-01-01T00:00:05.000Z') });
    await store.acquireLease('job', newLeaseHolder(), 60_000, () => false);
    const before = Date.now();
    const renewed = await store.renewLease('job', (await store.listLeases())[0]!.holder.id, 60_000);
    expect(renewed!.renewedAt).toBeGreaterThanOrEqual(before);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a dead run whose lease was renewed under a clock that ran ahead ends when it was noticed at the latest, never after', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lease-'));
  const store = sqliteMetadataStore({ path: join(dir, 'm.db') });
  const realNow = Date.now;
  try {
    const run = await store.startRun('ingest', {}, { holder: { id: 'h1', host: 'elsewhere', pid: 1 }, ttlMs: 60_000 });
    // The holder's clock was two hours ahead when it last renewed; it was corrected before the run was noticed dead.
    Date.now = () => realNow() + 2 * 3_600_000;
    await store.renewLease(`run:${run.id}`, 'h1', 60_000);
    Date.now = realNow;
    const noticed = Date.now();
    // Its holder is known gone (its lease, renewed under that clock, has not expired yet).
    const [dead] = await store.failDeadRuns(() => true);
    expect(dead!.finishedAt).toBeGreaterThanOrEqual(run.startedAt);
    expect(dead!.finishedAt).toBeLessThanOrEqual(Date.now());
    expect(dead!.finishedAt).toBeGreaterThanOrEqual(noticed);
    expect((await store.listRuns(1))[0]!.finishedAt).toBe(dead!.finishedAt);
  } finally {
    Date.now = realNow;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.runIf(canTellStarts)('a holder recorded in another pid namespace (a container sharing the hostname) is not judged by this namespace\'s pids: held until its lease expires', () => {
  const withStart = (pid: number, started: string, expiresInMs = 60_000) => ({ name: 'x', holder: { id: 'h', host: hostname(), pid, started }, acquiredAt: 0, renewedAt: 0, expiresAt: Date.now() + expiresInMs });
  const [boot, ticks, ns] = ownProcessStart()!.split(':') as [string, string, string];
  const otherNs = String(Number(ns) + 1);
  // Its pid 1 (or any pid) is another process here, with another start: still not gone.
  expect(holderIsGone(withStart(1, `${boot}:${Number(ticks) - 1}:${otherNs}`))).toBe(false);
  expect(holderIsGone(withStart(2 ** 22 + 1, `${boot}:${ticks}:${otherNs}`))).toBe(false);
  expect(holderIsGone(withStart(1, `${boot}:${ticks}:${otherNs}`, -1))).toBe(true);
  // The same pid and start text read in this namespace: judged here.
  expect(holderIsGone(withStart(process.pid, `${boot}:${Number(ticks) - 1}:${ns}`))).toBe(true);
});

test.runIf(canTellStarts)('a lease taken over by code that does not know the started column (an older sluice on the same database) is not read with the previous holder\'s start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lease-'));
  const path = join(dir, 'm.db');
  const store = sqliteMetadataStore({ path });
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => child.once('spawn', r));
    // A holder of this code, then dead (its lease free by its start) ...
    const [boot, ticks, ns] = ownProcessStart()!.split(':') as [string, string, string];
    await store.acquireLease('job', { id: 'new-dead', host: hostname(), pid: process.pid, started: `${boot}:${ticks}0:${ns}` }, 60_000, () => false);
    // ... taken over by an older sluice in the live child: the older upsert, verbatim, leaves `started` as it was.
    const old = openSqlite(path);
    old.prepare('INSERT INTO leases (name, holder_id, host, pid, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) ' +
      'ON CONFLICT (name) DO UPDATE SET holder_id = excluded.holder_id, host = excluded.host, pid = excluded.pid, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at')
      .run('job', 'old-live', hostname(), child.pid!, Date.now(), Date.now() + 60_000);
    old.close();
    expect((await store.listLeases())[0]!.holder).toEqual({ id: 'old-live', host: hostname(), pid: child.pid! });
    await expect(withLease(store, 'job', {}, async () => 'ran')).rejects.toMatchObject({ code: 'CONFLICT' });
  } finally {
    child.kill('SIGKILL');
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs `body` with a metadata store of its own, closed and removed afterwards. */
async function withTempStore(body: (store: ReturnType<typeof sqliteMetadataStore>) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lease-'));
  const store = sqliteMetadataStore({ path: join(dir, 'm.db') });
  try {
    await body(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a heartbeat with lapseAfterMs counts its lease lost once no renewal succeeded for that long, before the lease expires, and says why once', async () => {
  await withTempStore(async (store) => {
    const holder = newLeaseHolder();
    const taken = await store.acquireLease('beat', holder, 300, holderIsGone);
    expect(taken.acquired).toBe(true);
    const expiresAt = taken.acquired ? taken.lease.expiresAt : 0;
    const renew = store.renewLease.bind(store);
    let failing = false;
    store.renewLease = (...args) => (failing ? Promise.reject(new Error('the metadata store is unreachable')) : renew(...args));
    const reasons: string[] = [];
    let lostAt = 0;
    const beat = heartbeat(store, 'beat', holder.id, 300, { lapseAfterMs: 150, onLost: (why) => { reasons.push(why); lostAt = Date.now(); } });
    try {
      await new Promise((r) => setTimeout(r, 250));
      // Renewals succeed: not lost.
      expect(beat.lost()).toBe(false);
      failing = true;
      const failedFrom = Date.now();
      while (!beat.lost() && Date.now() - failedFrom < 5_000) await new Promise((r) => setTimeout(r, 5));
      expect(beat.lost()).toBe(true);
      const last = await store.listLeases();
      // Lost before the lease (as last renewed) expired: no other holder could have taken it yet.
      expect(lostAt).toBeLessThan(last[0]!.expiresAt);
      expect(last[0]!.expiresAt).toBeGreaterThan(expiresAt);
      await new Promise((r) => setTimeout(r, 250));
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toMatch(/^no renewal succeeded for \d+ ms \(last error: the metadata store is unreachable\)$/);
    } finally {
      beat.stop();
    }
  });
});

test('a heartbeat whose lease another holder took counts it lost at its next renewal', async () => {
  await withTempStore(async (store) => {
    const holder = newLeaseHolder();
    await store.acquireLease('beat', holder, 60_000, holderIsGone);
    const reasons: string[] = [];
    const beat = heartbeat(store, 'beat', holder.id, 60, { onLost: (why) => reasons.push(why) });
    try {
      await store.releaseLease('beat', holder.id);
      await store.acquireLease('beat', newLeaseHolder(), 60_000, holderIsGone);
      const from = Date.now();
      while (!beat.lost() && Date.now() - from < 5_000) await new Promise((r) => setTimeout(r, 5));
      expect(reasons).toEqual(['another holder took it, or it was released']);
    } finally {
      beat.stop();
    }
  });
});
