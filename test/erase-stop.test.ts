import { afterEach, expect, test } from 'vitest';
import { eraseSubject } from '../src/compliance/erasure/run-erasure.js';
import { InterruptedError } from '../src/errors.js';
import { withLease } from '../src/orchestration/lease.js';
import { runRetention } from '../src/compliance/retention/run-retention.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { admin, purgeFixture, rowsOf } from './support/purge-fixture.js';

// An erasure stopped (Ctrl-C, SIGTERM) where it waits or between its units of work: it stops there, says what it did, and the next run finishes it.
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const sigint = () => new InterruptedError('INTERRUPTED', 'interrupted (SIGINT)', { details: { signal: 'SIGINT' } });

/** A stop (SIGINT) given when the run reaches the test-pause `step`; `off` removes the handler. */
function stopAt(step: string): { stopping: AbortController; off: () => void } {
  const stopping = new AbortController();
  const off = onTestPause(step, () => {
    off();
    stopping.abort(sigint());
  });
  return { stopping, off };
}

test('an erase stopped while it waits for a lease another holder has (a materialize of a view it rebuilds) stops at once: nothing removed, the request still pending, the audit says it did not start', async () => {
  const { platform, project } = await purgeFixture(cleanup);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let taken!: () => void;
  const holding = new Promise<void>((resolve) => (taken = resolve));
  const materializing = withLease(platform.metadata, 'materialize:stats', {}, async () => {
    taken();
    await held;
  });
  await holding;
  const before = await rowsOf(platform, 'txns');
  const stopping = new AbortController();
  const off = onTestPause('lease.wait:materialize:stats', () => {
    stopping.abort(sigint());
    // The holder finishes soon after: a wait that does not notice the stop goes on into the purge instead of hanging the test.
    setTimeout(release, 300);
  });
  const failed = await eraseSubject(platform, project, { entity: 'customer', key: ['c42'], principal: admin }, { signal: stopping.signal }).catch((error: unknown) => error);
  off();
  release();
  await materializing;
  expect(failed).toBeInstanceOf(InterruptedError);
  expect(failed).toMatchObject({ code: 'INTERRUPTED', details: { signal: 'SIGINT', lease: 'materialize:stats' } });
  expect((failed as Error).message).toMatch(/^interrupted \(SIGINT\) while waiting for materialize \(or a purge\) of view "stats" in process \d+/);
  const [request] = await platform.metadata.erasure.list();
  expect(request).toMatchObject({ status: 'pending', completedAt: null });
  expect(await rowsOf(platform, 'txns')).toEqual(before);
  expect(await platform.metadata.purge.unfinishedPurges()).toEqual([]);
  expect(await platform.metadata.health.list({ firing: true, kind: 'purge_unfinished' })).toEqual([]);
  const audit = (await platform.metadata.audit.list()).filter((r) => r.action === 'erase.completed');
  expect(audit).toHaveLength(1);
  expect(audit[0]).toMatchObject({ outcome: 'failed', details: { request: request!.id, error: 'INTERRUPTED', started: false, status: 'pending' } });
  // Run again, it completes the same request.
  const again = await eraseSubject(platform, project, { entity: 'customer', key: ['c42'], principal: admin });
  expect(again.request).toMatchObject({ id: request!.id, status: 'completed' });
  expect([...(await rowsOf(platform, 'txns')).values()].flat().some((r) => r.startsWith('c42'))).toBe(false);
});

test('an erase stopped between the stores its scrub rebuilds: the stores left say so (scrub_pending), its audit record says where it stopped and what it removed, and the next erase of the request clears them and completes', async () => {
  const { platform, project } = await purgeFixture(cleanup);
  const { stopping, off } = stopAt('scrub.online');
  const failed = await eraseSubject(platform, project, { entity: 'customer', key: ['c42'], principal: admin }, { signal: stopping.signal }).catch((error: unknown) => error);
  off();
  expect(failed).toMatchObject({ code: 'INTERRUPTED', details: { signal: 'SIGINT', step: 'scrub', scrubbed: ['online'], left: ['log'] } });
  expect((failed as Error).message).toMatch(/^the scrub of removed bytes stopped before the log store: interrupted \(SIGINT\); .*sluice erase.*sluice retention run/);
  const [request] = await platform.metadata.erasure.list();
  expect(request).toMatchObject({ status: 'failed', error: 'INTERRUPTED' });
  const pending = await platform.metadata.health.list({ firing: true, kind: 'scrub_pending' });
  expect(pending.map((c) => c.subject)).toEqual(['store:log']);
  expect(pending[0]!.message).toMatch(/stopped/);
  const audit = (await platform.metadata.audit.list()).filter((r) => r.action === 'erase.completed');
  expect(audit.map((r) => r.outcome)).toEqual(['failed']);
  const details = audit[0]!.details as { stoppedIn: string; stores: { store: string; rows: number }[] };
  expect(details.stoppedIn).toBe('scrub');
  expect(details.stores).toContainEqual(expect.objectContaining({ store: 'lake:txns', rows: 2 }));
  const again = await eraseSubject(platform, project, { entity: 'customer', key: ['c42'], principal: admin });
  expect(again.request).toMatchObject({ id: request!.id, status: 'completed' });
  expect(again.certificate.scrubPending).toEqual([]);
  // The certificate (and its audit record) says which run it finished, where that one stopped and what it had removed.
  expect(again.certificate.resumed).toEqual([expect.objectContaining({ error: 'INTERRUPTED', stoppedIn: 'scrub', stores: details.stores })]);
  expect(await platform.metadata.health.list({ firing: true, kind: 'scrub_pending' })).toEqual([]);
});

test('a scrub stopped before a store is finished by the next retention run too: its scrub_pending ends', async () => {
  const { platform, project } = await purgeFixture(cleanup);
  const { stopping, off } = stopAt('scrub.online');
  await expect(eraseSubject(platform, project, { entity: 'customer', key: ['c42'], principal: admin }, { signal: stopping.signal })).rejects.toMatchObject({ code: 'INTERRUPTED', details: { step: 'scrub' } });
  off();
  expect((await platform.metadata.health.list({ firing: true, kind: 'scrub_pending' })).map((c) => c.subject)).toEqual(['store:log']);
  const report = await runRetention(platform, project, { principal: admin });
  expect(report.scrubPending).toEqual([]);
  expect(await platform.metadata.health.list({ firing: true, kind: 'scrub_pending' })).toEqual([]);
});
