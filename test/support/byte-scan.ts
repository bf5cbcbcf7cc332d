import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { duckDbEngine } from '../../src/storage/engine/duckdb-engine.js';
import { literal } from '../../src/storage/engine/sql-engine.js';

/** Every encoding of the key Sluice could write: UTF-8, UTF-16 (both orders), JSON-escaped, and the ASCII core alone. */
function needles(key: string): Buffer[] {
  const core = key.slice(0, key.search(/[^\x20-\x7e]/) === -1 ? key.length : key.search(/[^\x20-\x7e]/));
  const swapped = Buffer.from(key, 'utf16le');
  for (let i = 0; i + 1 < swapped.length; i += 2) [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
  return [Buffer.from(key, 'utf8'), Buffer.from(key, 'utf16le'), swapped, Buffer.from(JSON.stringify(key).slice(1, -1).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)), Buffer.from(core, 'utf8'), Buffer.from(core, 'utf16le')];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}

/** Where the key is found under `dir`: raw bytes of every file, and the decoded values of every Parquet file (its pages are compressed). */
export async function scan(dir: string, key: string): Promise<string[]> {
  const found: string[] = [];
  const files = filesUnder(dir);
  for (const file of files) {
    const bytes = readFileSync(file);
    for (const needle of needles(key)) if (bytes.includes(needle)) found.push(`${relative(dir, file)} (${statSync(file).size} bytes) holds ${JSON.stringify(needle.toString('latin1'))}`);
  }
  const engine = await duckDbEngine({ threads: 1 });
  try {
    for (const file of files.filter((f) => f.endsWith('.parquet'))) {
      const [row] = await engine.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM read_parquet(${literal(file)}) t WHERE to_json(t)::VARCHAR LIKE ${literal(`%${key.slice(0, 12)}%`)}`);
      if (row!.n > 0) found.push(`${relative(dir, file)}: ${row!.n} rows (decoded)`);
    }
  } finally {
    await engine.close();
  }
  return found;
}
