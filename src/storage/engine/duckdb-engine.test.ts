import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { duckDbEngine } from './duckdb-engine.js';

test('DuckDB gets the memory limit and spill directory it is given; a bad limit names the setting', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-engine-'));
  try {
    const spill = join(dir, 'tmp');
    const engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB', tempDirectory: spill });
    const [row] = await engine.all<{ limit: string; tmp: string }>(`SELECT current_setting('memory_limit') AS "limit", current_setting('temp_directory') AS tmp`);
    await engine.close();
    expect(row).toEqual({ limit: '256.0 MiB', tmp: spill });
    expect(existsSync(spill)).toBe(true);
    await expect(duckDbEngine({ memoryLimit: 'lots' })).rejects.toThrow('DuckDB memory limit "lots" (SLUICE_MEMORY_LIMIT) is not valid; write a size such as "4GB" or "512MiB"');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
