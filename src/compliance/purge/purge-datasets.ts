import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { entityKeySql, type Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import { ident, literal } from '../../storage/engine/sql-engine.js';
import { publishFile, writeFileAtomic } from '../../storage/lake/atomic-file.js';
import type { DatasetRecord } from '../../storage/metadata/metadata-store.js';
import type { PurgeMatch, StorePurge } from './purge-types.js';

/** Rows of a dataset file as DuckDB reads them: text formats as text, so a rewrite keeps every other value exactly as written. */
function readerSql(record: DatasetRecord): string {
  const path = literal(record.path);
  if (record.format === 'parquet') return `read_parquet(${path})`;
  if (record.format === 'jsonl') return `read_json(${path}, format = 'newline_delimited')`;
  return `read_csv(${path}, header = true, all_varchar = true)`;
}

function writerOptions(record: DatasetRecord): string {
  return record.format === 'parquet' ? 'FORMAT PARQUET, COMPRESSION ZSTD' : record.format === 'jsonl' ? 'FORMAT JSON' : 'FORMAT CSV, HEADER';
}

/** The dataset rows `match` selects; undefined when the dataset cannot hold such rows (it lacks the entity's key columns). */
function datasetMatchSql(project: Project, record: DatasetRecord, columns: readonly string[], match: PurgeMatch): string | undefined {
  if (match.kind === 'before') return `coalesce(epoch_ms(TRY_CAST(${ident(record.timestampColumn)} AS TIMESTAMP)) < ${Math.trunc(match.before)}, false)`;
  const keys = project.entities.find((e) => e.name === match.entity)?.joinKeys ?? [];
  if (keys.length === 0 || !keys.every((k) => columns.includes(k)) || match.keys.length === 0) return undefined;
  return `coalesce(${entityKeySql(keys.map(ident))} IN (${match.keys.map(literal).join(', ')}), false)`;
}

/**
 * Training datasets Sluice built from the purged tables and still knows of (the dataset
 * registry, files still on disk) that hold matching rows: rows of the entity's keys, or (a
 * cutoff) rows whose spine time is before it. `rewrite`: the file is written again without them
 * (atomically: tmp, fsync, rename), its manifest's and record's row counts lowered; `flag`: left
 * as it is and listed as tainted. Either way the record (and manifest) keeps a `purges` entry.
 * Under a cutoff, a dataset built before a purge that removed lake rows of its sources is flagged
 * even with no row before the cutoff: its later rows' windows may have used the expired events.
 */
export async function purgeDatasets(ctx: SluiceContext, project: Project, tables: ReadonlySet<string>, changed: ReadonlySet<string>, match: PurgeMatch, policy: 'rewrite' | 'flag', reason: string, at: number, dryRun: boolean): Promise<StorePurge[]> {
  const engine = await ctx.engine();
  const reports: StorePurge[] = [];
  for (const record of await ctx.metadata.listDatasets(Number.MAX_SAFE_INTEGER)) {
    if (!Object.keys(record.snapshots).some((s) => tables.has(s)) || !existsSync(record.path)) continue;
    const columns = (await engine.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${readerSql(record)}`)).map((c) => c.column_name);
    const predicate = datasetMatchSql(project, record, columns, match);
    if (predicate === undefined) continue;
    const [hit] = await engine.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${readerSql(record)} WHERE ${predicate}`);
    const rows = Number(hit!.n);
    const stale = match.kind === 'before' && record.createdAt < at && Object.keys(record.snapshots).some((s) => changed.has(s));
    if (rows === 0 && !stale) continue;
    const action = policy === 'rewrite' && rows > 0 ? 'rewritten' : 'flagged';
    const store = `dataset:${record.id}`;
    if (dryRun) {
      reports.push({ store, rows, bytes: 0, filesRewritten: [], ...(action === 'flagged' ? { tainted: true } : {}) });
      continue;
    }
    let bytes = 0;
    if (action === 'rewritten') {
      const before = statSync(record.path).size;
      await publishFile(record.path, async (temporary) => {
        await engine.run(`COPY (SELECT * FROM ${readerSql(record)} WHERE NOT (${predicate})) TO ${literal(temporary)} (${writerOptions(record)})`);
        bytes = before - statSync(temporary).size;
      });
    }
    const purge = { reason, at, rows, action } as const;
    const kept = action === 'rewritten' ? record.rowCount - rows : record.rowCount;
    await ctx.metadata.recordDataset({ ...record, rowCount: kept, purges: [...(record.purges ?? []), purge] });
    const manifestPath = `${record.path}.manifest.json`;
    if (existsSync(manifestPath)) {
      const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { rowCount: number; purges?: unknown[] };
      await writeFileAtomic(manifestPath, `${JSON.stringify({ ...manifest, rowCount: kept, purges: [...(manifest.purges ?? []), purge] }, null, 2)}\n`);
    }
    reports.push({ store, rows, bytes, filesRewritten: action === 'rewritten' ? [record.path] : [], ...(action === 'flagged' ? { tainted: true } : {}) });
  }
  return reports;
}
