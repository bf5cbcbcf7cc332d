import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { openPlatform } from '../../src/platform.js';
import { literalList } from '../../src/storage/engine/sql-engine.js';
import { TEST_PAUSE_MARKER } from '../../src/orchestration/test-pause.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'sluice.js');

/**
 * Runs the real `sluice` command in `dir` until it reaches the test-pause `step`
 * (SLUICE_TEST_PAUSE_AT), then kills it there with SIGKILL (no cleanup runs): where it dies
 * never depends on timing. Fails the test if the command ends without reaching the step.
 */
export async function sluiceKilledAt(dir: string, step: string, ...args: string[]): Promise<void> {
  await sluiceSignalledAt(dir, step, 'SIGKILL', ...args);
}

/**
 * Like `sluiceKilledAt`, with `signal` (e.g. SIGINT, as Ctrl-C sends); returns the exit code,
 * stdout and stderr. A signal the command handles leaves it paused at the step: `sluiceStoppedAt`
 * resumes it after the signal, so it meets the stop where it is.
 */
export async function sluiceSignalledAt(dir: string, step: string, signal: NodeJS.Signals, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return signalledAt(dir, step, signal, false, args);
}

/** `signal` at `step`, then the command resumed from its pause (SIGUSR2): how a command that handles the signal stops mid-run. */
export async function sluiceStoppedAt(dir: string, step: string, signal: NodeJS.Signals, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return signalledAt(dir, step, signal, true, args);
}

async function signalledAt(dir: string, step: string, signal: NodeJS.Signals, resume: boolean, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1', SLUICE_TEST_PAUSE_AT: step }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const paused = await new Promise<boolean>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes(`${TEST_PAUSE_MARKER} ${step} `)) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  expect(paused, `sluice ${args.join(' ')} never reached ${step}: ${stderr}`).toBe(true);
  child.kill(signal);
  if (resume) child.kill('SIGUSR2');
  const code = await exited;
  return { code, stdout, stderr };
}

/** `column` of every row of every snapshot of a source, sorted, oldest snapshot first; each snapshot's row count is checked against its files. */
export async function snapshotRows(dir: string, source: string, column: string): Promise<string[][]> {
  const platform = openPlatform({ projectDir: dir });
  try {
    const engine = await platform.engine();
    const out: string[][] = [];
    for (const s of (await platform.metadata.listSnapshots({ source })).sort((a, b) => a.version - b.version)) {
      const rows = s.files.length === 0 ? [] : await engine.all<{ v: string }>(`SELECT CAST(${column} AS VARCHAR) AS v FROM read_parquet(${literalList(s.files.map((f) => platform.lake.resolve(f)))}) ORDER BY 1`);
      expect(s.rowCount).toBe(rows.length);
      out.push(rows.map((r) => r.v));
    }
    return out;
  } finally {
    await platform.close();
  }
}

/**
 * The lake rows the audit trail says were removed: each succeeded `purge.run` record's lake
 * stores, plus the rows of the killed runs it resumed (`resumed`).
 */
export async function auditedLakeRows(dir: string): Promise<number> {
  const platform = openPlatform({ projectDir: dir });
  try {
    type Run = { stores: { store: string; rows: number }[]; resumed?: { rows: number }[] };
    const runs = (await platform.metadata.audit.list()).filter((r) => r.action === 'purge.run' && r.outcome === 'succeeded').map((r) => r.details as unknown as Run);
    return runs.reduce((n, r) => n + r.stores.filter((s) => s.store.startsWith('lake:')).reduce((m, s) => m + s.rows, 0) + (r.resumed ?? []).reduce((m, u) => m + u.rows, 0), 0);
  } finally {
    await platform.close();
  }
}
