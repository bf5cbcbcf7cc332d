import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { compileProject, count, defineProject, entity, featureView, streamSource } from '../../../definitions/index.js';
import type { EntityState } from '../../../processing/entity-state.js';
import { ownProcessTag } from '../../../orchestration/process-identity.js';
import { machineBootId as bootId } from '../../../orchestration/process-identity.js';
import { lmdbOnlineStore } from './lmdb-online-store.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const source = streamSource({ name: 's', schema: { account_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const view = featureView({ name: 'v', entity: account, source, features: { n: count() } });
const definition = compileProject(defineProject({ name: 'p', entities: [account], sources: [source], featureViews: [view] })).featureViews[0]!;
const state = (horizon: number): EntityState => ({ horizon, base: [], ts: new Float64Array([1, 2]), columns: [] });
async function* states(n: number) {
  for (let i = 0; i < n; i++) yield [`k${i}`, state(i)] as const;
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
});
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-flush-'));
  dirs.push(dir);
  return dir;
};
/** A store (flushed at every commit) holding two states of view "v", closed. */
async function closedStore(): Promise<string> {
  const dir = fresh();
  const store = lmdbOnlineStore({ path: dir });
  await store.replaceView({ definition, materializedAt: 1, horizon: 0, snapshots: {} }, states(2));
  await store.close();
  return dir;
}
/** The markers' contents (one file per store handle that has unflushed commits). */
const markers = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('unflushed-')).map((f) => readFileSync(join(dir, f), 'utf8').trim());

describe.skipIf(bootId() === undefined)('online store flushed on a schedule', () => {
  test('a write marks the store unflushed (naming this boot) until a flush covers it; close flushes', async () => {
    const dir = fresh();
    const store = lmdbOnlineStore({ path: dir, flushEveryMs: 3_600_000 });
    const info = await store.replaceView({ definition, materializedAt: 1, horizon: 0, snapshots: {} }, states(3));
    expect(markers(dir)).toEqual([bootId()]);
    await store.update('v', info.generation, ['k0'], () => state(42), { applied: { s: 1 } });
    await store.close();
    expect(markers(dir)).toEqual([]);
    const again = lmdbOnlineStore({ path: dir });
    expect((await again.read('v', ['k0', 'k2'])).states.map((s) => s?.horizon)).toEqual([42, 2]);
    expect((await again.viewInfo('v'))!.applied).toEqual({ s: 1 });
    await again.close();
  });

  test('the schedule removes the marker once no write is running', async () => {
    const dir = fresh();
    const store = lmdbOnlineStore({ path: dir, flushEveryMs: 10 });
    await store.replaceView({ definition, materializedAt: 1, horizon: 0, snapshots: {} }, states(2));
    expect(markers(dir)).toHaveLength(1);
    await vi.waitFor(() => expect(markers(dir)).toEqual([]));
    await store.close();
  });

  test('a process killed before its flush on the same boot: the file is whole (the OS holds the commits), opens as it was, and its marker is cleared once flushed for it', async () => {
    const dir = await closedStore();
    // A live writer's marker stays; a dead one's (no such process) goes.
    writeFileSync(join(dir, `unflushed-${process.pid}-live`), `${bootId()}\n`);
    writeFileSync(join(dir, 'unflushed-999999999-dead'), `${bootId()}\n`);
    // This pid with another start: its writer died and the pid went to this process.
    const own = ownProcessTag();
    if (own.includes('.')) writeFileSync(join(dir, `unflushed-${own}1-reused`), `${bootId()}\n`);
    writeFileSync(join(dir, `unflushed-${own}-tagged`), `${bootId()}\n`);
    const again = lmdbOnlineStore({ path: dir });
    expect((await again.read('v', ['k1'])).states[0]?.horizon).toBe(1);
    expect(readdirSync(dir).filter((f) => f.startsWith('unflushed-')).sort()).toEqual([`unflushed-${process.pid}-live`, `unflushed-${own}-tagged`].sort());
    await again.close();
  });

  test('unflushed commits from before a restart (a marker naming another boot): the store starts empty, with a warning that says how it is rebuilt', async () => {
    const dir = await closedStore();
    writeFileSync(join(dir, `unflushed-${process.pid}-x`), 'an-earlier-boot\n');
    const warnings: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (warnings.push(String(chunk)), true));
    const again = lmdbOnlineStore({ path: dir });
    expect(await again.viewInfo('v')).toBeUndefined();
    expect(markers(dir)).toEqual([]);
    expect(warnings.join('')).toMatch(/had commits not flushed to disk when the machine restarted; it starts empty: .*"sluice materialize"/);
    await again.close();
  });

  test('opening waits for another process opening the same store (its restart check), takes over a lock whose holder is gone, and says who holds it when it gives up', async () => {
    const dir = await closedStore();
    const lock = join(dir, 'open.lock');
    writeFileSync(lock, '999999999\n'); // no such process: a holder that died mid-open
    const again = lmdbOnlineStore({ path: dir });
    expect(existsSync(lock)).toBe(false);
    expect((await again.read('v', ['k1'])).states[0]?.horizon).toBe(1);
    await again.close();
    writeFileSync(lock, `${ownProcessTag()}1\n`); // this pid with another start: a holder that died, its pid reused
    await lmdbOnlineStore({ path: dir }).close();
    writeFileSync(lock, `${process.pid}\n`); // a live holder that does not finish
    expect(() => lmdbOnlineStore({ path: dir, openLockTimeoutMs: 100 })).toThrow(/being opened by process \d+ \(lock file .*open\.lock\).*stop it and start again/);
    expect(readFileSync(lock, 'utf8').trim()).toBe(String(process.pid));
    // A holder of another pid namespace of this boot cannot be looked at: the message says so, and the fix.
    const [pid, ticks, , boot] = ownProcessTag().split('.');
    writeFileSync(lock, `${pid}.${ticks}.1.${boot}\n`);
    expect(() => lmdbOnlineStore({ path: dir, openLockTimeoutMs: 100 })).toThrow(/being opened by process \d+ of another pid namespace \(1\).*if no such process runs there, remove .*open\.lock/);
  });
});
