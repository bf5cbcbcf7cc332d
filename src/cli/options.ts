import { InvalidArgumentError } from 'commander';
import { parseDuration, parseTimestampText } from '../time/index.js';

/**
 * A commander parser for an integer option in `[min, max]`: a bad value is a usage error (exit 2)
 * naming the option's range, never a NaN passed on.
 *
 * @example
 * .option('--limit <n>', 'at most this many rows', integerIn(1, 1_000_000), 100)
 */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    return n;
  };
}

/** A commander parser that accepts one of `choices`. */
export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}.`);
    return value as T;
  };
}

/** A commander parser for a duration option (`90s`, `30m`, `2h`), in milliseconds. */
export function durationMs(value: string): number {
  const ms = parseDuration(value);
  if (ms !== undefined) return ms;
  // parseDuration takes no zero: every duration option is a length or a limit (--timeout, --partition), none meaning anything at 0.
  const zero = /^\s*0+(?=\D)/.test(value) && parseDuration(value.replace(/^\s*0+/, '1')) !== undefined;
  throw new InvalidArgumentError(zero ? `must be positive, such as 90s, 30m or 2h (got ${value}).` : 'expected a duration such as 90s, 30m or 2h.');
}

/** The `--port` parser: 0 (any free port) to 65535. */
export const port = integerIn(0, 65_535);

/** A comma-separated list option (`a,b`); an empty list is a usage error. */
export function commaList(value: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list, e.g. a,b.');
  return items;
}

/** `key=value`, split at the first "=" only (values such as base64 may contain "="). */
export function keyValue(text: string): [key: string, value: string] | undefined {
  const at = text.indexOf('=');
  if (at <= 0) return undefined;
  return [text.slice(0, at), text.slice(at + 1)];
}

/** A commander parser for a rate from 0 to 1 (`0.1`). */
export function rate(value: string): number {
  const n = /^\s*(0|1|0?\.\d+|1\.0*)\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a number from 0 to 1, e.g. 0.1.');
  return n;
}

/** A point in time for `--since`/`--until`: an ISO-8601 instant (UTC when it has no offset), or a duration ago (`24h`). */
export type TimeOption = { readonly at: number } | { readonly ago: number };

/** A commander parser for {@link TimeOption}; resolve it against the command's clock with {@link resolveTime}. */
export function timeOrAgo(value: string): TimeOption {
  const ago = parseDuration(value);
  if (ago !== undefined) return { ago };
  const at = parseTimestampText(value);
  if (at === undefined) throw new InvalidArgumentError('expected an ISO-8601 time (2026-03-01T12:00:00Z; without an offset, UTC) or a duration ago (24h).');
  return { at };
}

/**
 * A commander parser for an instant (`backfill --from/--to`): the grammar of {@link timeOrAgo}
 * without durations, `parseTimestampText` (a date alone is its UTC midnight; without an offset, UTC).
 * An impossible date (2026-02-29) is refused, never rolled over into the next month.
 */
export function isoInstant(value: string): number {
  const at = parseTimestampText(value);
  if (at === undefined) throw new InvalidArgumentError('expected a date (2026-01-31: its midnight, UTC) or an ISO-8601 time (2026-01-31T06:00:00Z; without an offset, UTC).');
  return at;
}

/** The epoch ms a {@link TimeOption} names, at `now`. */
export function resolveTime(option: TimeOption, now: number): number {
  return 'at' in option ? option.at : now - option.ago;
}
