import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncPath } from './atomic-file.js';
import type { Lake, LakeFile } from './lake.js';

const STAGING = '_staging';

/**
 * A lake of Parquet files under `root`: `<root>/<source>/<name>.parquet`, staged files in
 * `<root>/<source>/_staging/`.
 *
 * @example
 * const lake = parquetLake('.sluice/lake');
 */
export function parquetLake(root: string): Lake {
  const filesIn = async (source: string, staging: boolean): Promise<LakeFile[]> => {
    const dir = staging ? join(root, source, STAGING) : join(root, source);
    if (!existsSync(dir)) return [];
    const found: LakeFile[] = [];
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = staging ? join(source, STAGING, entry.name) : join(source, entry.name);
      const info = await stat(join(root, file)).catch(() => undefined);
      if (info) found.push({ file, source, staging, bytes: info.size, modifiedAt: info.mtimeMs });
    }
    return found;
  };
  return {
    stagingPath(source) {
      const dir = join(root, source, STAGING);
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
    async remove(file) {
      await rm(join(root, file), { force: true });
    },
    async listFiles() {
      if (!existsSync(root)) return [];
      const sources = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
      return (await Promise.all(sources.flatMap((s) => [filesIn(s, false), filesIn(s, true)]))).flat();
    },
  };
}
