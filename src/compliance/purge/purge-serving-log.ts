import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SluiceContext } from '../../context.js';
import { servingLogDir, type ServedRow } from '../../observability/serving-log/index.js';
import { writeFileAtomic } from '../../storage/lake/atomic-file.js';
import type { StorePurge } from './purge-types.js';

/** Which served rows to remove: a parsed row, or (`torn`) the text of a line that does not parse. */
export interface ServedRowMatch {
  readonly row: (row: ServedRow) => boolean;
  readonly torn: (line: string) => boolean;
}

/**
 * Removes the served rows `match` selects from every serving log file (`<dataDir>/serving-log/
 * <service>/<hour>.jsonl`): each affected file is written again without them, atomically (tmp,
 * fsync, rename); unaffected files are not touched. A line appended to the same file by a server
 * while it is rewritten may be lost (the log is a sample; no served answer depends on it).
 */
export async function purgeServingLog(ctx: SluiceContext, match: ServedRowMatch, dryRun: boolean): Promise<StorePurge> {
  const root = servingLogDir(ctx.dataDir);
  const report = { store: 'serving-log', rows: 0, bytes: 0, filesRewritten: [] as string[] };
  if (!existsSync(root)) return report;
  for (const service of await readdir(root, { withFileTypes: true })) {
    if (!service.isDirectory()) continue;
    for (const name of await readdir(join(root, service.name))) {
      if (!name.endsWith('.jsonl')) continue;
      const path = join(root, service.name, name);
      const lines = (await readFile(path, 'utf8')).split('\n');
      const kept: string[] = [];
      let removed = 0;
      let bytes = 0;
      for (const line of lines) {
        if (line === '') continue;
        let row: ServedRow | undefined;
        try {
          row = JSON.parse(line) as ServedRow;
        } catch {
          row = undefined;
        }
        if (row === undefined ? match.torn(line) : match.row(row)) {
          removed++;
          bytes += Buffer.byteLength(line) + 1;
        } else kept.push(line);
      }
      if (removed === 0) continue;
      report.rows += removed;
      report.bytes += bytes;
      report.filesRewritten.push(join(service.name, name));
      if (!dryRun) await writeFileAtomic(path, kept.length === 0 ? '' : `${kept.join('\n')}\n`);
    }
  }
  return report;
}
