import { entityKeySql, type Project, type Source } from '../../definitions/index.js';
import { parsedValueSql } from '../../ingest/validate-sql.js';
import type { SqlEngine } from '../../storage/engine/sql-engine.js';
import { ident } from '../../storage/engine/sql-engine.js';
import type { ErasureStore } from '../../storage/metadata/erasure-store.js';
import { projectSecret } from '../project-secret.js';
import { ERASURE_KEY_TABLE, erasedEventHashSql, erasureHashSql, erasureHmacPads } from './erasure-hash.js';

/** The reason a row of an erased subject is refused on every way in. */
export const ERASED_REASON = 'erased';

/** What the block-list check reads: the erasure store and the data directory (for the project secret). */
export interface ErasureCheck {
  readonly erasure: ErasureStore;
  readonly dataDir: string;
}

/** The subjects a source's rows identify: every entity whose join key columns are all in its schema. */
export function subjectKeys(project: Project, source: Source): { readonly entity: string; readonly columns: readonly string[] }[] {
  return project.entities.filter((e) => e.joinKeys.every((c) => c in source.schema)).map((e) => ({ entity: e.name, columns: e.joinKeys }));
}

/** The DuckDB table of blocked subjects' hashes (`subject`), kept in step with the store per engine. */
const BLOCKED_TABLE = '_sluice_erased';
const ERASED_KEYS = '_sluice_erased_keys';
const loaded = new WeakMap<SqlEngine, number>();

/** Loads the block list into `engine` when it changed since the last load; false when nothing is blocked. */
export async function syncBlockList(engine: SqlEngine, check: ErasureCheck): Promise<boolean> {
  const version = await check.erasure.blockListVersion();
  if (version === 0) return false;
  if (loaded.get(engine) === version) return true;
  const { version: current, hashes } = await check.erasure.blockList();
  const pads = erasureHmacPads(projectSecret(check.dataDir));
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${ERASURE_KEY_TABLE} (ipad VARCHAR, opad VARCHAR); CREATE OR REPLACE TEMP TABLE ${BLOCKED_TABLE} (subject VARCHAR)`);
  await engine.appendColumns(ERASURE_KEY_TABLE, [{ type: 'text', values: [pads.inner] }, { type: 'text', values: [pads.outer] }]);
  await engine.appendColumns(BLOCKED_TABLE, [{ type: 'text', values: hashes }]);
  loaded.set(engine, current);
  return true;
}

/**
 * The entity key of a row as text, from its columns: `text` columns as a file or an event gives
 * them (an int64 part in canonical decimal, as the lake will hold it), or `typed` (lake) columns.
 */
function keySql(source: Source, columns: readonly string[], values: 'text' | 'typed'): string {
  const parts = columns.map((c) => (values === 'typed' || source.schema[c] === 'string' ? ident(c) : `CAST(${parsedValueSql(c, source.schema[c]!)} AS VARCHAR)`));
  return entityKeySql(parts);
}

/** A subject a table's rows identify: its entity, and the SQL of its entity key (text, as `entityKeySql` gives it) over the table's columns. */
export interface SubjectKeySql {
  readonly entity: string;
  readonly key: string;
}

/** The subjects of a source's rows (see {@link subjectKeys}), their keys read from `text` or `typed` columns. */
const sourceSubjects = (project: Project, source: Source, values: 'text' | 'typed'): SubjectKeySql[] =>
  subjectKeys(project, source).map(({ entity, columns }) => ({ entity, key: keySql(source, columns, values) }));

/**
 * Runs `act` for each subject's key SQL that has an erased subject among the rows of `table`,
 * with the erased keys loaded in `_sluice_erased_keys` (`_sluice_k`, `_sluice_h`: the key and its
 * hash). Each distinct key of the table is hashed once (HMAC in SQL, `erasureHashSql`); nothing
 * runs when nothing is erased.
 */
async function withErasedKeys(engine: SqlEngine, table: string, subjects: readonly SubjectKeySql[], check: ErasureCheck, act: (key: string) => Promise<number>): Promise<number> {
  if (subjects.length === 0 || !(await syncBlockList(engine, check))) return 0;
  let rows = 0;
  for (const { entity, key } of subjects) {
    await engine.run(`CREATE OR REPLACE TEMP TABLE ${ERASED_KEYS} AS SELECT _sluice_k, _sluice_h FROM (SELECT _sluice_k, ${erasureHashSql(entity, '_sluice_k')} AS _sluice_h FROM (SELECT DISTINCT ${key} AS _sluice_k FROM ${table}) WHERE _sluice_k IS NOT NULL) WHERE _sluice_h IN (SELECT subject FROM ${BLOCKED_TABLE})`);
    const [{ n }] = (await engine.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM ${ERASED_KEYS}`)) as [{ n: number }];
    if (n > 0) rows += await act(key);
  }
  await engine.run(`DROP TABLE IF EXISTS ${ERASED_KEYS}`);
  return rows;
}

