import { strongerSubtype as strongest, type DirectSubtype, type IndirectSubtype, type TransformInput } from '../../definitions/index.js';

/** An input column, `<input>.<column>`. */
export type InputColumn = string;

/** Stands for every input column of the transform: what an opaque relation (an unknown table function) may read. */
export const ANY_INPUT: InputColumn = '*';

/**
 * What an expression (or a relation's column) reads: the input columns its value is computed
 * from (`direct`, with how), the ones that decide something about it (`indirect`: a CASE
 * condition, a window's partition, a subquery's filter), and the candidates where the walker
 * cannot tell which columns it reads (`unresolved`: the relations in scope).
 */
export interface Reads {
  readonly direct: ReadonlyMap<InputColumn, DirectSubtype>;
  readonly indirect: ReadonlyMap<InputColumn, ReadonlySet<IndirectSubtype>>;
  readonly unresolved: ReadonlySet<InputColumn>;
}

export const NOTHING: Reads = { direct: new Map(), indirect: new Map(), unresolved: new Set() };


/** An input column read as it is. */
export const column = (input: InputColumn): Reads => ({ direct: new Map([[input, 'IDENTITY']]), indirect: new Map(), unresolved: new Set() });

export function union(all: readonly Reads[]): Reads {
  if (all.length === 1) return all[0]!;
  const direct = new Map<InputColumn, DirectSubtype>();
  const indirect = new Map<InputColumn, Set<IndirectSubtype>>();
  const unresolved = new Set<InputColumn>();
  for (const r of all) {
    for (const [c, s] of r.direct) direct.set(c, direct.has(c) ? strongest(direct.get(c)!, s) : s);
    for (const [c, s] of r.indirect) indirect.set(c, new Set([...(indirect.get(c) ?? []), ...s]));
    for (const c of r.unresolved) unresolved.add(c);
  }
  return { direct, indirect, unresolved };
}

/** The value computed from what `r` reads (a function, an operator, a cast; an aggregate): its DIRECT inputs at least that subtype. */
export function computed(r: Reads, subtype: 'TRANSFORMATION' | 'AGGREGATION'): Reads {
  return { ...r, direct: new Map([...r.direct].map(([c, s]) => [c, strongest(s, subtype)])) };
}

/** Everything `r` reads, as deciding (`subtype`): a filter's, a join's, a grouping's, a CASE condition's columns. */
export function deciding(r: Reads, subtype: IndirectSubtype): Reads {
  const columns = new Set([...r.direct.keys(), ...r.unresolved, ...r.indirect.keys()]);
  return { direct: new Map(), unresolved: new Set(), indirect: new Map([...columns].map((c) => [c, new Set([subtype])])) };
}

/** What `r` reads directly, as candidates only: the walker cannot tell which of them the value is computed from. */
export function unresolvedOver(r: Reads): Reads {
  return { direct: new Map(), indirect: r.indirect, unresolved: new Set([...r.direct.keys(), ...r.unresolved]) };
}

/**
 * The reads as edges, in the inputs' column order (`every`, which `ANY_INPUT` stands for): DIRECT
 * ones, then unresolved candidates (DIRECT/TRANSFORMATION, not also DIRECT), then INDIRECT ones.
 */
export function inputEdges(r: Reads, every: readonly InputColumn[]): TransformInput[] {
  const expand = (columns: Iterable<InputColumn>) => {
    const set = new Set(columns);
    return set.has(ANY_INPUT) ? every : every.filter((c) => set.has(c));
  };
  const indirect = (c: InputColumn) => new Set([...(r.indirect.get(c) ?? []), ...(r.indirect.get(ANY_INPUT) ?? [])]);
  return [
    ...every.filter((c) => r.direct.has(c)).map((input): TransformInput => ({ input, type: 'DIRECT', subtype: r.direct.get(input)! })),
    ...expand(r.unresolved).filter((c) => !r.direct.has(c)).map((input): TransformInput => ({ input, type: 'DIRECT', subtype: 'TRANSFORMATION', unresolved: true })),
    ...expand(r.indirect.keys()).flatMap((input) => [...indirect(input)].sort().map((subtype): TransformInput => ({ input, type: 'INDIRECT', subtype }))),
  ];
}

/** DuckDB's aggregate functions (an aggregate in a select list makes its inputs AGGREGATION, and keeps GROUP BY ALL from grouping by it). */
export const AGGREGATES = new Set([
  'sum', 'max', 'min', 'avg', 'mean', 'count', 'count_star', 'first', 'last', 'any_value', 'arbitrary', 'arg_max', 'arg_min', 'argmax', 'argmin', 'max_by', 'min_by',
  'median', 'mode', 'quantile', 'quantile_cont', 'quantile_disc', 'approx_quantile', 'approx_count_distinct', 'stddev', 'stddev_pop', 'stddev_samp', 'variance',
  'var_pop', 'var_samp', 'list', 'array_agg', 'string_agg', 'group_concat', 'listagg', 'bool_and', 'bool_or', 'bit_and', 'bit_or', 'bit_xor', 'bitstring_agg',
  'histogram', 'product', 'entropy', 'kurtosis', 'kurtosis_pop', 'skewness', 'corr', 'covar_pop', 'covar_samp', 'fsum', 'favg', 'sumkahan', 'kahan_sum',
  'geomean', 'geometric_mean', 'mad', 'regr_avgx', 'regr_avgy', 'regr_count', 'regr_intercept', 'regr_r2', 'regr_slope', 'regr_sxx', 'regr_sxy', 'regr_syy',
]);
