import { expect } from 'vitest';

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
    if (!isTextColumn(a) || !isTextColumn(b)) return undefined;
    return this.equals([...a.dict], [...b.dict], customTesters) && this.equals(a.codes, b.codes, customTesters);
  },
]);
