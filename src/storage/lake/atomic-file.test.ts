import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { SluiceError } from '../../errors.js';
import { commitFile, publishFile, temporaryPath } from './atomic-file.js';
import { duckDbEngine } from '../engine/duckdb-engine.js';
import { engineError } from '../engine/engine-error.js';
import { refusedPath } from '../file-system-refusal.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-atomic-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a temporary removed before it is published fails with a SluiceError naming both files, not a bare ENOENT', async () => {
  const out = join(dir, 'train.parquet');
  const temporary = temporaryPath(out);
  writeFileSync(temporary, 'x');
  rmSync(temporary);
  const failed = await commitFile(temporary, out).catch((error: unknown) => error);
  expect(failed).toBeInstanceOf(SluiceError);
  expect(failed).toMatchObject({ code: 'CONFLICT' });
  expect((failed as Error).message).toContain(`${temporary} was removed before it was published as ${out}`);
});

/** A Node system error as `fs` throws it (code, syscall, path). */
const systemError = (code: string, syscall: string, path: string) => Object.assign(new Error(`${code}: refused, ${syscall} '${path}'`), { code, syscall, path });

test('a file system refusal while writing the temporary names the path the caller gave, not the temporary, and keeps the refusal', async () => {
  const out = join(dir, 'refused.parquet');
  for (const thrown of [
    (temporary: string) => systemError('EACCES', 'open', temporary),
    // DuckDB's COPY TO under a read-only directory, as the engine adapter reports it.
    (temporary: string) => engineError('DuckDB', new Error(`IO Error: Cannot open file "${temporary}": Read-only file system`), `COPY t TO '${temporary}'`),
  ]) {
    let temporary = '';
    const failed = await publishFile(out, async (t) => {
      temporary = t;
      throw thrown(t);
    }).catch((error: unknown) => error);
    expect(refusedPath(failed)).toBe(out);
    expect((failed as Error).message).not.toContain(temporary);
    expect((failed as Error).message).toMatch(new RegExp(`^E(ACCES|ROFS): .+, open '${out}'$`));
  }
  // Anything else is rethrown as it was.
  const other = new Error('boom');
  await expect(publishFile(out, async () => { throw other; })).rejects.toBe(other);
});

test('publishFile writes through a temporary and publishes it atomically; a failure leaves no temporary', async () => {
  const out = join(dir, 'published.txt');
  await publishFile(out, async (temporary) => writeFileSync(temporary, 'done'));
  expect(readFileSync(out, 'utf8')).toBe('done');
  await publishFile(out, async (temporary) => { writeFileSync(temporary, 'half'); throw new Error('stopped'); }).catch(() => undefined);
  expect(readFileSync(out, 'utf8')).toBe('done');
  expect(readdirSync(dir).filter((f) => f.startsWith('published.txt.tmp-'))).toEqual([]);
});

test('publishFile with replace: false never replaces an existing file: it fails with EEXIST, the file as it was, no temporary left', async () => {
  const out = join(dir, 'kept.txt');
  writeFileSync(out, 'precious');
  const failed = await publishFile(out, async (temporary) => writeFileSync(temporary, 'new'), { replace: false }).catch((error: unknown) => error);
  expect(failed).toMatchObject({ code: 'EEXIST' });
  expect(readFileSync(out, 'utf8')).toBe('precious');
  expect(readdirSync(dir).filter((f) => f.startsWith('kept.txt.tmp-'))).toEqual([]);
  const fresh = join(dir, 'fresh.txt');
  await publishFile(fresh, async (temporary) => writeFileSync(temporary, 'first'), { replace: false });
  expect(readFileSync(fresh, 'utf8')).toBe('first');
  expect(readdirSync(dir).filter((f) => f.startsWith('fresh.txt.tmp-'))).toEqual([]);
});

/** A read-only view of a fresh directory (a read-only bind mount: as root, chmod 555 refuses nothing), or undefined where mounts cannot be made. */
function readOnlyDirectory(): { path: string; unmount(): void } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const [source, path] = [join(dir, 'ro-source'), join(dir, 'ro')];
  mkdirSync(source, { recursive: true });
  mkdirSync(path, { recursive: true });
  if (spawnSync('mount', ['--bind', '-o', 'ro', source, path]).status !== 0) return undefined;
  return { path, unmount: () => void spawnSync('umount', [path]) };
}

test('DuckDB writing a dataset under a read-only directory fails naming the path given, with its refusal (EROFS)', async (t) => {
  const readOnly = readOnlyDirectory();
  if (readOnly === undefined) return t.skip('needs root and bind mounts');
  const engine = await duckDbEngine();
  try {
    const out = join(readOnly.path, 'file.parquet');
    const failed = await publishFile(out, (temporary) => engine.run(`COPY (SELECT 1 AS x) TO '${temporary}' (FORMAT PARQUET)`)).catch((error: unknown) => error);
    expect(failed).toMatchObject({ code: 'EROFS', path: out, message: `EROFS: read-only file system, open '${out}'` });
  } finally {
    await engine.close();
    readOnly.unmount();
  }
});
