import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { SluiceError } from '../../errors.js';
import { commitFile, temporaryPath } from './atomic-file.js';

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
