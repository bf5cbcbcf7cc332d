const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses an ISO-8601 timestamp into UTC epoch milliseconds. A timestamp without an offset
 * ("naive") is UTC. Fractions below a millisecond are truncated. Numbers are taken as epoch
 * milliseconds. Returns `undefined` when the value is not a timestamp.
 *
 * @example
 * parseTimestamp('2024-03-01T12:00:00'); // 1709294400000
 * parseTimestamp('2024-03-01T13:00:00+01:00'); // 1709294400000
 */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value !== 'string') return undefined;
  const m = ISO_DATE.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const ms = Number((frac + '000').slice(0, 3));
  const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(base);
  if (check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  if (!zone || zone.toUpperCase() === 'Z') return base;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return base - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
}

/** Formats epoch milliseconds as ISO-8601 UTC with milliseconds: `2024-03-01T12:00:00.000Z`. */
export function toIso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
