import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { initProject } from './support/init-project.js';

// Known limit until 12-01 (gov4 task 3): a v1 audit export (its record range unsigned) verified
// with only a note, so a v1 header written over an export cut at its start passed. It now fails
// unless the operator accepts the unsigned range, which goes into the audit trail.

let root: string;
let dir: string;
let v1File: string;
beforeAll(() => {
  ({ root, dir } = initProject('sluice-audit-v1-'));
  expect(sluice(dir, 'apply').code).toBe(0);
  const exportFile = join(root, 'audit.jsonl');
  expect(sluice(dir, 'audit', 'export', '--since', '1h', '--out', exportFile).code).toBe(0);
  const lines = readFileSync(exportFile, 'utf8').trim().split('\n');
  const { fromPrevHash: _p, toHash: _h, signature: _s, ...v1 } = { ...JSON.parse(lines[0]!), format: 'sluice-audit-export/v1' } as Record<string, unknown>;
  v1File = join(root, 'old.jsonl');
  writeFileSync(v1File, [JSON.stringify(v1), ...lines.slice(1)].join('\n') + '\n');
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('a v1 export fails verification (exit 1, range.signed false in --json) saying to export again, unless --accept-unsigned-range, which is audited', () => {
  const plain = sluice(root, 'audit', 'verify', '--export', v1File);
  expect(plain.code).toBe(1);
  expect(plain.stdout).toMatch(/^audit trail verification FAILED: the export's range \(records 1\.\.\d+\) is not signed \(a v1 export, written before 2026-12-01\).*export the records again \(sluice audit export\) for a signed range, or pass --accept-unsigned-range/);
  const json = sluice(root, '--json', 'audit', 'verify', '--export', v1File);
  expect(json.code).toBe(1);
  expect(json.json()).toMatchObject({ ok: false, range: { fromSeq: 1, signed: false, unsignedAccepted: false } });

  // Accepting needs a project to record it in.
  const nowhere = sluice(root, 'audit', 'verify', '--export', v1File, '--accept-unsigned-range');
  expect(nowhere.code).not.toBe(0);
  expect(nowhere.stderr).toContain('run "sluice apply" first');
  expect(sluice(dir, 'audit', 'verify', '--accept-unsigned-range').code).toBe(2);
  const accepted = sluice(dir, 'audit', 'verify', '--export', v1File, '--accept-unsigned-range');
  expect(accepted.code, accepted.stderr).toBe(0);
  expect(accepted.stdout).toMatch(/is NOT SIGNED \(a v1 export\), accepted by --accept-unsigned-range \(recorded in the audit trail\)/);
  const records = sluice(dir, '--json', 'audit', 'list', '--action', 'audit.verify').json<{ records: { target: string; outcome: string; details: Record<string, unknown> }[] }>().records;
  expect(records[0]).toMatchObject({ target: 'audit-export', outcome: 'succeeded', details: { export: v1File, signed: false, acceptedUnsignedRange: true, fromSeq: 1, problemSeq: null } });
});
