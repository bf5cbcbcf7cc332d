import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SluiceContext } from '../../context.js';
import { servedLogLines, servingLogDir, type ServedRow } from '../../observability/serving-log/index.js';
import { writeFileAtomic } from '../../storage/lake/atomic-file.js';
import type { StorePurge } from './purge-types.js';

/** Which served rows to remove: a parsed row (with the name of the service directory it is in), or (`torn`) the text of a line that does not parse. */
export interface ServedRowMatch {
  readonly row: (row: ServedRow, dir: string) => boolean;
  readonly torn: (line: string) => boolean;
}

/**
 * Removes the served rows `match` selects from every serving log file (`<dataDir>/serving-log/
 * <service>/<hour>.jsonl`, lines read as `servedLogLines` reads them, old, lean and compact formats alike):
 * each affected file is written again without them and without the request and names lines none
 * of whose rows remain, atomically (tmp, fsync, rename); unaffected files are not touched. A line appended to the same file by a server
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
      const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '');
      const read = servedLogLines();
      const parsed = lines.map((line) => read(line));
      // A request line stays while one of its rows does (its rows need its parts), a names line while a row
      // refers to it (every copy: each precedes rows of its own append); neither holds an entity key.
      const keptRequests = new Set<string>();
      const keptColumns = new Set<string>();
      const removes = parsed.map((line, i) => {
        if (line.kind === 'request' || line.kind === 'columns') return false;
        const remove = line.kind === 'row' ? match.row(line.row, service.name) : match.torn(lines[i]!);
        if (!remove && line.kind === 'row') {
          keptRequests.add(line.row.requestId);
          if (line.columns !== undefined) keptColumns.add(line.columns);
        }
        return remove;
      });
      const kept: string[] = [];
      let removed = 0;
      let bytes = 0;
      parsed.forEach((line, i) => {
        const keep = line.kind === 'request' ? keptRequests.has(line.requestId) : line.kind === 'columns' ? keptColumns.has(line.id) : !removes[i];
        if (keep) return void kept.push(lines[i]!);
        if (line.kind !== 'request' && line.kind !== 'columns') removed++;
        bytes += Buffer.byteLength(lines[i]!) + 1;
      });
      if (removed === 0) continue;
      report.rows += removed;
      report.bytes += bytes;
      report.filesRewritten.push(join(service.name, name));
      if (!dryRun) await writeFileAtomic(path, kept.length === 0 ? '' : `${kept.join('\n')}\n`);
    }
  }
  return report;
}
