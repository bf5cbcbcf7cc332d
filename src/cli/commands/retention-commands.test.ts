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
