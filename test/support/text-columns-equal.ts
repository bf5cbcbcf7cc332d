import { expect } from 'vitest';
import { StoredTextColumn } from '../../src/storage/online/lmdb/stored-text-column.js';

/**
 * Every test's `toEqual` compares text columns by content: a column read from storage decodes its
 * dictionary on first use (`StoredTextColumn`: `dict` is a getter, not an own property), and
 * equals a plain `{ dict, codes }` with the same strings and codes. Registered for all tests
 * (vitest `setupFiles`), so no suite needs to know which kind of column it got.
 */
function isTextColumn(value: unknown): value is { readonly dict: readonly string[]; readonly codes: Int32Array } {
  return typeof value === 'object' && value !== null && (value as { codes?: unknown }).codes instanceof Int32Array && 'dict' in value;
}

expect.addEqualityTesters([
  function textColumnsEqual(a: unknown, b: unknown, customTesters) {
    // Only where a stored column is compared: any other pair keeps vitest's own equality (every field).
    if (!(a instanceof StoredTextColumn || b instanceof StoredTextColumn) || !isTextColumn(a) || !isTextColumn(b)) return undefined;
    return this.equals([...a.dict], [...b.dict], customTesters) && this.equals(a.codes, b.codes, customTesters);
  },
]);
