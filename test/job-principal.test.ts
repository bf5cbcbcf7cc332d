import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { allow, batchSource, compileProject, count, dataset, defineProject, deny, entity, featureView, field, mask, pii, schedule, type ProjectSpec } from '../src/definitions/index.js';
import { planChanges } from '../src/definitions/plan-changes.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { runJob, type JobContext } from '../src/orchestration/run-job.js';
import { createScheduler } from '../src/orchestration/scheduler.js';
import { listRuns } from '../src/orchestration/track-run.js';
import { fakeClock } from './support/fake-clock.js';
import { tempPlatform } from './support/temp-platform.js';

// A scheduled job runs as a declared identity: authorized like any caller, masked for its roles, recorded.
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const customers = batchSource({ name: 'customers', schema: { customer_id: 'string', email: 'string', ts: 'timestamp' }, timestamp: 'ts', classify: { email: pii('direct') } });
const profile = featureView({ name: 'profile', entity: customer, source: customers, features: { email: field('email'), n: count() } });
const train = dataset({ name: 'train', features: ['profile:email', 'profile:n'], spine: 'data/spine.csv', out: 'datasets/train.csv' });
const peek = dataset({ name: 'peek', features: ['profile:email'], spine: 'data/spine.csv', out: 'datasets/peek.csv' });
const every5 = '*/5 * * * *';
const base = { name: 'jobs', entities: [customer], sources: [customers], featureViews: [profile], datasets: [train, peek] };
const access = [
  allow({ role: 'trainer', run: [train], datasets: true, read: [profile] }),
  allow({ role: 'peeker', run: ['dataset:peek'], datasets: true, read: [profile] }), deny({ role: 'peeker', read: ['profile:email'] }),
];
const spec = defineProject({
  ...base, access,
  masking: [mask({ role: 'trainer', pii: 'direct', with: 'clear' })],
  schedules: [
    schedule({ job: train, cron: every5, as: { name: 'training-pipeline', roles: ['trainer'] } }),
    schedule({ job: peek, cron: every5, as: { name: 'peeker', roles: ['peeker'] } }),
    schedule({ job: 'materialize:profile', cron: every5, retries: 2, as: { name: 'intruder', roles: ['nobody'] } }),
  ],
});

let env: Awaited<ReturnType<typeof tempPlatform>>;
let jc: JobContext;
beforeAll(async () => {
  env = await tempPlatform(spec, T0);
  jc = { ...env.platform, projectDir: env.dir };
  mkdirSync(join(env.dir, 'data'));
  writeFileSync(join(env.dir, 'data', 'customers.csv'), 'customer_id,email,ts\nc1,ann@example.com,2026-11-01T00:00:00Z\n');
  await ingestFile(env.platform, env.project, 'customers', join(env.dir, 'data', 'customers.csv'));
  writeFileSync(join(env.dir, 'data', 'spine.csv'), 'customer_id,ts\nc1,2026-11-20T00:00:00Z\n');
});
afterAll(async () => env?.dispose());

/** Ticks a scheduler once to set its cursors, moves past the next firing and ticks again; the outcomes of the runs started. */
async function fireOnce(project: () => Promise<ReturnType<typeof compileProject>>) {
  const clock = fakeClock(env.clock.now);
  const scheduler = createScheduler(jc, { project, clock, random: () => 0 });
  await scheduler.tick();
  clock.time += 5 * 60_000;
  env.clock.now = clock.time;
  const started = await scheduler.tick();
  const outcomes = await scheduler.idle();
  return { started, outcomes };
}

