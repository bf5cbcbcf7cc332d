import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, entity, featureView, planChanges, projectJobs, schedule, sqlTransform, streamSource, type ProjectSpec, type ScheduleSpec } from './index.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = batchSource({ name: 'payments', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', path: 'data/payments/*.csv' });
const crm = batchSource({ name: 'crm', schema: { account_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const clicks = streamSource({ name: 'clicks', schema: { account_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const joined = sqlTransform({ name: 'joined', inputs: [payments, crm], sql: 'SELECT p.account_id, p.ts FROM payments p JOIN crm USING (account_id)', timestamp: 'ts', schema: { account_id: 'string', ts: 'timestamp' } });
const gold = sqlTransform({ name: 'gold', inputs: [joined], sql: 'SELECT * FROM joined', timestamp: 'ts', schema: { account_id: 'string', ts: 'timestamp' } });
const spend = featureView({ name: 'spend', entity: account, source: payments, features: { n: count() } });
const goldView = featureView({ name: 'gold_view', entity: account, source: gold, features: { n: count() } });
const clickView = featureView({ name: 'click_view', entity: account, source: clicks, features: { n: count() } });
const spec = (schedules: readonly ScheduleSpec[] = []): ProjectSpec => ({
  kind: 'project', name: 'p', entities: [account], sources: [payments, crm, clicks], featureViews: [spend, goldView, clickView], transforms: [gold, joined], schedules,
});

describe('the job catalogue from the definitions graph', () => {
  test('ingest jobs for batch sources with a path, transforms after their inputs, views after their source; upstream first', () => {
    const jobs = projectJobs(compileProject(spec()));
    expect(jobs.map((j) => [j.name, j.upstream])).toEqual([
      ['ingest:payments', []],
      ['transform:joined', ['ingest:payments']],
      ['transform:gold', ['transform:joined']],
      ['materialize:spend', ['ingest:payments']],
      ['materialize:gold_view', ['transform:gold']],
      ['materialize:click_view', []],
    ]);
  });

  test('a path changes no hash; it is for batch sources only', () => {
    const without = compileProject({ ...spec(), sources: [{ ...payments, path: undefined } as never, crm, clicks] });
    expect(compileProject(spec()).sources[0]!.hash).toBe(without.sources[0]!.hash);
    expect(compileProject(spec()).sources[0]!.path).toBe('data/payments/*.csv');
    expect(() => compileProject({ ...spec(), sources: [payments, crm, { ...clicks, path: 'x/*.csv' } as never] })).toThrow('source "clicks": path is for batch sources (files)');
  });
});

describe('schedules and triggers', () => {
  test('compile with defaults; a job may be given by its view, transform or source; the project hash does not change', () => {
    const p = compileProject(spec([
      schedule({ job: 'materialize:spend', cron: '*/5 * * * *', timezone: 'Europe/Paris', retries: 3, timeout: '10m' }),
      schedule({ job: goldView, onNewSnapshot: gold }),
      schedule({ job: joined, cron: '0 2 * * *', backoff: { base: '1s', max: '1m' } }),
    ]));
    expect(p.schedules).toEqual([
      { name: 'materialize:spend */5 * * * * Europe/Paris', job: 'materialize:spend', cron: '*/5 * * * *', timezone: 'Europe/Paris', retries: 3, timeoutMs: 600_000, backoffBaseMs: 10_000, backoffMaxMs: 600_000 },
      { name: 'materialize:gold_view on new snapshot of gold', job: 'materialize:gold_view', timezone: 'UTC', onNewSnapshot: 'gold', retries: 0, timeoutMs: 3_600_000, backoffBaseMs: 10_000, backoffMaxMs: 600_000 },
      { name: 'transform:joined 0 2 * * *', job: 'transform:joined', cron: '0 2 * * *', timezone: 'UTC', retries: 0, timeoutMs: 3_600_000, backoffBaseMs: 1_000, backoffMaxMs: 60_000 },
    ]);
    expect(p.hash).toBe(compileProject(spec()).hash);
    expect(compileProject(spec())).not.toHaveProperty('schedules');
    expect(planChanges(compileProject(spec()), p).map((c) => [c.action, c.kind])).toEqual([['add', 'schedule'], ['add', 'schedule'], ['add', 'schedule']]);
  });

  test.each([
    [schedule({ job: 'materialize:spnd', cron: '* * * * *' }), 'schedule of job "materialize:spnd": there is no job "materialize:spnd" in the project (did you mean "materialize:spend"?)'],
    [schedule({ job: 'ingest:crm', cron: '* * * * *' }), 'an ingest job needs a batch source with a path'],
    [schedule({ job: 'materialize:spend', cron: '61 * * * *' }), 'schedule of job "materialize:spend": cron "61 * * * *" is not valid'],
    // A valid pattern no date matches: said once, without the hint about 5 fields (it has them).
    [schedule({ job: 'materialize:spend', cron: '0 0 30 2 *' }), /^schedule of job "materialize:spend": cron "0 0 30 2 \*" never fires: no date matches it \(a day that no month in it has\?\)$/],
    [schedule({ job: 'materialize:spend', cron: '* * * * *', timezone: 'Mars/Olympus' }), 'timezone "Mars/Olympus" is not an IANA time zone'],
    [schedule({ job: 'materialize:spend' }), 'give exactly one of cron: "*/5 * * * *" or onNewSnapshot: source'],
    [schedule({ job: 'materialize:spend', onNewSnapshot: 'nope' }), 'onNewSnapshot names "nope", which is not a source or transform of the project'],
    [schedule({ job: 'materialize:spend', cron: '* * * * *', retries: -1 }), 'retries must be a whole number from 0 to 100'],
    [schedule({ job: 'materialize:spend', cron: '* * * * *', timeout: '10 minutes' }), 'timeout "10 minutes" is not a duration'],
    [schedule({ job: 'materialize:spend', cron: '* * * * *', backoff: { base: '1m', max: '1s' } }), 'backoff.max (1s) is shorter than backoff.base (1m)'],
  ])('a bad schedule is refused at load, naming the fix (%#)', (bad, message: string | RegExp) => {
    expect(() => compileProject(spec([bad]))).toThrow(message);
  });

  test('two schedules with one name are refused', () => {
    const s = schedule({ job: 'materialize:spend', cron: '* * * * *' });
    expect(() => compileProject(spec([s, s]))).toThrow('two schedules are named "materialize:spend * * * * *"');
  });
});
