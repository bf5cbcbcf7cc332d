/** Sampling resolution: a rate is applied in steps of 1/10,000. */
export const SAMPLE_BUCKETS = 10_000;

/**
 * The 32-bit FNV-1a hash of a string's UTF-16 code units: the `hash` of the serving log's
 * sampling rule (see `served-row.ts`). Written out here, not taken from a library, so that the
 * decision is the same in every process and every version.
 *
 * @example
 * keyHash('c1') % 10_000;
 */
export function keyHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The bucket threshold of a rate in [0, 1]: a key is sampled when `keyHash(key) % 10_000 < threshold`. */
export function sampleThreshold(rate: number): number {
  if (!(rate > 0)) return 0;
  return Math.min(SAMPLE_BUCKETS, Math.round(rate * SAMPLE_BUCKETS));
}

/**
 * Whether requests for this entity key are logged at a rate of `threshold / 10,000`: every
 * request for a sampled key, none for an unsampled one, the same in every process.
 *
 * @example
 * isSampledKey('c1', sampleThreshold(0.1));
 */
export function isSampledKey(entityKey: string, threshold: number): boolean {
  return threshold > 0 && (threshold >= SAMPLE_BUCKETS || keyHash(entityKey) % SAMPLE_BUCKETS < threshold);
}
