import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { sqliteMetadataStore } from '../storage/metadata/sqlite/index.js';
import { holderIsGone, newLeaseHolder, withLease } from './lease.js';

const lease = (host: string, pid: number, expiresInMs: number) => ({ name: 'x', holder: { id: 'h', host, pid }, acquiredAt: 0, expiresAt: Date.now() + expiresInMs });

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
