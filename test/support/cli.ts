import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The CLI's script, as the tests run it (`node BIN ...`). */
export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'sluice.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  json<T = Record<string, unknown>>(): T;
}

/** Runs the real `sluice` command in a directory. */
export function sluice(cwd: string, ...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: <T>() => JSON.parse(r.stdout) as T };
}
