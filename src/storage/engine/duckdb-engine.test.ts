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

test('a sandboxed engine reads and writes only its allowed files, attaches and loads nothing, and cannot be reconfigured', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-sandbox-'));
  try {
    const input = join(dir, 'in.parquet');
    const output = join(dir, 'out.parquet');
    const setup = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
    await setup.run(`COPY (SELECT 1 AS x) TO '${input}' (FORMAT PARQUET)`);
    await setup.run(`COPY (SELECT 2 AS x) TO '${join(dir, 'other.parquet')}' (FORMAT PARQUET)`);
    await setup.close();
    const engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB', sandbox: { allowedPaths: [input, output] } });
    try {
      expect(await engine.all(`SELECT x FROM read_parquet('${input}')`)).toEqual([{ x: 1 }]);
      await engine.run(`COPY (SELECT 3 AS x) TO '${output}' (FORMAT PARQUET)`);
      await expect(engine.all(`SELECT * FROM read_parquet('${join(dir, 'other.parquet')}')`)).rejects.toThrow('file system operations are disabled by configuration');
      await expect(engine.all("SELECT * FROM read_csv('/etc/passwd')")).rejects.toThrow('file system operations are disabled by configuration');
      await expect(engine.run(`COPY (SELECT 1) TO '${join(dir, 'leak.csv')}'`)).rejects.toThrow('file system operations are disabled by configuration');
      await expect(engine.run(`ATTACH '${join(dir, 'x.db')}' AS x`)).rejects.toThrow('file system operations are disabled by configuration');
      await expect(engine.run('LOAD httpfs')).rejects.toThrow(/disabled/);
      await expect(engine.run('SET enable_external_access = true')).rejects.toThrow('the configuration has been locked');
      await expect(engine.run("SET allowed_paths = ['/']")).rejects.toThrow('the configuration has been locked');
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
