import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { entityKeySql, type Project, type Source } from '../../definitions/index.js';
import { ident } from '../engine/sql-engine.js';

/**
 * The lake's layout by entity-key hash (issue 9 §5, erasure speed). A large ingest batch is
 * written as several files, one per bucket `md5_number(entity key) % n`, so one subject's rows
 * sit in one file of the batch and a purge by key rewrites only that file. The rule lives here
 * and nowhere else: ingest splits with {@link bucketSql}, names files with {@link bucketTag};
 * purge reads the tag back ({@link filesForKeys}) to skip files that cannot hold the keys.
 *
 * - The key hashed is the text form of the first entity (definitions order) whose join keys
 *   the source carries (`entityKeySql`, so a composite key is hashed as its encoded text); a
 *   source carrying no entity's keys is not split.
 * - md5 (not DuckDB's `hash`, whose values may change between versions) keeps a file's bucket
 *   valid for as long as the file exists. The bucket is the first 32 bits of the md5 (hex) modulo
 *   n, which JavaScript computes alike ({@link keyBucket}); `md5_number(...) % n` in UHUGEINT
 *   arithmetic was 25 times slower (9.7 s for 1M keys).
 * - The tag names the key columns (`k` + 8 hex of their hash): a purge by another entity, or a
 *   project whose first entity changed since, reads every file, as for an untagged file of an
 *   older lake (one file per batch). Pruning is an optimization, never a condition of correctness
 *   beyond the tag's own statement.
 */

/** Rows per bucket file when a batch is split, and the most files one batch is split into. */
export const ROWS_PER_BUCKET = 262_144;
export const MAX_BUCKETS = 16;

/** The column a split batch carries while it is divided (reserved prefix: no source column can take it). */
export const BUCKET_COLUMN = '_sluice_bucket';

/** The entity key columns `source`'s files are bucketed by, or undefined when it carries no entity's keys. */
export function bucketColumns(project: Project, source: Source): readonly string[] | undefined {
  return project.entities.find((e) => e.joinKeys.length > 0 && e.joinKeys.every((c) => c in source.schema))?.joinKeys;
}

/** How many files a batch of `rows` rows is split into (1: not split). */
export function bucketCount(rows: number): number {
  return Math.min(MAX_BUCKETS, Math.max(1, Math.ceil(rows / ROWS_PER_BUCKET)));
}

/** A row's bucket among `n`, from its entity key columns; a row with a null key goes to bucket 0. */
export function bucketSql(columns: readonly string[], n: number): string {
  return `coalesce(('0x' || left(md5(${entityKeySql(columns.map(ident))}), 8))::BIGINT % ${n}, 0)::INTEGER`;
}

/** The bucket among `n` of an entity key in its text form: the same number {@link bucketSql} computes in the engine. */
export function keyBucket(key: string, n: number): number {
  return Number.parseInt(createHash('md5').update(key, 'utf8').digest('hex').slice(0, 8), 16) % n;
}

const keyTag = (columns: readonly string[]): string => createHash('sha256').update(columns.join('\u0000')).digest('hex').slice(0, 8);

/** The file name suffix of bucket `bucket` of `n`, bucketed by `columns`: `b3of8-k1a2b3c4d`. */
export function bucketTag(columns: readonly string[], bucket: number, n: number): string {
  return `b${bucket}of${n}-k${keyTag(columns)}`;
}

/** The bucket a lake file holds, read from its name (a rewrite's `-r…` suffix kept); undefined for an unsplit file. */
export function parseBucketTag(file: string): { bucket: number; of: number; key: string } | undefined {
  const found = /-b(\d+)of(\d+)-k([0-9a-f]{8})(?:-r[0-9a-f]{8})?$/.exec(basename(file, '.parquet'));
  return found ? { bucket: Number(found[1]), of: Number(found[2]), key: found[3]! } : undefined;
}

/**
 * The files among `files` that can hold a row whose entity key (`columns`, text form) is one of
 * `keys`: untagged files, files bucketed by other columns, and files of the keys' buckets.
 *
 * @example
 * filesForKeys(files, ['customer_id'], ['c42']); // one file per split batch, every unsplit file
 */
export function filesForKeys(files: readonly string[], columns: readonly string[], keys: readonly string[]): string[] {
  const tag = keyTag(columns);
  return files.filter((f) => {
    const t = parseBucketTag(f);
    return t === undefined || t.key !== tag || keys.some((k) => keyBucket(k, t.of) === t.bucket);
  });
}
