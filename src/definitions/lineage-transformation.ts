/** How input columns reach output columns, in OpenLineage's column-lineage terms (split from types.ts, which re-exports the types). */

/**
 * How an input column reaches an output column, in OpenLineage's column-lineage terms: DIRECT
 * (the value is computed from it: IDENTITY, TRANSFORMATION, AGGREGATION) or INDIRECT (it decides
 * something about the value or the rows: JOIN, GROUP_BY, FILTER, SORT, WINDOW, CONDITIONAL).
 * `unresolved`: a candidate only, where the definitions cannot tell which columns are read (an
 * expression the SQL parse does not follow, a request view's function): DIRECT/TRANSFORMATION
 * from each column that may be read.
 */
export interface LineageTransformation {
  readonly type: 'DIRECT' | 'INDIRECT';
  readonly subtype: LineageSubtype;
  readonly unresolved?: true;
}
export type LineageSubtype = 'IDENTITY' | 'TRANSFORMATION' | 'AGGREGATION' | 'JOIN' | 'GROUP_BY' | 'FILTER' | 'SORT' | 'WINDOW' | 'CONDITIONAL';

/** One input column (`<input>.<column>`) of a transform's output column, and how it is read. */
export interface TransformInput extends LineageTransformation {
  readonly input: string;
}

export type DirectSubtype = 'IDENTITY' | 'TRANSFORMATION' | 'AGGREGATION';
export type IndirectSubtype = Exclude<LineageSubtype, DirectSubtype>;

/** How far a DIRECT value is from its input: IDENTITY < TRANSFORMATION < AGGREGATION. */
const STRENGTH: Record<DirectSubtype, number> = { IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2 };

/**
 * The stronger of two DIRECT subtypes: what a value computed through both is (a sum of a cast is an AGGREGATION).
 *
 * @example
 * strongerSubtype('IDENTITY', 'AGGREGATION'); // 'AGGREGATION'
 */
export const strongerSubtype = (a: DirectSubtype, b: DirectSubtype): DirectSubtype => (STRENGTH[a] >= STRENGTH[b] ? a : b);

/**
 * Whether a subtype is one of DIRECT's (the value is computed from the input) rather than INDIRECT's.
 *
 * @example
 * isDirectSubtype('FILTER'); // false
 */
export const isDirectSubtype = (s: LineageSubtype): s is DirectSubtype => s in STRENGTH;
