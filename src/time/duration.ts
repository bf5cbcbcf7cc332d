const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+)(ms|s|m|h|d)$/;

/**
 * Parses a duration such as `"90m"` or `"7d"` into milliseconds. Units: `ms s m h d`.
 * Returns `undefined` for anything else (callers turn that into an error naming the definition).
 *
 * @example
 * parseDuration('24h'); // 86_400_000
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/** Formats milliseconds with the largest unit that divides them exactly: `formatDuration(5_400_000)` is `"90m"`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
