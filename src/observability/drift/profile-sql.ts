import { ident, type SqlEngine } from '../../storage/engine/sql-engine.js';
import { boundCategories, RELATIVE_ACCURACY, SKETCH_MIN_MAGNITUDE, sketchKeySql, TOP_K, type ColumnProfile, type Profile, type SketchBins } from './column-profile.js';

/** A column to profile and how: numbers into a sketch, strings and booleans as categories. */
export interface ProfiledColumn {
  readonly name: string;
  readonly kind: ColumnProfile['kind'];
  /** A classified column: its categories are kept as tokens (`ProfileOptions.token`), never as values. */
  readonly classified?: boolean;
}

export interface ProfileOptions {
  /** The token a classified category is kept as (the masking hash, so both sides of a comparison agree); required when a column is classified. */
  readonly token?: (value: string) => string;
  /**
   * Categorical columns whose top values the caller will not use when the column has more than
   * `TOP_K` distinct values (a batch compared with a previous one where the column had that
   * many too: an identifier, skipped either way). Such a column, found to have that many by a
   * cheap exact test (more than `TOP_K` distinct hash residues), is kept without its top values
   * (`top: {}`, every value in `other`) instead of being grouped by value; counts and nulls stay exact.
   */
  readonly uncountedWhenWide?: ReadonlySet<string>;
}

/** Hash residues counted to show a column has more than `TOP_K` distinct values: distinct residues are at most distinct values. */
const RESIDUES = 1024;

/** DuckDB types profiled as numbers; VARCHAR and BOOLEAN are categories; anything else (lists, timestamps, structs) is not profiled. */
const NUMERIC_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL.*)$/;

/** How a column of a DuckDB type is profiled; undefined when it is not. */
export function profileKindOf(sqlType: string): ColumnProfile['kind'] | undefined {
  if (NUMERIC_TYPES.test(sqlType)) return 'numeric';
  if (sqlType === 'VARCHAR' || sqlType === 'BOOLEAN') return 'categorical';
  return undefined;
}

/** The profilable columns of a relation, by their DuckDB types (`DESCRIBE`). */
export async function profiledColumns(engine: SqlEngine, relation: string, names?: readonly string[]): Promise<ProfiledColumn[]> {
  const described = await engine.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${relation}`);
  return described.flatMap((c) => {
    const kind = profileKindOf(c.column_type);
    return kind !== undefined && (names === undefined || names.includes(c.column_name)) ? [{ name: c.column_name, kind }] : [];
  });
}

/**
 * The profile of columns of a relation (a table, `read_parquet(...)`), computed set-based in
 * DuckDB: one aggregate scan for row, null and non-finite counts, min, max and sum of every
 * column; then per numeric column a histogram grouped by sketch key (see `sketchKeySql`), whose
 * buckets are the sketch, and per categorical column its top values by count (unless
 * `uncountedWhenWide` spares it). DuckDB returns at
 * most a few thousand buckets or `TOP_K` categories per column, whatever the number of rows, so
 * no row of the relation goes through JavaScript.
 *
 * @example
 * await profileRelation(engine, "read_parquet('datasets/train.parquet')", [{ name: 'stats__total', kind: 'numeric' }]);
 */
export async function profileRelation(engine: SqlEngine, relation: string, columns: readonly ProfiledColumn[], options: ProfileOptions = {}): Promise<Profile> {
  const numeric = (c: ProfiledColumn) => `CAST(${ident(c.name)} AS DOUBLE)`;
  const totals = columns.flatMap((c, i) => {
    const x = c.kind === 'numeric' ? numeric(c) : ident(c.name);
    const base = [`count(*) - count(${x}) AS n${i}`];
    if (c.kind === 'categorical') return options.uncountedWhenWide?.has(c.name) ? [...base, `count(DISTINCT hash(${x}) % ${RESIDUES}) FILTER (WHERE ${x} IS NOT NULL) AS d${i}`] : base;
    const finite = `FILTER (WHERE isfinite(${x}))`;
    return [...base, `count(${x}) FILTER (WHERE NOT isfinite(${x})) AS nf${i}`, `min(${x}) ${finite} AS lo${i}`, `max(${x}) ${finite} AS hi${i}`, `coalesce(sum(${x}) ${finite}, 0) AS s${i}`];
  });
  const [total] = await engine.all<Record<string, number | null>>(`SELECT count(*) AS _rows${totals.length ? ', ' : ''}${totals.join(', ')} FROM ${relation}`);
  const rows = Number(total!._rows);
  const profiles: Record<string, ColumnProfile> = {};
  for (const [i, c] of columns.entries()) {
    const nulls = Number(total![`n${i}`]);
    if (c.kind === 'categorical' && Number(total![`d${i}`] ?? 0) > TOP_K) {
      profiles[c.name] = { kind: 'categorical', count: rows - nulls, nulls, top: {}, other: rows - nulls };
      continue;
    }
    if (c.kind === 'categorical') {
      const top = await engine.all<{ v: string; n: number }>(
        `SELECT CAST(${ident(c.name)} AS VARCHAR) AS v, count(*) AS n FROM ${relation} WHERE ${ident(c.name)} IS NOT NULL GROUP BY 1 ORDER BY n DESC, v LIMIT ${TOP_K}`,
      );
      const counted = top.reduce((s, r) => s + Number(r.n), 0);
      if (c.classified && !options.token) throw new Error(`profile of "${c.name}": a classified column needs a token function`);
      const label = c.classified ? options.token! : (v: string) => v;
      profiles[c.name] = boundCategories(new Map(top.map((r) => [label(r.v), Number(r.n)])), rows - nulls - counted, nulls);
      continue;
    }
    const x = numeric(c);
    const buckets = await engine.all<{ side: number; key: number | null; n: number }>(
      `SELECT side, key, count(*) AS n FROM (SELECT CASE WHEN abs(${x}) <= ${SKETCH_MIN_MAGNITUDE} THEN 0 WHEN ${x} > 0 THEN 1 ELSE -1 END AS side, ` +
        `CASE WHEN abs(${x}) > ${SKETCH_MIN_MAGNITUDE} THEN ${sketchKeySql(x)} END AS key FROM ${relation} WHERE isfinite(${x})) GROUP BY ALL ORDER BY side, key`,
    );
    const bins = (side: number): SketchBins => buckets.filter((b) => Number(b.side) === side).map((b) => [Number(b.key), Number(b.n)] as const);
    const positive = bins(1);
    const negative = bins(-1);
    const zero = buckets.filter((b) => Number(b.side) === 0).reduce((s, b) => s + Number(b.n), 0);
    const count = zero + [...positive, ...negative].reduce((s, [, n]) => s + n, 0);
    profiles[c.name] = {
      kind: 'numeric', relativeAccuracy: RELATIVE_ACCURACY, count, nulls, nonFinite: Number(total![`nf${i}`]),
      min: zeroed(total![`lo${i}`]), max: zeroed(total![`hi${i}`]), sum: Number(total![`s${i}`]), zero, positive, negative,
    };
  }
  return { rows, columns: profiles };
}

/** DuckDB keeps a negative zero's sign in min/max; a profile has one zero (`-0 + 0 === 0`). */
const zeroed = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : v + 0);
