import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SluiceContext } from '../../context.js';
import { requestRowSpans, servedLogLines, servingLogDir, type ServedRow } from '../../observability/serving-log/index.js';
import { abandonedTemporaries, writeFileAtomic } from '../../storage/lake/atomic-file.js';
import { testPause } from '../../orchestration/test-pause.js';
import type { StorePurge } from './purge-types.js';

/**
 * Which served rows to remove: a parsed row (with the name of the service directory it is in), or
 * (`torn`) the text of a line or row that does not read (with its directory and file name).
 */
export interface ServedRowMatch {
  readonly row: (row: ServedRow, dir: string) => boolean;
  /** Rows selected by a value they served (a feature that served an erased key): removed as `row`'s are, counted apart (`byValue`). */
  readonly value?: (row: ServedRow) => boolean;
  readonly torn: (line: string, dir: string, file: string) => boolean;
}

/** What the purge does with one line: keep it, drop it, or write it again as `text` (a request line without some of its rows); `byValue` of `removed` were selected by a value. */
type LineFate = { readonly keep: boolean; readonly text?: string; readonly removed: number; readonly byValue?: number };

/** Whether `match` selects a parsed row: by its key, or (`value`) only by a value it served. */
function rowSelection(match: ServedRowMatch, row: ServedRow, dir: string): 'row' | 'value' | undefined {
  if (match.row(row, dir)) return 'row';
  return match.value?.(row) === true ? 'value' : undefined;
}

/**
 * The fate of a request line holding rows (since 2026-11-30 (17)): the rows `match` selects are cut
 * out of its text (every other byte kept as written), the line dropped when none is left (unless
 * row lines after it still need it: `needed`). A row that does not read is removed when `match.torn`
 * selects its text; a line whose rows cannot be found in its text goes whole when one is selected.
 */
function requestLineFate(text: string, rows: readonly (ServedRow | undefined)[], dir: string, file: string, match: ServedRowMatch, needed: boolean): LineFate & { readonly kept: number } {
  // A request line written before 2026-11-30 (17): its rows are row lines after it.
  if (rows.length === 0) return { keep: needed, removed: 0, kept: 0 };
  const spans = requestRowSpans(text);
  const selections = rows.map((row, i) => (row === undefined ? (match.torn(spans === undefined ? text : text.slice(...spans.rows[i]!), dir, file) ? 'row' : undefined) : rowSelection(match, row, dir)));
  const removes = selections.map((s) => s !== undefined);
  const removed = removes.filter(Boolean).length;
  const byValue = selections.filter((s) => s === 'value').length;
  if (removed === 0) return { keep: true, removed, kept: rows.length };
  if (spans === undefined || spans.rows.length !== rows.length) return { keep: false, removed: rows.length, byValue, kept: 0 };
  const kept = spans.rows.filter((_span, i) => !removes[i]).map((span) => text.slice(...span));
  if (kept.length === 0 && !needed) return { keep: false, removed, byValue, kept: 0 };
  return { keep: true, text: `${text.slice(0, spans.open)}${kept.join(',')}${text.slice(spans.close)}`, removed, byValue, kept: kept.length };
}

/**
 * Removes the served rows `match` selects (by key, or by a value they served: `byValue` counts
 * those) from every serving log file (`<dataDir>/serving-log/
 * <service>/<hour>.jsonl`, lines read as `servedLogLines` reads them, every format alike): each
 * affected file is written again without them, a request line holding rows (since 2026-11-30 (17))
 * written again without the selected ones (its other bytes as they were) and dropped with its
 * last, and without the request and names lines none of whose rows remain, atomically (tmp,
 * fsync, rename), or removed when no line is left; unaffected files are not touched. The
 * temporaries a rewrite killed before its rename left (`abandonedTemporaries`) are deleted (their
 * bytes counted): nothing reads them and they hold what the rewrite was to remove, and the hour
 * file still holds every line. A line appended to the same file by a server
 * while it is rewritten may be lost (the log is a sample; no served answer depends on it).
 * `afterFile` runs after each file it rewrites (or removes), with what is removed so far: the
 * caller's stop check (it throws to end the step there, every file whole, old or new).
 */