describe('scheduled jobs run as a declared principal', () => {
  test('each run is authorized, masked for its identity, and records the principal; a refusal is a failed POLICY_DENIED run, never retried', async () => {
    const { started, outcomes } = await fireOnce(async () => env.project);
    expect(started).toHaveLength(3);
    const byJob = new Map(started.map((key, i) => [key.split('@')[0], outcomes[i]!]));

    // Allowed, and masked for the trainer role: its rule shows the direct identifier in clear (the default would hash it).
    expect(byJob.get('dataset:train')!.status).toBe('succeeded');
    expect(readFileSync(join(env.dir, 'datasets', 'train.csv'), 'utf8')).toContain('ann@example.com');

    // No rule lets role "nobody" run the job: one failed attempt (retries: 2 are not spent on a refusal).
    const intruder = byJob.get('materialize:profile')!;
    expect(intruder).toMatchObject({ status: 'failed', attempts: 1 });
    expect(intruder.status === 'failed' && intruder.error.message).toContain('job "materialize:profile": job:intruder may not run job "materialize:profile": no access rule allows it to role "nobody"; to grant it, add allow({ role: "nobody", run: ["materialize:profile"] })');

    // The identity may run the job but not read a feature the dataset holds: the build refuses it, naming the feature.
    const peeker = byJob.get('dataset:peek')!;
    expect(peeker.status).toBe('failed');
    expect(peeker.status === 'failed' && peeker.error.message).toContain('job:peeker may not read feature "profile:email": access[2] denies it');

    // Run history: the principal in the params, and the refusals as failed runs with their code (what `sluice runs --failed` shows).
    const runs = await listRuns(env.platform, 100);
    expect(runs.find((r) => r.job === 'dataset:train')!.params).toMatchObject({ trigger: 'schedule', principal: 'job:training-pipeline' });
    const failed = await listRuns(env.platform, 100, { status: 'failed' });
    expect(failed.map((r) => [r.job, r.params.principal, r.stats?.errorCode]).sort()).toEqual([
      ['dataset:peek', 'job:peeker', 'POLICY_DENIED'], ['materialize:profile', 'job:intruder', 'POLICY_DENIED'],
    ]);

    // The audit trail: each decision under the identity's name, and the masked read of the dataset.
    const audit = await env.platform.metadata.audit.list();
    const decisions = audit.filter((r) => r.action === 'job.authorize').map((r) => [r.actor, r.target, r.outcome]);
    expect(decisions).toEqual(expect.arrayContaining([
      ['job:training-pipeline', 'job:dataset:train', 'allowed'], ['job:peeker', 'job:dataset:peek', 'allowed'], ['job:intruder', 'job:materialize:profile', 'denied'],
    ]));
    expect(audit.filter((r) => r.action === 'dataset.build' && r.outcome === 'denied').map((r) => r.actor)).toEqual(['job:peeker']);
    expect(audit.some((r) => r.actor === 'job:training-pipeline' && r.target.startsWith('dataset:'))).toBe(true);
    expect(JSON.stringify(audit)).not.toContain('ann@example.com');
  });

  test('a schedule without "as" in a project applied before the rule (no identity) runs as "scheduler", with no role: refused, failed', async () => {
    const open = compileProject(defineProject({ ...base, schedules: [schedule({ job: 'materialize:profile', cron: every5 })] }));
    const stored = { ...open, access: env.project.access! };
    const { outcomes } = await fireOnce(async () => stored);
    expect(outcomes[0]).toMatchObject({ status: 'failed', attempts: 1 });
    const message = outcomes[0]!.status === 'failed' ? outcomes[0]!.error.message : '';
    expect(message).toContain('scheduler may not run job "materialize:profile": it has no role');
    // The fix is an identity on the schedule, then apply: a rule for a role it does not have would change nothing.
    expect(message).toContain('its schedule declares no "as"');
    expect(message).toContain('sluice apply');
    expect(message).not.toContain('role: "ROLE"');
  });

  test('without access rules a schedule needs no identity and its run is not refused; its identity still picks the masking', async () => {
    const { outcomes } = await fireOnce(async () => compileProject(defineProject({ ...base, schedules: [schedule({ job: 'materialize:profile', cron: every5 })] })));
    expect(outcomes[0]!.status).toBe('succeeded');
  });

  test('sluice run acts as the CLI principal: the local operator may run any job, a key without the right may not', async () => {
    await expect(runJob(jc, env.project, 'materialize:profile', { trigger: 'manual', principal: { name: 'cli:ops', roles: ['local-operator'], origin: 'local' } })).resolves.toMatchObject({ rowsOut: 1 });
    await expect(runJob(jc, env.project, 'materialize:profile', { trigger: 'manual', principal: { name: 'key:ci', roles: ['trainer'], origin: 'local' } }))
      .rejects.toMatchObject({ code: 'POLICY_DENIED', message: expect.stringContaining('add allow({ role: "trainer", run: ["materialize:profile"] })') });
  });
});

describe('definitions', () => {
  const withSchedule = (extra: Partial<ProjectSpec>) => () => compileProject(defineProject({ ...base, access, ...extra } as Omit<ProjectSpec, 'kind'>));
  test('once the project has access rules, a schedule without "as" is refused at plan/apply, naming it and the fix', () => {
    expect(withSchedule({ schedules: [schedule({ job: train, cron: every5 })] })).toThrow('schedule "dataset:train */5 * * * *": the project has access rules, so a scheduled job runs as a declared identity; add as: { name: "pipeline", roles: ["pipeline"] } to the schedule, and allow({ role: "pipeline", run: ["dataset:train"] })');
  });
  test('a bad identity, the reserved role, and an unknown job in "run" are refused with the fix', () => {
    expect(withSchedule({ schedules: [schedule({ job: train, cron: every5, as: { name: 'p', roles: [] } })] })).toThrow('as.roles must list at least one role');
    expect(withSchedule({ schedules: [schedule({ job: train, cron: every5, as: { name: 'p', roles: ['local-operator'] } })] })).toThrow('"local-operator" is reserved');
    expect(withSchedule({ schedules: [schedule({ job: train, cron: every5, as: { name: 'bad name', roles: ['trainer'] } })] })).toThrow('as.name: principal "bad name" is not valid');
    expect(() => compileProject(defineProject({ ...base, access: [allow({ role: 'x', run: ['dataset:trian'] })] }))).toThrow('run names job "dataset:trian", which is not in the project (did you mean "dataset:train"?)');
  });
  test('plan names a change of who a job runs as', () => {
    const as = (roles: string[]) => compileProject(defineProject({ ...base, access, schedules: [schedule({ job: train, cron: every5, as: { name: 'p', roles } })] }));
    expect(planChanges(as(['trainer']), as(['trainer', 'peeker'])).filter((c) => c.kind === 'schedule')).toEqual([
      expect.objectContaining({ action: 'change', name: 'dataset:train */5 * * * *', details: ['runs as job:p (roles trainer) -> job:p (roles trainer, peeker)'] }),
    ]);
  });
  test('identities and run rights stay outside the value hash', () => {
    expect(compileProject(defineProject({ ...base, access, schedules: [schedule({ job: train, cron: every5, as: { name: 'p', roles: ['trainer'] } })] })).hash).toBe(compileProject(defineProject(base)).hash);
  });
});
