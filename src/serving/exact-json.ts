import { randomBytes } from 'node:crypto';

// A marker no user string can forge: random per process, and quoted strings are escaped anyway.
const MARK = `__sluice_int64_${randomBytes(6).toString('hex')}:`;
const MARKED = new RegExp(`"${MARK}(-?\\d+)"`, 'g');

/**
 * `JSON.stringify` that writes a bigint (an int64 beyond 2^53) as a JSON number with all its
 * digits, exact, where plain `JSON.stringify` throws. Parsers that read numbers as doubles will
 * round it; ones that keep big integers (Python's `json`, Java's Jackson) get it exactly.
 *
 * @example
 * stringifyExact({ id: 9223372036854775807n }); // '{"id":9223372036854775807}'
 */
export function stringifyExact(value: unknown): string {
  // The fast path: without a bigint, the plain serializer (a replacer costs a call per value).
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  let marked = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    marked = true;
    return `${MARK}${v.toString()}`;
  });
  return marked ? text.replace(MARKED, '$1') : text;
}
