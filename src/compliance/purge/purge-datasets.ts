import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { entityKeySql, type Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import { ident, literal } from '../../storage/engine/sql-engine.js';
import { publishFile, writeFileAtomic } from '../../storage/lake/atomic-file.js';
import type { DatasetRecord } from '../../storage/metadata/metadata-store.js';
import type { PurgeMatch, StorePurge } from './purge-types.js';

/** The raw text of one JSONL line, beside its values (a reserved name: dataset columns are the spine's and views'). */
const LINE = '_sluice_line';

/** A JSON pointer to the member `name` of a line's object (RFC 6901: `~` as `~0`, `/` as `~1`). */
function memberPointer(name: string): string {
  return `/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/**
 * Rows of a dataset file, their values as the predicates read them: text formats as text (a CSV
 * read all_varchar; a JSONL file line by line, each column's value the text of its member, the
 * line itself kept in {@link LINE}), so a rewrite can keep every other row exactly as written.
 */
function readerSql(record: DatasetRecord, columns: readonly string[]): string {
  const path = literal(record.path);
  if (record.format === 'parquet') return `read_parquet(${path})`;
  if (record.format === 'csv') return `read_csv(${path}, header = true, all_varchar = true)`;
  // A JSON text holds no raw control character (RFC 8259 escapes them): chr(1) never splits a line.
  const lines = `read_csv(${path}, header = false, columns = {${literal(LINE)}: 'VARCHAR'}, delim = chr(1), quote = '', escape = '', auto_detect = false)`;
  const values = columns.map((c) => `json_extract_string(${ident(LINE)}, ${literal(memberPointer(c))}) AS ${ident(c)}`);
  return `(SELECT ${[ident(LINE), ...values].join(', ')} FROM ${lines})`;
}

/** The column names of a dataset file. */
function columnsSql(record: DatasetRecord): string {
  return record.format === 'jsonl' ? `read_json(${literal(record.path)}, format = 'newline_delimited')` : readerSql(record, []);
}

/** `COPY` of the rows of `record` that `predicate` does not select to `temporary`, in the dataset's format: CSV rows as read, JSONL lines as they were. */
function keptRowsCopySql(record: DatasetRecord, columns: readonly string[], predicate: string, temporary: string): string {
  const kept = (select: string) => `SELECT ${select} FROM ${readerSql(record, columns)} WHERE NOT (${predicate})`;
  if (record.format === 'parquet') return `COPY (${kept('*')}) TO ${literal(temporary)} (FORMAT PARQUET, COMPRESSION ZSTD)`;
  if (record.format === 'csv') return `COPY (${kept('*')}) TO ${literal(temporary)} (FORMAT CSV, HEADER)`;
  return `COPY (${kept(ident(LINE))}) TO ${literal(temporary)} (FORMAT CSV, HEADER false, DELIMITER chr(1), QUOTE '', ESCAPE '')`;
}

/** A dataset column as DESCRIBE gives it. */
interface DatasetColumn { readonly name: string; readonly type: string }

/**
 * The dataset rows `match` selects: `key`, rows of the entity's keys (or, a cutoff, rows before
 * it); `value`, rows where a feature whose value may be one of those keys (`match.valueColumns`)
 * holds one, as its value or in its list (a text format's list read back as a list). Undefined when
 * the dataset can hold neither.
 */
function datasetMatchSql(project: Project, record: DatasetRecord, columns: readonly DatasetColumn[], match: PurgeMatch): { key: string; value: string } | undefined {
  if (match.kind === 'before') return { key: `coalesce(epoch_ms(TRY_CAST(${ident(record.timestampColumn)} AS TIMESTAMP)) < ${Math.trunc(match.before)}, false)`, value: 'false' };
  const names = columns.map((c) => c.name);
  const keys = project.entities.find((e) => e.name === match.entity)?.joinKeys ?? [];
  const byKey = keys.length > 0 && keys.every((k) => names.includes(k)) && match.keys.length > 0;
  const carrying = columns.filter((c) => match.valueColumns?.includes(c.name) === true);
  if ((!byKey && carrying.length === 0) || match.keys.length === 0) return undefined;
  const listed = match.keys.map(literal).join(', ');
  const carries = (c: DatasetColumn) => {
    const column = ident(c.name);
    if (record.format === 'parquet') return c.type.endsWith('[]') ? `list_has_any(TRY_CAST(${column} AS VARCHAR[]), [${listed}])` : `CAST(${column} AS VARCHAR) IN (${listed})`;
    // Text formats: a list is written as DuckDB's list text (CSV) or a JSON array (JSONL).
    const list = record.format === 'jsonl' ? `TRY(from_json(${column}, '["VARCHAR"]'))` : `TRY_CAST(${column} AS VARCHAR[])`;
    return `${column} IN (${listed}) OR list_has_any(${list}, [${listed}])`;
  };
  return {
    key: byKey ? `coalesce(${entityKeySql(keys.map(ident))} IN (${listed}), false)` : 'false',
    value: carrying.length === 0 ? 'false' : `coalesce(${carrying.map((c) => `(${carries(c)})`).join(' OR ')}, false)`,
  };
}

/**
 * Training datasets Sluice built from the purged tables and still knows of (the dataset
 * registry, files still on disk) that hold matching rows: rows of the entity's keys, or (a
 * cutoff) rows whose spine time is before it. `rewrite`: the file is written again without them
 * (atomically: tmp, fsync, rename), its manifest's and record's row counts lowered; `flag`: left
 * as it is and listed as tainted. Either way the record (and manifest) keeps a `purges` entry.
 * Under a cutoff, a dataset built before a purge that removed lake rows of its sources is flagged
 * even with no row before the cutoff: its later rows' windows may have used the expired events.
 * A file with fewer rows than its record (a rewrite killed after it published the file, before
 * the record) has its record and manifest completed by the next purge, even with no row to remove.
 */
export async function purgeDatasets(ctx: SluiceContext, project: Project, tables: ReadonlySet<string>, changed: ReadonlySet<string>, match: PurgeMatch, policy: 'rewrite' | 'flag', reason: string, at: number, dryRun: boolean): Promise<StorePurge[]> {
  const engine = await ctx.engine();
  const reports: StorePurge[] = [];
  for (const record of await ctx.metadata.listDatasets(Number.MAX_SAFE_INTEGER)) {
    if (!Object.keys(record.snapshots).some((s) => tables.has(s)) || !existsSync(record.path)) continue;
    // An empty file (a JSONL dataset an erasure emptied) has no rows and no columns to read: nothing to remove, its record perhaps to complete.
    const empty = statSync(record.path).size === 0;
    const described = empty ? [] : (await engine.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${columnsSql(record)}`)).map((c) => ({ name: c.column_name, type: c.column_type }));
    const columns = described.map((c) => c.name);
    const selects = empty ? { key: 'false', value: 'false' } : datasetMatchSql(project, record, described, match);
    if (selects === undefined) continue;
    const predicate = `(${selects.key}) OR (${selects.value})`;
    const [hit] = empty ? [{ n: 0, byValue: 0, total: 0 }] : await engine.all<{ n: number; byValue: number; total: number }>(`SELECT (count(*) FILTER (WHERE ${predicate}))::BIGINT AS n, (count(*) FILTER (WHERE NOT (${selects.key}) AND (${selects.value})))::BIGINT AS "byValue", count(*)::BIGINT AS total FROM ${readerSql(record, columns)}`);
    const rows = Number(hit!.n);
    // Rows selected only because a feature's value carries the key (the certificate says how many).
    const byValue = Number(hit!.byValue) > 0 ? { byValue: Number(hit!.byValue) } : {};
    const total = Number(hit!.total);
    // Rows a rewrite removed from the file whose record it did not lower (killed in between): this purge completes it.
    const behind = Math.max(0, record.rowCount - total);
    const stale = match.kind === 'before' && record.createdAt < at && Object.keys(record.snapshots).some((s) => changed.has(s));
    if (rows === 0 && behind === 0 && !stale) continue;
    const rewrite = policy === 'rewrite' && rows > 0;
    const action = rewrite || (behind > 0 && rows === 0) ? 'rewritten' : 'flagged';
    const store = `dataset:${record.id}`;
    const kept = rewrite ? total - rows : behind > 0 ? total : record.rowCount;
    const removed = record.rowCount - kept;
    if (dryRun) {
      reports.push({ store, rows: rewrite || behind > 0 ? removed : rows, bytes: 0, filesRewritten: [], ...byValue, ...(action === 'flagged' ? { tainted: true } : {}) });
      continue;
    }
    let bytes = 0;
    if (rewrite) {
      const before = statSync(record.path).size;
      await publishFile(record.path, async (temporary) => {
        await engine.run(keptRowsCopySql(record, columns, predicate, temporary));
        bytes = before - statSync(temporary).size;
      });
    }
    const purge = { reason, at, rows: action === 'rewritten' ? removed : rows, action } as const;
    await ctx.metadata.recordDataset({ ...record, rowCount: kept, purges: [...(record.purges ?? []), purge] });
    const manifestPath = `${record.path}.manifest.json`;
    if (existsSync(manifestPath)) {
      const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { rowCount: number; purges?: unknown[] };
      await writeFileAtomic(manifestPath, `${JSON.stringify({ ...manifest, rowCount: kept, purges: [...(manifest.purges ?? []), purge] }, null, 2)}\n`);
    }
    reports.push({ store, rows: purge.rows, bytes, filesRewritten: rewrite ? [record.path] : [], ...byValue, ...(action === 'flagged' ? { tainted: true } : {}) });
  }
  return reports;
}
