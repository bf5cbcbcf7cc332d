import { expect, test } from 'vitest';
import type { RetentionReport } from '../../compliance/retention/run-retention.js';
import { retentionText } from './retention-commands.js';

const at = Date.parse('2026-11-30T12:00:00Z');
const report = (dryRun: boolean): RetentionReport => ({
  at, dryRun, sources: [], dropRecords: [], servedUnreadable: 0, leftoverFiles: 0,
  views: [{ view: 'stats', retention: '10d', cutoff: at - 10 * 86_400_000, entries: 0, servedRows: 2 }],
  scrubPending: dryRun ? [] : [{ store: 'online', reason: 'another process has it open; its freed pages are cleared when it closes' }],
});

test('retention says what it removed from the serving log, also in a dry run, and warns of bytes not scrubbed yet as erase does (review finding 13)', () => {
  const text = retentionText(report(false));
  expect(text).toContain('removed 0 lake/store rows, 0 online entries and 2 served rows (serving log).');
  expect(text).not.toContain('Nothing has expired');
  expect(text).toMatch(/stats .*serving-log .*2/);
  expect(text).toContain('warning: online store: another process has it open');
  const dry = retentionText(report(true));
  expect(dry).toContain('Dry run: nothing was removed. Retention at 2026-11-30T12:00:00.000Z would remove 0 lake/store rows, 0 online entries and 2 served rows (serving log).');
  expect(dry).not.toContain('warning');
});

test('a retention stopped past its commit says what it left to the next run (wt-fixb defect 1)', () => {
  const text = retentionText({ ...report(false), stopped: { reason: 'interrupted (SIGTERM)', left: ['online:stats', 'serving-log', 'drop-records', 'scrub'] } });
  expect(text).toContain('Stopped past its commit (interrupted (SIGTERM)): what it removed stays removed; left to the next "sluice retention run": online:stats, serving-log, drop-records, scrub.');
  expect(retentionText(report(false))).not.toContain('Stopped');
});

test('the summary counts what the table lists: online entries and served rows a source\'s purge removed count as such, a flagged dataset\'s rows (still held) not at all (review rev11 finding 4)', () => {
  const stores = [
    { store: 'lake:txns', rows: 3, bytes: 90, filesRewritten: ['a.parquet'] },
    { store: 'online:profile', rows: 1, bytes: 0, filesRewritten: [] },
    { store: 'serving-log', rows: 2, bytes: 40, filesRewritten: [] },
    { store: 'dataset:ds1', rows: 5, bytes: 0, filesRewritten: [], tainted: true },
  ];
  const purge = { source: 'txns', reason: 'retention', dryRun: false, at, stores, rows: 11, bytes: 130, leftoverFiles: [], resumed: [] };
  const text = retentionText({
    ...report(false), scrubPending: [],
    sources: [{ source: 'txns', retention: '20d', cutoff: at - 20 * 86_400_000, purge, expiredSnapshots: ['s1'], filesDeleted: ['f'], bytesDeleted: 10 }],
    views: [{ view: 'spend', retention: '10d', cutoff: at - 10 * 86_400_000, entries: 1, servedRows: 0 }],
  });
  expect(text).toContain('removed 3 lake/store rows, 2 online entries and 2 served rows (serving log).');
  expect(text).toMatch(/online:profile +1/);
  expect(text).toMatch(/online:spend +1/);
  expect(text).toMatch(/dataset:ds1 +5 .*tainted/);
});
