import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { BIN, sluice } from './support/cli.js';

test('sluice demo --once runs the whole platform and finds online == offline', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
  try {
    const r = sluice(root, 'demo', '--once', '--transactions', '50000', '--customers', '1000', '--dir', 'demo', '--json');
    expect(r.code).toBe(0);
    const report = r.json<{ counts: Record<string, number>; consistency: { values: number; mismatches: unknown[] }; datasetId: string; datasetPath: string }>();
    expect(report.counts).toMatchObject({ transactions: 50_001, rejected: 3, datasetFeatures: 8 });
    expect(report.counts.datasetRows).toBeGreaterThan(1000);
    // Live events went through the stream path, online at once and into the lake before the check.
    expect(report.counts.liveEventsPushed).toBe(20_000);
    expect(report.consistency.values).toBe(1600);
    expect(report.consistency.mismatches).toEqual([]);
    expect(report.datasetId).toMatch(/^ds_[0-9a-f]{16}$/);
    expect(report.datasetPath).toBe(join(root, 'demo', 'train.parquet'));
    expect(existsSync(report.datasetPath)).toBe(true);
    const dlq = sluice(join(root, 'demo'), 'dlq', '--json').json<{ total: number }>();
    expect(dlq.total).toBe(3);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('sluice demo --once says where the project and the dataset are, and how to explore them with a command that runs', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
  try {
    const r = sluice(root, 'demo', '--once', '--transactions', '5000', '--customers', '200', '--dir', 'demo');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`project: ${join(root, 'demo')} (`);
    expect(r.stdout).toContain(`training dataset: ${join(root, 'demo', 'train.parquet')} (`);
    // Run from a directory that is not Sluice's checkout, as node and the script.
    const hinted = /^ {2}(node \S+) --project demo dlq +# /m.exec(r.stdout);
    expect(hinted?.[1]).toBe(`node ${BIN}`);
    expect(r.stdout).not.toMatch(/^rejected records: sluice /m);
    expect(sluice(root, '--project', 'demo', 'dlq', '--json').json<{ total: number }>().total).toBe(3);
    // Every hinted command runs as typed (the words after the project, split as a shell would: no quotes in them).
    const hints = [...r.stdout.matchAll(/^ {2}node \S+ --project demo (.+?) +# /gm)].map((m) => m[1]!.split(' '));
    expect(hints.map((h) => h[0])).toEqual(['dlq', 'status', 'list', 'get']);
    for (const args of hints) {
      const ran = sluice(root, '--project', 'demo', ...args);
      expect({ args, code: ran.code, stderr: ran.stderr }).toEqual({ args, code: 0, stderr: '' });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