const countOf = async (engine: SqlEngine, table: string, key: string): Promise<number> =>
  ((await engine.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM ${table} JOIN ${ERASED_KEYS} ON ${key} = _sluice_k`)) as [{ n: number }])[0].n;

/**
 * The block-list check of every way in: marks the rows of `table` (text columns, `_reason`,
 * `_raw`) whose subject is erased with `_reason = 'erased'` and replaces their `_raw` by
 * `{"erased": "<keyed hash>", "event": "<keyed hash of its text>"}`, so a dead letter keeps no raw
 * payload and each event stays its own (`erasedEventHashSql`). Set-based; free when
 * nothing is erased. Returns the rows marked.
 *
 * @example
 * await markErasedRows(engine, 'ingest_checked', project, source, { erasure: ctx.metadata.erasure, dataDir: ctx.dataDir });
 */
export async function markErasedRows(engine: SqlEngine, table: string, project: Project, source: Source, check: ErasureCheck): Promise<number> {
  return withErasedKeys(engine, table, sourceSubjects(project, source, 'text'), check, async (key) => {
    const n = await countOf(engine, table, key);
    if (n > 0) await engine.run(`UPDATE ${table} SET _reason = '${ERASED_REASON}', _raw = '{"erased": "' || _sluice_h || '", "event": "' || ${erasedEventHashSql('_raw')} || '"}' FROM ${ERASED_KEYS} WHERE ${key} = _sluice_k`);
    return n;
  });
}

/**
 * Deletes the rows of erased subjects from `table` (typed, lake columns): the last guard of writes
 * into the lake from inside Sluice (streamed events committed from the log, transform outputs),
 * for rows accepted before their subject was erased. Returns the rows deleted.
 */
export async function dropErasedRows(engine: SqlEngine, table: string, project: Project, source: Source, check: ErasureCheck): Promise<number> {
  return dropErasedSubjects(engine, table, sourceSubjects(project, source, 'typed'), check);
}

/**
 * The keys (text form, per entity) of erased subjects among the rows of `table` (typed, lake
 * columns): what a caller that drops them (`dropErasedRows`) may also have to remove elsewhere by
 * key text (check samples), since the block list holds only hashes. Empty when none.
 *
 * @example
 * await erasedKeysIn(engine, 'held', project, source, check); // [{ entity: 'customer', key: 'c42' }]
 */
export async function erasedKeysIn(engine: SqlEngine, table: string, project: Project, source: Source, check: ErasureCheck): Promise<{ entity: string; key: string }[]> {
  const found: { entity: string; key: string }[] = [];
  for (const subject of sourceSubjects(project, source, 'typed')) {
    await withErasedKeys(engine, table, [subject], check, async () => {
      const keys = await engine.all<{ k: string }>(`SELECT _sluice_k AS k FROM ${ERASED_KEYS} ORDER BY 1`);
      found.push(...keys.map((k) => ({ entity: subject.entity, key: k.k })));
      return keys.length;
    });
  }
  return found;
}

/**
 * Deletes the rows of `table` whose subject (one of `subjects`: an entity and its key's SQL over
 * the table's columns) is erased; returns how many. What {@link dropErasedRows} does for a
 * source's rows, for any table that names subjects (a dataset's spine).
 *
 * @example
 * await dropErasedSubjects(engine, 'spine', [{ entity: 'customer', key: '_sluice_key' }], check);
 */
export async function dropErasedSubjects(engine: SqlEngine, table: string, subjects: readonly SubjectKeySql[], check: ErasureCheck): Promise<number> {
  return withErasedKeys(engine, table, subjects, check, async (key) => {
    const n = await countOf(engine, table, key);
    if (n > 0) await engine.run(`DELETE FROM ${table} WHERE ${key} IN (SELECT _sluice_k FROM ${ERASED_KEYS})`);
    return n;
  });
}
