import { describe, expect, test } from 'vitest';
import { backoffDelay } from './run-attempts.js';
import { firingKey, latestFiring } from './scheduler.js';
import { errorWithCause, jobSubjectName } from './job-health.js';

const at = (iso: string) => Date.parse(iso);

describe('cron firing times', () => {
  test('are read in the schedule\'s time zone, across daylight saving time', () => {
    const nine = { cron: '0 9 * * *', timezone: 'Europe/Paris' };
    // 09:00 in Paris is 08:00Z in winter (CET) and 07:00Z in summer (CEST).
    expect(latestFiring(nine, at('2026-01-15T00:00:00Z'), at('2026-01-15T12:00:00Z'))).toBe(at('2026-01-15T08:00:00Z'));
    expect(latestFiring(nine, at('2026-07-15T00:00:00Z'), at('2026-07-15T12:00:00Z'))).toBe(at('2026-07-15T07:00:00Z'));
    expect(latestFiring({ cron: '0 9 * * *', timezone: 'America/New_York' }, at('2026-01-15T00:00:00Z'), at('2026-01-15T23:00:00Z'))).toBe(at('2026-01-15T14:00:00Z'));
    expect(latestFiring({ cron: '0 9 * * *', timezone: 'UTC' }, at('2026-01-15T00:00:00Z'), at('2026-01-15T12:00:00Z'))).toBe(at('2026-01-15T09:00:00Z'));
  });

  test('the latest firing in (after, upTo]: only the latest of several, the upper bound included, the lower one not', () => {
    const every5 = { cron: '*/5 * * * *', timezone: 'UTC' };
    expect(latestFiring(every5, at('2026-01-01T10:00:00Z'), at('2026-01-01T10:17:00Z'))).toBe(at('2026-01-01T10:15:00Z'));
    expect(latestFiring(every5, at('2026-01-01T10:00:00Z'), at('2026-01-01T10:05:00Z'))).toBe(at('2026-01-01T10:05:00Z'));
    expect(latestFiring(every5, at('2026-01-01T10:05:00Z'), at('2026-01-01T10:09:59.999Z'))).toBeUndefined();
    expect(latestFiring(every5, at('2025-01-01T10:00:00Z'), at('2026-01-01T10:07:00Z'))).toBe(at('2026-01-01T10:05:00Z'));
    expect(firingKey('materialize:v', at('2026-01-01T10:05:00Z'))).toBe('materialize:v@2026-01-01T10:05:00.000Z');
  });
});

describe('retry backoff', () => {
  test('is exponential, capped, and fully jittered over [0, ceiling)', () => {
    const policy = { backoffBaseMs: 1_000, backoffMaxMs: 10_000 };
    expect([1, 2, 3, 4, 5, 60].map((n) => backoffDelay(n, policy, () => 0.999_999))).toEqual([999, 1_999, 3_999, 7_999, 9_999, 9_999]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(2_000);
  });
});

describe('job health', () => {
  test('CLI runs and catalogue jobs share one subject name', () => {
    expect(jobSubjectName('ingest', { source: 'payments' })).toBe('ingest:payments');
    expect(jobSubjectName('transform', { source: 'gold', transform: 'gold' })).toBe('transform:gold');
    expect(jobSubjectName('materialize', { views: ['v'] })).toBe('materialize:v');
    expect(jobSubjectName('materialize', { views: ['v', 'w'] })).toBe('materialize');
    expect(jobSubjectName('materialize:v', { views: ['v'] })).toBe('materialize:v');
    expect(jobSubjectName('dataset_build', {})).toBe('dataset_build');
  });

  test('a recorded error keeps its cause', () => {
    expect(errorWithCause(new Error('commit failed', { cause: new Error('disk full') }))).toEqual({ message: 'commit failed', cause: 'disk full' });
    expect(errorWithCause(new Error('commit failed: disk full', { cause: new Error('disk full') }))).toEqual({ message: 'commit failed: disk full' });
  });
});
