/**
 * When an erasure request must be answered: one calendar month after it was received (GDPR Art.
 * 12(3)), in UTC; a day the next month lacks falls on its last day (Jan 31 -> Feb 28 or 29).
 *
 * @example
 * erasureDeadline(Date.parse('2026-01-31T10:00:00Z')) === Date.parse('2026-02-28T10:00:00Z');
 */
export function erasureDeadline(receivedAt: number): number {
  const d = new Date(receivedAt);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + 1;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(year, month, Math.min(d.getUTCDate(), lastDay), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}
