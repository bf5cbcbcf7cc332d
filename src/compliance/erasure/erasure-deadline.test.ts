import { expect, test } from 'vitest';
import { erasureDeadline } from './erasure-deadline.js';

test('the deadline is one calendar month after receipt, in UTC, clamped to the end of a shorter month', () => {
  const at = (iso: string) => Date.parse(iso);
  expect(erasureDeadline(at('2026-03-15T08:30:00.250Z'))).toBe(at('2026-04-15T08:30:00.250Z'));
  expect(erasureDeadline(at('2026-01-31T10:00:00Z'))).toBe(at('2026-02-28T10:00:00Z'));
  expect(erasureDeadline(at('2028-01-31T10:00:00Z'))).toBe(at('2028-02-29T10:00:00Z'));
  expect(erasureDeadline(at('2026-12-31T23:59:59Z'))).toBe(at('2027-01-31T23:59:59Z'));
});
