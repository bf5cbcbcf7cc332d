import { expect, test } from 'vitest';
import { freshnessVerdict } from './freshness-verdict.js';
import { rejectReasonClass } from './metrics.js';

test('fresh up to the SLA inclusive, stale a millisecond past it or with no data, with a reason naming the SLA and the age', () => {
  const now = Date.parse('2024-01-01T01:00:00Z');
  expect(freshnessVerdict(300_000, now - 300_000, now)).toEqual({ stale: false, lagMs: 300_000 });
  expect(freshnessVerdict(300_000, now + 5_000, now)).toEqual({ stale: false, lagMs: 0 });
  expect(freshnessVerdict(300_000, now - 300_001, now)).toMatchObject({ stale: true, lagMs: 300_001, reason: 'past its freshness SLA of 5m: its newest data is 5m old (from 2024-01-01T00:54:59.999Z)' });
  expect(freshnessVerdict(3_600_000, now - 7_530_000, now).reason).toMatch(/newest data is 2h 5m old/);
  expect(freshnessVerdict(60_000, null, now)).toEqual({ stale: true, lagMs: null, reason: 'past its freshness SLA of 1m: no data has been committed yet' });
});

test('reject reasons fall into a closed set of classes', () => {
  expect(rejectReasonClass('late: event time 2024-01-01T00:00:00.000Z is more than the allowed lateness (1h) before its acknowledgement at ...')).toBe('late');
  expect(rejectReasonClass('future: event time ...')).toBe('future');
  expect(rejectReasonClass('column "payment_id": the event id is missing')).toBe('missing');
  expect(rejectReasonClass('column "amount": "x" is not a float64')).toBe('invalid');
});
