import { expect, test } from 'vitest';
import type { ViewTableInfo } from '../storage/online/online-store.js';
import { servedView } from './served-table.js';

const info = { viewHash: 'h', materializedAt: 0, snapshots: { s: { id: 's@1', version: 1 } }, applied: { s: 5 } } as unknown as ViewTableInfo;

test('a snapshot committed from log entries the table already holds is not newer data; any other newer snapshot is', () => {
  const status = (latest: { version: number; logOffset?: number }) => servedView(info, 'h', new Map([['s', { id: `s@${latest.version}`, ...latest }]])).status;
  expect(status({ version: 1 })).toBe('FRESH');
  expect(status({ version: 2, logOffset: 5 })).toBe('FRESH');
  expect(status({ version: 2, logOffset: 6 })).toBe('STALE');
  expect(status({ version: 2 })).toBe('STALE');
  expect(status({ version: 3, logOffset: 5 })).toBe('STALE');
});
