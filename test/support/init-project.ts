import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sluice } from './cli.js';

/**
 * A fresh project made by `sluice init proj` in a temporary directory (`root`), its config
 * replaced by `config` when given; the caller removes `root`.
 *
 * @example
 * const { root, dir } = initProject('sluice-rerun-', config);
 */
export function initProject(prefix: string, config?: string): { root: string; dir: string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const made = sluice(root, 'init', 'proj');
  if (made.code !== 0) throw new Error(`sluice init failed (${made.ended}): ${made.stderr}`);
  const dir = join(root, 'proj');
  if (config !== undefined) writeFileSync(join(dir, 'sluice.config.ts'), config);
  return { root, dir };
}
