import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, expect, test } from 'vitest';
import { ownProcessTag } from './process-identity.js';
import { tryLockFile, unlockFile } from './lock-file.js';

// The one lock file of the code base (the online store's open.lock, the lineage spool's
// deliver.lock): created whole (never seen half written), a live holder (or text that is no tag,
// while young) is held, a gone holder's lock is taken over atomically, by one taker only.

const root = mkdtempSync(join(tmpdir(), 'sluice-lock-file-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const DEAD = `${2 ** 22 + 1}.1`; // no such pid: a holder that is gone

test('a free lock is taken with the taker\'s tag in it; a live holder is held; a gone holder\'s lock is taken over; unlock frees it', () => {
  const lock = join(root, 'a.lock');
  expect(tryLockFile(lock)).toEqual({ acquired: true });
  expect(readFileSync(lock, 'utf8').trim()).toBe(ownProcessTag());
  expect(tryLockFile(lock)).toEqual({ acquired: false, holder: ownProcessTag() });
  unlockFile(lock);
  writeFileSync(lock, `${process.ppid}\n`); // a live process (the test runner)
  expect(tryLockFile(lock)).toEqual({ acquired: false, holder: String(process.ppid) });
  writeFileSync(lock, `${DEAD}\n`);
  expect(tryLockFile(lock)).toEqual({ acquired: true });
  unlockFile(lock);
  expect(readdirSync(root)).toEqual([]);
});

test('text that is no tag (a lock an older writer created and has not written yet) is held while young, and taken over once old', () => {
  const lock = join(root, 'b.lock');
  writeFileSync(lock, '');
  expect(tryLockFile(lock)).toEqual({ acquired: false, holder: '' });
  const old = (Date.now() - 60_000) / 1000;
  utimesSync(lock, old, old);
  expect(tryLockFile(lock)).toEqual({ acquired: true });
  unlockFile(lock);
});

test('two workers that find one gone holder\'s lock at once: never both inside (the takeover is atomic)', async () => {
  const dir = join(root, 'race');
  mkdirSync(dir);
  const module = join(import.meta.dirname, '..', '..', 'dist', 'orchestration', 'lock-file.js');
  const worker = `
    const { workerData } = require('node:worker_threads');
    import(${JSON.stringify(module)}).then(({ tryLockFile, unlockFile }) => {
      const { lock, shared } = workerData;
      Atomics.wait(shared, 0, 0);
      const giveUpAt = Date.now() + 5000;
      while (!tryLockFile(lock).acquired) if (Date.now() > giveUpAt) throw new Error('never acquired');
      const inside = Atomics.add(shared, 1, 1) + 1;
      if (inside > Atomics.load(shared, 2)) Atomics.store(shared, 2, inside);
      const end = Date.now() + 5; while (Date.now() < end);
      Atomics.sub(shared, 1, 1);
      unlockFile(lock);
    });`;
  let both = 0;
  const trials = 100;
  for (let t = 0; t < trials; t++) {
    const lock = join(dir, 'open.lock');
    writeFileSync(lock, `${DEAD}\n`);
    const shared = new Int32Array(new SharedArrayBuffer(16));
    const workers = [0, 1].map(() => new Worker(worker, { eval: true, workerData: { lock, shared } }));
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('online', resolve))));
    await new Promise((resolve) => setTimeout(resolve, 5));
    Atomics.store(shared, 0, 1);
    Atomics.notify(shared, 0);
    const exits = await Promise.all(workers.map((w) => new Promise<number>((resolve) => w.once('exit', resolve))));
    expect(exits).toEqual([0, 0]);
    if (shared[2]! >= 2) both++;
    rmSync(lock, { force: true });
  }
  expect(both).toBe(0);
  expect(readdirSync(dir)).toEqual([]);
}, 120_000);
