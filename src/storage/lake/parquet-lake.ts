import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Lake } from './lake.js';

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A lake of Parquet files under `root`: `<root>/<source>/<name>.parquet`.
 *
 * @example
 * const lake = parquetLake('.sluice/lake');
 */
export function parquetLake(root: string): Lake {
  return {
    stagingPath(source) {
      const dir = join(root, source, '_staging');
      mkdirSync(dir, { recursive: true });
      return join(dir, `${randomUUID()}.parquet`);
    },
    async publish(source, stagedPath, name) {
      const relative = join(source, `${name}.parquet`);
      await fsyncPath(stagedPath);
      await rename(stagedPath, join(root, relative));
      await fsyncPath(join(root, source));
      return relative;
    },
    resolve(file) {
      return join(root, file);
    },
    async discard(stagedPath) {
      await rm(stagedPath, { force: true });
    },
  };
}
