import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The CLI's script, as the tests run it (`node BIN ...`). */
export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'sluice.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** How the command ended: `exit N`, `killed by SIGNAL`, or why it did not run. */
  readonly ended?: string;
  json<T = Record<string, unknown>>(): T;
}

/** Runs the real `sluice` command in a directory. */
export function sluice(cwd: string, ...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const ended = r.signal !== null ? `killed by ${r.signal}` : r.error ? `not run (${r.error.message})` : `exit ${r.status}`;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ended, json: <T>() => JSON.parse(r.stdout) as T };
}

/**
 * Runs a step that must succeed (a test's setup): a failure throws with how the command ended
 * (exit code, signal), its stderr and stdout, so a setup that fails once under load says why.
 *
 * @example
 * beforeAll(() => void sluiceOk(dir, 'apply'));
 */
export function sluiceOk(cwd: string, ...args: string[]): CliResult {
  const result = sluice(cwd, ...args);
  if (result.code !== 0) {
    throw new Error(`setup step "sluice ${args.join(' ')}" in ${cwd} failed (${result.ended ?? `exit ${result.code}`})\n--- stderr ---\n${result.stderr}\n--- stdout ---\n${result.stdout}`);
  }
  return result;
}