export async function purgeServingLog(ctx: SluiceContext, match: ServedRowMatch, dryRun: boolean, afterFile?: (soFar: StorePurge) => Promise<void>): Promise<StorePurge> {
  const root = servingLogDir(ctx.dataDir);
  const report = { store: 'serving-log', rows: 0, bytes: 0, byValue: 0, filesRewritten: [] as string[] };
  const done = (): StorePurge => {
    const { byValue, ...rest } = report;
    return byValue > 0 ? { ...rest, byValue, filesRewritten: [...rest.filesRewritten] } : { ...rest, filesRewritten: [...rest.filesRewritten] };
  };
  if (!existsSync(root)) return done();
  for (const service of await readdir(root, { withFileTypes: true })) {
    if (!service.isDirectory()) continue;
    // A rewrite killed before its rename left its copy of an hour file, which holds every key of it.
    for (const temporary of (await abandonedTemporaries(join(root, service.name), (target) => target.endsWith('.jsonl'))).abandoned) {
      report.bytes += (await stat(temporary)).size;
      if (!dryRun) await rm(temporary, { force: true });
    }
    // In hour order (a stop between files leaves the latest hours), not the directory's.
    for (const name of (await readdir(join(root, service.name))).sort()) {
      if (!name.endsWith('.jsonl')) continue;
      const path = join(root, service.name, name);
      const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '');
      const read = servedLogLines();
      const parsed = lines.map((line) => read(line));
      // A request line stays while one of its rows does (its rows need its parts), a names line while a row
      // refers to it (every copy: each precedes rows of its own append); neither holds an entity key.
      const keptRequests = new Set<string>();
      const keptColumns = new Set<string>();
      const fates: (LineFate | undefined)[] = parsed.map((line, i) => {
        if (line.kind === 'columns' || line.kind === 'request') return undefined;
        const selection = line.kind === 'row' ? rowSelection(match, line.row, service.name) : match.torn(lines[i]!, service.name, name) ? 'row' : undefined;
        if (selection === undefined && line.kind === 'row') {
          keptRequests.add(line.row.requestId);
          if (line.columns !== undefined) keptColumns.add(line.columns);
        }
        return { keep: selection === undefined, removed: selection === undefined ? 0 : 1, byValue: selection === 'value' ? 1 : 0 };
      });
      parsed.forEach((line, i) => {
        if (line.kind !== 'request') return;
        const fate = requestLineFate(lines[i]!, line.rows, service.name, name, match, keptRequests.has(line.requestId));
        if (fate.kept > 0 && line.columns !== undefined) keptColumns.add(line.columns);
        fates[i] = fate;
      });
      const kept: string[] = [];
      let removed = 0;
      let byValue = 0;
      let bytes = 0;
      parsed.forEach((line, i) => {
        const fate: LineFate = line.kind === 'columns' ? { keep: keptColumns.has(line.id), removed: 0 } : fates[i]!;
        removed += fate.removed;
        byValue += fate.byValue ?? 0;
        const text = fate.keep ? (fate.text ?? lines[i]!) : undefined;
        if (text !== undefined) kept.push(text);
        bytes += Buffer.byteLength(lines[i]!) + 1 - (text === undefined ? 0 : Buffer.byteLength(text) + 1);
      });
      if (removed === 0) continue;
      report.rows += removed;
      report.byValue += byValue;
      report.bytes += bytes;
      report.filesRewritten.push(join(service.name, name));
      // An hour file left without a line is removed, not kept at 0 bytes.
      if (!dryRun) await (kept.length === 0 ? rm(path, { force: true }) : writeFileAtomic(path, `${kept.join('\n')}\n`));
      await testPause('purge.serving-log-file');
      await afterFile?.(done());
    }
  }
  return done();
}
