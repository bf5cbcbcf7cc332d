import type { PiiLevel } from './compliance-types.js';
import type { FeatureViewSpec, RequestViewSpec } from './types.js';

/**
 * How a masked value is shown (see docs/compliance-masking.md), from the strictest to the least
 * strict: `null` (nothing), `hash` (a keyed hash of the value: equality only), `last4` (`****`
 * and the last four characters of a value of at least 8), `year` (a timestamp cut to 1 January
 * of its year, UTC), `clear` (the value itself: an explicit grant).
 */
export type MaskMethod = 'null' | 'hash' | 'last4' | 'year' | 'clear';

/** Every method, strictest first: when several rules apply to a value, the strictest wins. */
export const MASK_METHODS: readonly MaskMethod[] = ['null', 'hash', 'last4', 'year', 'clear'];

/** What `mask` returns: for principals with `role` (`"*"`: everyone), how the data a rule selects is shown. */
export interface MaskSpec {
  readonly kind: 'mask';
  /** A role, or `"*"` for every principal (a floor no other rule can lift). */
  readonly role: string;
  /** Features and columns classified at these levels. */
  readonly pii?: PiiLevel | readonly PiiLevel[];
  /** Features and columns carrying any of these classification tags. */
  readonly tags?: readonly string[];
  /** These features (`"view:feature"`), or every feature of a view given as an object, classified or not. */
  readonly features?: readonly (string | FeatureViewSpec | RequestViewSpec)[];
  readonly with: MaskMethod;
}

/** A validated masking rule, as the registry stores it; outside every value hash. */
export interface MaskRule {
  readonly role: string;
  readonly pii?: readonly PiiLevel[];
  readonly tags?: readonly string[];
  /** `"view:feature"` names. */
  readonly features?: readonly string[];
  readonly with: MaskMethod;
}
