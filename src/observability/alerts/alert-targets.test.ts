import { expect, test } from 'vitest';
import { compileProject, defineProject, entity, env, batchSource, webhook } from '../../definitions/index.js';
import { alertTargets, targetTakes } from './alert-targets.js';

const project = (alerts: ReturnType<typeof webhook>[]) => compileProject(defineProject({
  name: 'p', entities: [entity({ name: 'c', joinKey: 'c_id' })], sources: [batchSource({ name: 's', schema: { c_id: 'string', ts: 'timestamp' }, timestamp: 'ts' })], featureViews: [], alerts,
}));

test('channels are described without their secrets; an unset env() variable is a problem named, not a crash', () => {
  const targets = alertTargets(project([
    webhook({ url: 'https://user@hooks.example.com/services/T0KEN?channel=ops', headers: { authorization: env('TOKEN') } }),
    webhook({ name: 'pager', url: env('PAGER_URL'), kinds: ['job_failed'], minSeverity: 'error' }),
  ]), { TOKEN: 'Bearer abc', SLUICE_ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/x' });
  expect(targets.map((t) => t.where)).toEqual(['webhook "webhook" (https://hooks.example.com/...)', 'webhook "pager" (env(PAGER_URL))', 'webhook "env" (env(SLUICE_ALERT_WEBHOOK_URL))']);
  expect(targets[0]!.resolved).toEqual({ url: 'https://user@hooks.example.com/services/T0KEN?channel=ops', headers: { authorization: 'Bearer abc' } });
  expect(targets[1]!.resolved).toEqual({ problem: expect.stringMatching(/alert channel "pager": url reads environment variable PAGER_URL, which is not set/) });
  expect(targets[2]!.resolved).toEqual({ url: 'http://127.0.0.1:9/x', headers: {} });
  expect(alertTargets(undefined, {})).toEqual([]);
});

test('a channel takes the kinds it lists, at or above its minimum severity', () => {
  const [all, pager] = alertTargets(project([webhook({ url: env('A') }), webhook({ url: env('B'), kinds: ['job_failed'], minSeverity: 'error' })]), {});
  expect(targetTakes(all!, { kind: 'drift', severity: 'warn' })).toBe(true);
  expect(targetTakes(pager!, { kind: 'job_failed', severity: 'error' })).toBe(true);
  expect(targetTakes(pager!, { kind: 'job_failed', severity: 'warn' })).toBe(false);
  expect(targetTakes(pager!, { kind: 'stale', severity: 'error' })).toBe(false);
});
