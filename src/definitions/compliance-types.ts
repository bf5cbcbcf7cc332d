/*
 * Compliance in the definitions: what a column holds (classification) and where data may live
 * (residency). Neither changes a value, so neither is part of any value hash: a project gains
 * them after its hashes are computed (see `compileCompliance`).
 */

/**
 * How directly a value identifies a person: `direct` (an email, a name, a national id),
 * `quasi` (identifying in combination: a zip code, a birth date) or `sensitive` (a special
 * category of GDPR Art. 9: health, religion, biometrics).
 */
export type PiiLevel = 'direct' | 'quasi' | 'sensitive';
export const PII_LEVELS: readonly PiiLevel[] = ['direct', 'quasi', 'sensitive'];

/** What `pii(...)`, `tags(...)` and `declassify(...)` return. */
export interface ClassificationSpec {
  readonly kind: 'classification';
  readonly level?: PiiLevel;
  readonly tags?: readonly string[];
  /** Why an override lowers what the definition inherits; mandatory then. */
  readonly reason?: string;
  /** The definition holds no personal data, whatever it is computed from. */
  readonly declassify?: true;
}

/** A validated classification: a level and/or tags, or a recorded declassification. */
export interface Classification {
  readonly level?: PiiLevel;
  /** Free tags (`contact`, `free-text`), sorted; absent when none. */
  readonly tags?: readonly string[];
  readonly reason?: string;
  readonly declassified?: true;
}

/** What `allowTransfer` returns: data of `sources` may move from region `from` to region `to` for `purpose`. */
export interface TransferSpec {
  readonly kind: 'transfer';
  /** A region (`eu-west-1`) or a region prefix (`eu` matches `eu-west-1`, `eu-central-1`). */
  readonly from: string;
  readonly to: string;
  /** Why the data moves (recorded in the audit trail each time apply uses the transfer). */
  readonly purpose: string;
  /** The sources (objects or names) whose data, and data computed from it, may move. */
  readonly sources: readonly (string | { readonly name: string })[];
  /** The legal basis or safeguard (e.g. "SCC 2021/914"), recorded with the transfer. */
  readonly safeguard?: string;
}

/** A validated transfer policy; `name` is `<from>-><to>:<purpose>`. */
export interface Transfer {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly purpose: string;
  readonly sources: readonly string[];
  readonly safeguard?: string;
}

/** Where the online store lives. */
export interface OnlineStoreSpec {
  readonly region?: string;
}
