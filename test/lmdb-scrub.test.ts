import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { lmdbEventLog } from '../src/storage/log/lmdb/index.js';
import { lmdbOnlineStore } from '../src/storage/online/lmdb/index.js';
import { definition } from './contracts/online-store.contract.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-scrub-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const ENTITIES = 6000;
const key = (i: number) => `subj-${String(i).padStart(5, '0')}-zq`;
const erased = Array.from({ length: 60 }, (_, i) => key(i * 97));

/** A state of realistic size (40 events): about 400 bytes per entry, a multi-page store. */
async function* states() {
  for (let i = 0; i < ENTITIES; i++) {
    yield [key(i), { horizon: i, base: [], ts: Float64Array.from({ length: 40 }, (_, j) => 1_700_000_000_000 + i * 1000 + j), columns: [] }] as const;
  }
}

/** The erased keys found anywhere in the file's bytes. */
const lingering = (file: string) => {
  const bytes = readFileSync(file);
  return erased.filter((k) => bytes.includes(Buffer.from(k)));
};

/** A second process holding the environment open (a running server) until its stdin closes. */
function holder(path: string) {
  const script = `const { open } = await import(${JSON.stringify(join(process.cwd(), 'node_modules/lmdb/index.js'))});
const db = open({ path: ${JSON.stringify(path)}, compression: false }); db.get('x'); process.stdout.write('open\\n');
process.stdin.on('data', () => {}); process.stdin.on('end', async () => { await db.close(); process.exit(0); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const stop = () => new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.stdin.end(); });
  return { ready, stop };
}

describe('LMDB removed bytes', () => {
  test('an online store of thousands of entities keeps no byte of removed keys after scrubFreed', async () => {
    const dir = tempDir();
    const store = lmdbOnlineStore({ path: dir });
    await store.replaceView({ definition: definition('h'), materializedAt: 1, horizon: 0, snapshots: {} }, states());
    // Updates after the build leave stale copies in reused pages, as serving a stream does.
    const info = await store.viewInfo('v');
    await store.update('v', info!.generation, erased, (_, s) => (s === undefined ? undefined : { ...s, horizon: s.horizon + 1 }));
    expect(await store.remove('v', { keys: erased })).toBe(erased.length);
    expect(await store.scrubFreed()).toEqual({ compacted: true });
    const { states: after } = await store.read('v', [key(1), erased[0]!]);
    expect(after[0]?.horizon).toBe(1);
    expect(after[1]).toBeUndefined();
    await store.close();
    expect(lingering(join(dir, 'data.mdb'))).toEqual([]);
    // The other keys are all still there.
    const reopened = lmdbOnlineStore({ path: dir });
    const { states: all } = await reopened.read('v', Array.from({ length: ENTITIES }, (_, i) => key(i)));
    expect(all.filter((s) => s !== undefined)).toHaveLength(ENTITIES - erased.length);
    await reopened.close();
  });

  test('while another process has the store open the scrub says it is pending, and the last close finishes it', async () => {
    const dir = tempDir();
    const store = lmdbOnlineStore({ path: dir });
    await store.replaceView({ definition: definition('h'), materializedAt: 1, horizon: 0, snapshots: {} }, states());
    const server = holder(dir);
    await server.ready;
    await store.remove('v', { keys: erased });
    const report = await store.scrubFreed();
    expect(report.compacted).toBe(false);
    expect(report.pending).toMatch(/open in process \d+: removed bytes can remain in .*data\.mdb until a process that has the store alone closes it/);
    expect(existsSync(join(dir, 'compact-pending'))).toBe(true);
    await server.stop();
    await store.close();
    expect(existsSync(join(dir, 'compact-pending'))).toBe(false);
    expect(lingering(join(dir, 'data.mdb'))).toEqual([]);
  });

  test('the durable log keeps no byte of removed events after scrubFreed', async () => {
    const dir = tempDir();
    const log = lmdbEventLog({ path: dir });
    for (let b = 0; b < 60; b++) {
      const events = Array.from({ length: 100 }, (_, i) => JSON.stringify({ customer_id: key(b * 100 + i), amount: i, note: 'x'.repeat(200) }));
      await log.append('txns', { ackTime: b, origin: 'push', events, rejected: [] });
    }
    const drop = new Set(erased);
    const removed = await log.removeEvents('txns', (text) => drop.has((JSON.parse(text) as { customer_id: string }).customer_id));
    expect(removed.events).toBe(erased.length);
    // An append issued while the scrub swaps the file waits for it, and lands in the new file.
    const [report, appended] = await Promise.all([log.scrubFreed(), log.append('txns', { ackTime: 99, origin: 'push', events: ['{"customer_id":"late"}'], rejected: [] })]);
    expect(report).toEqual({ compacted: true });
    expect(log.read('txns', appended.offset - 1, 1).map((e) => e.events)).toEqual([['{"customer_id":"late"}']]);
    await log.close();
    expect(lingering(join(dir, 'data.mdb'))).toEqual([]);
  });
});
