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

test('DOUBLE columns keep every value and every NULL through appendColumns and streamChunks (NaN is NULL; whole arrays only without NULLs)', async () => {
  const engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
  try {
    // Rows across several 2,048-row chunks; NULLs at word edges of the validity mask (bits 0, 31, 32, 63, 64).
    const rows = 5000;
    const values = new Float64Array(rows).map((_, i) => (i % 64 === 0 || i % 64 === 31 || i % 64 === 32 || i % 64 === 63 || i === 4999 ? NaN : i * 0.1 - 7));
    const dense = new Float64Array(rows).map((_, i) => -0 + i / 3);
    await engine.run('CREATE TABLE d (i DOUBLE, v DOUBLE, w DOUBLE)');
    await engine.appendColumns('d', [{ type: 'double', values: new Float64Array(rows).map((_, i) => i) }, { type: 'double', values }, { type: 'double', values: dense }]);
    const [counts] = await engine.all<{ nulls: number; n: number }>('SELECT count(*) FILTER (WHERE v IS NULL)::INTEGER AS nulls, count(*)::INTEGER AS n FROM d');
    expect(counts).toEqual({ nulls: values.filter((v) => Number.isNaN(v)).length, n: rows });
    const seen = new Float64Array(rows);
    const seenDense = new Float64Array(rows);
    let wholeArrays = 0;
    for await (const chunk of engine.streamChunks('SELECT i, v, w FROM d ORDER BY i')) {
      const ids = chunk.doubles!(0)!;
      const v = chunk.column(1);
      if (chunk.doubles!(1) !== undefined) wholeArrays++;
      const w = chunk.doubles!(2)!;
      for (let r = 0; r < chunk.rowCount; r++) {
        seen[ids[r]!] = (v.get(r) as number | null) ?? NaN;
        seenDense[ids[r]!] = w[r]!;
      }
    }
    expect(Array.from(seen)).toEqual(Array.from(values));
    expect(Array.from(seenDense)).toEqual(Array.from(dense));
    expect(wholeArrays).toBe(0);
  } finally {
    await engine.close();
  }
});
