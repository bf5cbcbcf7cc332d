import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

/**
 * Checks a metrics exposition with `promtool check metrics` (the Prometheus project's own linter).
 * Without promtool the check is skipped with a warning, unless `SLUICE_SERVER_TESTS=1` (set by
 * `.ci/run`, which installs the `prometheus` Debian package): then its absence fails the test,
 * so CI cannot pass a check it never ran.
 */
export function expectPromtoolAccepts(exposition: string): void {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (run.error !== undefined) {
    if (process.env.SLUICE_SERVER_TESTS === '1') throw new Error(`SLUICE_SERVER_TESTS=1 but promtool cannot run (apt-get install -y prometheus): ${run.error.message}`);
    console.warn(`promtool check skipped: promtool is not installed (apt-get install -y prometheus): ${run.error.message}`);
    return;
  }
  expect(run.stdout + run.stderr).toBe('');
  expect(run.status).toBe(0);
}
