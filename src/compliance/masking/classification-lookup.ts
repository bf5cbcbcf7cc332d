/**
 * What masking needs to know of classification: the level and tags of a feature or of a source
 * column, as the classification catalog (`src/compliance/classification/`) records them after
 * propagation through lineage. Undefined: not classified.
 */
export interface Classified {
  readonly pii?: 'direct' | 'quasi' | 'sensitive';
  readonly tags?: readonly string[];
}

export interface ClassificationLookup {
  /** True when nothing at all is classified (masking then needs no key unless a rule names features). */
  readonly empty?: boolean;
  feature(view: string, feature: string): Classified | undefined;
  column(source: string, column: string): Classified | undefined;
  /** A join key column of a view's entity, as datasets carry it. */
  keyColumn?(view: string, column: string): Classified | undefined;
}

/** No classification at all: only rules that name features mask anything. */
export const UNCLASSIFIED: ClassificationLookup = { empty: true, feature: () => undefined, column: () => undefined, keyColumn: () => undefined };
