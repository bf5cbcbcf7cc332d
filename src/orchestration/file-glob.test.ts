import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { fileDate, matchFiles } from './file-glob.js';

const root = mkdtempSync(join(tmpdir(), 'sluice-glob-'));
for (const path of ['data/p/2026-01-02.csv', 'data/p/2026-01-01.csv', 'data/p/notes.txt', 'data/p/old/2025-12-31.csv', 'data/q/a.csv', 'data/p/b?.csv']) {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), '');
}
afterAll(() => rmSync(root, { recursive: true, force: true }));
const rel = (files: string[]) => files.map((f) => f.slice(root.length + 1));

describe('file globs of ingest jobs', () => {
  test('* and ? stay within a directory, ** crosses them; results are sorted by path', () => {
    expect(rel(matchFiles(root, 'data/p/*.csv'))).toEqual(['data/p/2026-01-01.csv', 'data/p/2026-01-02.csv', 'data/p/b?.csv']);
    expect(rel(matchFiles(root, 'data/p/2026-01-0?.csv'))).toEqual(['data/p/2026-01-01.csv', 'data/p/2026-01-02.csv']);
    expect(rel(matchFiles(root, 'data/**/*.csv'))).toEqual(['data/p/2026-01-01.csv', 'data/p/2026-01-02.csv', 'data/p/b?.csv', 'data/p/old/2025-12-31.csv', 'data/q/a.csv']);
    expect(rel(matchFiles(root, 'data/*/a.csv'))).toEqual(['data/q/a.csv']);
    expect(rel(matchFiles(root, 'data/p/notes.txt'))).toEqual(['data/p/notes.txt']);
    expect(matchFiles(root, 'missing/*.csv')).toEqual([]);
    expect(rel(matchFiles(root, join(root, 'data/q/*.csv')))).toEqual(['data/q/a.csv']);
  });

  test('the date a file name carries, as UTC midnight; none when there is none or it is not a day', () => {
    expect(fileDate('data/payments-2026-01-31.csv')).toBe(Date.UTC(2026, 0, 31));
    expect(fileDate('20260131.parquet')).toBe(Date.UTC(2026, 0, 31));
    expect(fileDate('2026/01/notes.csv')).toBeUndefined();
    expect(fileDate('2026-02-30.csv')).toBeUndefined();
    expect(fileDate('batch-123456789.csv')).toBeUndefined();
  });

  test('a file under a dated directory has its date: hive dt= / date=, YYYY/MM/DD, a dated directory; _-separated dates too', () => {
    const jan31 = Date.UTC(2026, 0, 31);
    expect(fileDate('data/payments/dt=2026-01-31/part-0000.parquet')).toBe(jan31);
    expect(fileDate('data/payments/date=20260131/part-0.csv')).toBe(jan31);
    expect(fileDate('data/payments/2026/01/31/events.csv')).toBe(jan31);
    expect(fileDate('data/payments/2026-01-31/events.csv')).toBe(jan31);
    expect(fileDate('data/payments/payments_2026_01_31.csv')).toBe(jan31);
    // The name's own date comes first; separators must agree; a directory that is not a whole date is none.
    expect(fileDate('data/2026-01-30/payments-2026-01-31.csv')).toBe(jan31);
    expect(fileDate('data/payments_2026-01_31.csv')).toBeUndefined();
    expect(fileDate('data/export-2026-01-31-v2/events.csv')).toBeUndefined();
    expect(fileDate('data/2026/13/31/events.csv')).toBeUndefined();
  });
});
