import { afterEach, expect, test } from 'vitest';
import { defineProject, entity, streamSource } from '../src/definitions/index.js';
import { eraseSubject } from '../src/compliance/erasure/run-erasure.js';
import { InterruptedError } from '../src/errors.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import type { SluiceContext } from '../src/context.js';
import { admin, NOW } from './support/purge-fixture.js';
import { tempPlatform } from './support/temp-platform.js';

// An erasure stopped in its removal from the durable event log (`eraseFromLog`): it stops at the next
// source's rewrite (each source's is one transaction), says so, and the next run of the request finishes it.
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const clicks = streamSource({ name: 'clicks', schema: { customer_id: 'string', page: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const pages = streamSource({ name: 'pages', schema: { customer_id: 'string', page: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const spec = defineProject({ name: 'logs', entities: [customer], sources: [clicks, pages], featureViews: [] });

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const sigint = () => new InterruptedError('INTERRUPTED', 'interrupted (SIGINT)', { details: { signal: 'SIGINT' } });

/** One event of c42 and one of c1 appended to each source's log (as a connector appends them). */
async function appendEvents(ctx: SluiceContext): Promise<void> {
  const log = await ctx.log();
  for (const source of ['clicks', 'pages']) {
    await log.append(source, { ackTime: NOW, origin: 'nats', events: ['{"customer_id":"c42","page":"/a","ts":"2024-02-01T00:00:00Z"}', '{"customer_id":"c1","page":"/b","ts":"2024-02-01T00:00:00Z"}'], rejected: [] });
  }
}

/** The customers of a source's events in its log, in order. */
async function logged(ctx: SluiceContext, source: string): Promise<string[]> {
  return (await ctx.log()).read(source, 0, 1_000).flatMap((e) => e.events.map((text) => (JSON.parse(text) as { customer_id: string }).customer_id));
}

async function setup() {
  const t = await tempPlatform(spec, NOW);
  cleanup.push(t.dispose);
  return t;
}

test("an erase stopped before its removal from the durable log stops there: the log is not rewritten, the audit says it stopped in the log step, and the next run removes the subject's events and completes", async () => {
  const { platform, project } = await setup();
  const stopping = new AbortController();
  let purged = 0;
  // After both purges (which remove what the log held then), events of the subject reach the log; then the stop.
  cleanup.push(onTestPause('erase.purged', async () => {
    if (++purged !== 2) return;
    await appendEvents(platform);
    stopping.abort(sigint());
  }));
  const failed = await eraseSubject(platform, project, { entity: 'customer', key: ['c42'], principal: admin }, { signal: stopping.signal }).catch((error: unknown) => error);
  expect(failed).toMatchObject({ code: 'INTERRUPTED', details: { signal: 'SIGINT', step: 'log', source: 'clicks', left: ['clicks', 'pages'] } });
  expect((failed as Error).message).toMatch(/^the removal of the erased subject from the durable event log stopped before source "clicks": interrupted \(SIGINT\); .*sluice erase/);
  expect(await logged(platform, 'clicks')).toEqual(['c42', 'c1']);
  expect(await logged(platform, 'pages')).toEqual(['c42', 'c1']);
  const [request] = await platform.metadata.erasure.list();
  expect(request).toMatchObject({ status: 'failed', error: 'INTERRUPTED' });
  const audit = (await platform.metadata.audit.list()).filter((r) => r.action === 'erase.completed');
  expect(audit.map((r) => [r.outcome, r.details?.stoppedIn])).toEqual([['failed', 'log']]);

  const again = await eraseSubject(platform, project, { entity: 'customer', key: ['c42'], principal: admin });
  expect(again.request).toMatchObject({ id: request!.id, status: 'completed' });
  expect(await logged(platform, 'clicks')).toEqual(['c1']);
  expect(await logged(platform, 'pages')).toEqual(['c1']);
  expect(again.certificate.resumed).toEqual([expect.objectContaining({ error: 'INTERRUPTED', stoppedIn: 'log' })]);
});

test("an erase stopped between two sources' log rewrites keeps the first (on its audit record) and leaves the second to the next run", async () => {
  const { platform, project } = await setup();
  const stopping = new AbortController();
  let purged = 0;
  cleanup.push(onTestPause('erase.purged', async () => {
    if (++purged === 2) await appendEvents(platform);
  }));
  cleanup.push(onTestPause('erase.log:clicks', () => stopping.abort(sigint())));
  const failed = await eraseSubject(platform, project, { entity: 'customer', key: ['c42'], principal: admin }, { signal: stopping.signal }).catch((error: unknown) => error);
  expect(failed).toMatchObject({ code: 'INTERRUPTED', details: { step: 'log', source: 'pages', left: ['pages'] } });
  expect(await logged(platform, 'clicks')).toEqual(['c1']);
  expect(await logged(platform, 'pages')).toEqual(['c42', 'c1']);
  const audit = (await platform.metadata.audit.list()).filter((r) => r.action === 'erase.completed');
  expect(audit[0]!.details).toMatchObject({ stoppedIn: 'log' });
  expect((audit[0]!.details as { stores: { store: string; rows: number }[] }).stores.filter((s) => s.store.startsWith('log:') && s.rows > 0)).toEqual([{ store: 'log:clicks', rows: 1, bytes: expect.any(Number) as number }]);

  const again = await eraseSubject(platform, project, { entity: 'customer', key: ['c42'], principal: admin });
  expect(again.request.status).toBe('completed');
  expect(await logged(platform, 'pages')).toEqual(['c1']);
  expect(again.certificate.stores.filter((s) => s.store.startsWith('log:') && s.rows > 0).map((s) => [s.store, s.rows])).toEqual([['log:pages', 1]]);
});
