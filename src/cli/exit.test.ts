import { afterEach, expect, test, vi } from 'vitest';
import { EXIT_FAILURE, reportError } from './exit.js';
import { engineError } from '../storage/engine/engine-error.js';
import { publishFile } from '../storage/lake/atomic-file.js';
import { ERROR_STATUS } from '../serving/http/error-status.js';

afterEach(() => vi.restoreAllMocks());

/** What `reportError` writes to stderr for `error`, and the exit code it returns. */
function reported(error: unknown): { code: number; stderr: string } {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const code = reportError(error, false);
  vi.restoreAllMocks();
  return { code, stderr };
}

/** A Node system error as `fs` throws it (code, syscall, path). */
const systemError = (code: string, syscall: string, path: string) => Object.assign(new Error(`${code}: refused, ${syscall} '${path}'`), { code, syscall, path, errno: -30 });

test('a file system refusal (read-only, permission, full disk) is a message with the fix, not a stack', () => {
  for (const code of ['EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT']) {
    const { code: exit, stderr } = reported(systemError(code, 'open', '/data/p/out.csv'));
    expect(exit).toBe(EXIT_FAILURE);
    expect(stderr).toBe(`error: ${code}: refused, open '/data/p/out.csv': the file system refused it; check that /data/p/out.csv and its directory are writable and the disk has space, then run the command again\n`);
  }
});

test('a directory that cannot be made (a recursive mkdir under a read-only mount says ENOENT) is the same refusal, not a stack', () => {
  const { stderr } = reported(systemError('ENOENT', 'mkdir', '/ro/newp'));
  expect(stderr).toBe("error: ENOENT: refused, mkdir '/ro/newp': the file system refused it; check that /ro/newp and its directory are writable and the disk has space, then run the command again\n");
});

test('a refused copy or rename names its destination, not its source', () => {
  const copy = Object.assign(systemError('EROFS', 'copyfile', '/sluice/examples/fraud/sluice.config.ts'), { dest: '/data/p/sluice.config.ts' });
  expect(reported(copy).stderr).toContain('check that /data/p/sluice.config.ts and its directory are writable');
});

test('any other unexpected error keeps its stack (a bug to report)', () => {
  const { stderr } = reported(new TypeError('x is undefined'));
  expect(stderr).toMatch(/^error: x is undefined\nTypeError: x is undefined\n\s+at /);
});

test('a refusal carried as the cause of a Sluice error (an engine that could not open its file) is named as a refusal, with its path', () => {
  const { stderr } = reported(Object.assign(new Error('DuckDB: IO Error: Cannot open file "/ro/out.parquet": Read-only file system'), { cause: systemError('EROFS', 'open', '/ro/out.parquet') }));
  expect(stderr).toBe('error: DuckDB: IO Error: Cannot open file "/ro/out.parquet": Read-only file system: the file system refused it; check that /ro/out.parquet and its directory are writable and the disk has space, then run the command again\n');
});

test('an engine refused reading a file (an unreadable ingest file) is told to make it readable, not writable', () => {
  const read = engineError('DuckDB', new Error('IO Error: Cannot open file "/data/payments.csv": Permission denied'), "SELECT * FROM read_csv('/data/payments.csv')");
  const { stderr } = reported(read);
  expect(stderr).toBe('error: DuckDB: IO Error: Cannot open file "/data/payments.csv": Permission denied: the file system refused it; check that /data/payments.csv is readable and its directory searchable, then run the command again\n');
  expect(stderr).not.toContain('writable');
  // The same text for the file a COPY writes is a refused write.
  const write = engineError('DuckDB', new Error('IO Error: Cannot open file "/data/o\'k.csv": Permission denied'), "COPY t TO '/data/o''k.csv' (FORMAT CSV)");
  expect(reported(write).stderr).toContain("check that /data/o'k.csv and its directory are writable");
});

test('a refused write keeps a code of the error model with --json, not INTERNAL (which reads as a bug)', async () => {
  const failed = await publishFile('/ro/train.parquet', async (temporary) => {
    throw engineError('DuckDB', new Error(`IO Error: Cannot open file "${temporary}": Read-only file system`), `COPY t TO '${temporary}'`);
  }).catch((error: unknown) => error);
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  expect(reportError(failed, true)).toBe(EXIT_FAILURE);
  vi.restoreAllMocks();
  expect(JSON.parse(stdout)).toMatchObject({ error: { code: 'FILE_SYSTEM_REFUSED' } });
  expect((JSON.parse(stdout) as { error: { message: string } }).error.message).toContain("open '/ro/train.parquet'");
  expect(ERROR_STATUS.FILE_SYSTEM_REFUSED).toBe(503);
});
