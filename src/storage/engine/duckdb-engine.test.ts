import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBDoubleVector } from '@duckdb/node-api';
import { expect, test } from 'vitest';
import { duckDbEngine } from './duckdb-engine.js';
import { withSortedStreamEnd } from './stream-end.js';

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

test('without the private fields of a DOUBLE vector (another @duckdb/node-api), the public methods give the same values', async () => {
  // Every DOUBLE vector the library makes is seen through a proxy that hides `items` and `validity`.
  const make = DuckDBDoubleVector.fromRawVector.bind(DuckDBDoubleVector);
  const hidden = new Set<string | symbol>(['items', 'validity']);
  DuckDBDoubleVector.fromRawVector = (...args: Parameters<typeof make>) => {
    const vector = make(...args);
    return new Proxy(vector, {
      get: (target, name) => {
        if (hidden.has(name)) return undefined;
        const value = Reflect.get(target, name, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
  const engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
  try {
    const rows = 3000;
    const values = new Float64Array(rows).map((_, i) => (i % 7 === 0 ? NaN : i % 5 === 0 ? -0 : i % 11 === 0 ? Infinity : i / 3));
    await engine.run('CREATE TABLE d (i DOUBLE, v DOUBLE)');
    await engine.appendColumns('d', [{ type: 'double', values: new Float64Array(rows).map((_, i) => i) }, { type: 'double', values }]);
    const seen = new Float64Array(rows).fill(12345);
    let whole = 0;
    for await (const chunk of engine.streamChunks('SELECT i, v FROM d ORDER BY i')) {
      if (chunk.doubles?.(0) !== undefined) whole++;
      const ids = chunk.column(0);
      const v = chunk.column(1);
      for (let r = 0; r < chunk.rowCount; r++) seen[ids.get(r) as number] = (v.get(r) as number | null) ?? NaN;
    }
    expect(whole).toBe(0);
    expect(Array.from(seen).map((x) => (Object.is(x, -0) ? '-0' : x))).toEqual(Array.from(values).map((x) => (Object.is(x, -0) ? '-0' : x)));
  } finally {
    DuckDBDoubleVector.fromRawVector = make;
    await engine.close();
  }
});

test('constant and NULL-only DOUBLE columns, NaN, -0 and infinities read the same through streamChunks as through all', async () => {
  const engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
  try {
    const sql = `SELECT i::DOUBLE AS i, 1.5::DOUBLE AS c, NULL::DOUBLE AS n, CASE i % 4 WHEN 0 THEN 'NaN'::DOUBLE WHEN 1 THEN '-0'::DOUBLE WHEN 2 THEN 'inf'::DOUBLE ELSE '-inf'::DOUBLE END AS s, CASE WHEN i % 3 = 0 THEN NULL ELSE i END::DOUBLE AS m FROM range(5000) t(i) ORDER BY i`;
    const shown = (x: unknown) => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? String(Object.is(v, -0) ? '-0' : v) : v));
    const streamed: Record<string, unknown>[] = [];
    for await (const chunk of engine.streamChunks(sql)) {
      for (let r = 0; r < chunk.rowCount; r++) streamed.push({ i: chunk.column(0).get(r), c: chunk.column(1).get(r), n: chunk.column(2).get(r), s: chunk.column(3).get(r), m: chunk.column(4).get(r) });
      expect(chunk.doubles!(2)).toBeUndefined();
      expect(chunk.doubles!(4)).toBeUndefined();
      expect(Array.from(chunk.doubles!(1)!)).toEqual(new Array(chunk.rowCount).fill(1.5));
    }
    expect(shown(streamed)).toBe(shown(await engine.all(sql)));
  } finally {
    await engine.close();
  }
});

test('a caller that stops early leaves the engine usable; the stream after a break is not read on', async () => {
  const engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
  try {
    for await (const chunk of engine.streamChunks('SELECT i::DOUBLE FROM range(100000) t(i)')) {
      expect(chunk.rowCount).toBeGreaterThan(0);
      break;
    }
    expect(await engine.all('SELECT 42 AS n')).toEqual([{ n: 42 }]);
  } finally {
    await engine.close();
  }
});

test('a query failing after its first chunks raises (@duckdb/node-api ends it like an exhausted one: the end marker tells them apart); the engine serves on', async () => {
  const engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
  try {
    let rows = 0;
    const read = async () => {
      for await (const chunk of engine.streamChunks(`SELECT CASE WHEN i < 2000000 THEN i::DOUBLE ELSE error('failed at ' || i) END AS v FROM range(4000000) t(i)`)) rows += chunk.rowCount;
    };
    // The engine's own error is not exposed: the message says what is known.
    await expect(read()).rejects.toMatchObject({ code: 'ADAPTER_FAILED', message: expect.stringMatching(/^DuckDB: the query's result ended before its end marker: it failed mid-way/) });
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThanOrEqual(2_000_000);
    expect(await engine.all('SELECT 42 AS n')).toEqual([{ n: 42 }]);
  } finally {
    await engine.close();
  }
});

test('an open appender takes rows over many calls while a stream is open on the main session; they are visible after close, the stream is not cut', async () => {
  const engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
  try {
    await engine.run('CREATE TABLE src AS SELECT i::DOUBLE AS i FROM range(10000) t(i)');
    await engine.run('CREATE TABLE out (i DOUBLE, half DOUBLE, label VARCHAR)');
    const appender = await engine.openAppender('out', { whileStreaming: true });
    let streamed = 0;
    try {
      for await (const chunk of engine.streamChunks('SELECT i FROM src ORDER BY i')) {
        const ids = chunk.doubles!(0)!.slice();
        const half = ids.map((v) => (v % 2 === 0 ? v / 2 : NaN));
        const labels = Array.from(ids, (v) => (v % 3 === 0 ? null : `r${v}`));
        // Fewer rows than the chunk holds: only the first `rows` go in.
        appender.append([{ type: 'double', values: ids }, { type: 'double', values: half }, { type: 'text', values: labels }], chunk.rowCount);
        streamed += chunk.rowCount;
      }
    } finally {
      await appender.close();
    }
    await appender.close();
    expect(streamed).toBe(10000);
    const [row] = await engine.all<{ n: number; halves: number; labels: number; sum: number; bad: number }>(
      "SELECT count(*)::INTEGER AS n, count(half)::INTEGER AS halves, count(label)::INTEGER AS labels, sum(i)::DOUBLE AS sum, count(*) FILTER (WHERE half IS NOT NULL AND half * 2 <> i OR label IS NOT NULL AND label <> 'r' || i::BIGINT)::INTEGER AS bad FROM out",
    );
    expect(row).toEqual({ n: 10000, halves: 5000, labels: 10000 - 3334, sum: (9999 * 10000) / 2, bad: 0 });
  } finally {
    await engine.close();
  }
});

test('VARCHAR values read through streamChunks as through all: short ASCII (read from the entry), non-ASCII, 12 and 13 bytes, empty, NULL at word edges', async () => {
  const engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
  try {
    const texts = ['', 'a', 'm00123', 'abcdefghijkl', 'abcdefghijklm', 'é', 'caf\u00e9', '\u{1F600}', 'x\ty', '\u007f', 'a much longer string past twelve bytes', '日本'];
    const sql = `SELECT i, CASE WHEN i % 64 IN (0, 31, 32, 63) THEN NULL ELSE [${texts.map((t) => `'${t}'`).join(', ')}][1 + i % ${texts.length}] END AS s FROM range(5000) t(i) ORDER BY i`;
    const expected = (await engine.all<{ i: number; s: string | null }>(sql)).map((r) => r.s);
    const streamed: (string | null)[] = [];
    for await (const chunk of engine.streamChunks(sql)) {
      const s = chunk.column(1);
      for (let r = 0; r < chunk.rowCount; r++) streamed.push(s.get(r) as string | null);
    }
    expect(streamed).toEqual(expected);
    expect(new Set(streamed)).toEqual(new Set([...texts, null]));
  } finally {
    await engine.close();
  }
});

test('a stream interrupted after its first chunks raises even when the rest of its result (the end marker) was fetched before the interrupt: a one-chunk result, wrapped or carrying its marker', async () => {
  const engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
  try {
    const sorted = 'SELECT i::DOUBLE AS v FROM range(1000) t(i) ORDER BY v';
    const carried = withSortedStreamEnd('SELECT i::DOUBLE AS v FROM range(1000) t(i)', 'v', "'Infinity'::DOUBLE AS v");
    for (const [sql, options] of [[sorted, {}], [carried, { carriesEndMarker: true }]] as const) {
      let rows = 0;
      const read = async () => {
        for await (const chunk of engine.streamChunks(sql, options)) {
          rows += chunk.rowCount;
          if (rows === chunk.rowCount) engine.interrupt();
        }
      };
      await expect(read()).rejects.toMatchObject({ code: 'ADAPTER_FAILED', message: expect.stringMatching(/interrupted/i) });
    }
    expect(await engine.all('SELECT 42 AS n')).toEqual([{ n: 42 }]);
  } finally {
    await engine.close();
  }
});

test('a stream interrupted after its first chunks raises, never ends as if exhausted (a caller would take a cut result for a whole one)', async () => {
  const engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
  try {
    let rows = 0;
    const read = async () => {
      for await (const chunk of engine.streamChunks('SELECT i::DOUBLE AS v FROM range(20000000) t(i)')) {
        rows += chunk.rowCount;
        if (rows === chunk.rowCount) engine.interrupt();
      }
    };
    await expect(read()).rejects.toMatchObject({ code: 'ADAPTER_FAILED', message: expect.stringMatching(/interrupted/i) });
    expect(rows).toBeLessThan(20_000_000);
    // The engine serves later statements as usual.
    expect(await engine.all('SELECT 42 AS n')).toEqual([{ n: 42 }]);
  } finally {
    await engine.close();
  }
});
