import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openPlatform } from '../src/platform.js';
import { sluice } from './support/cli.js';
import { scan } from './support/byte-scan.js';
import { auditedLakeRows, sluiceKilledAt, snapshotRows } from './support/killed-cli.js';
import { startSluice } from './support/sluice-process.js';
import { freePort } from './support/server-suites.js';
import { addMerchantView } from './support/merchant-view.js';

// `sluice erase` killed (SIGKILL) at each named step of its run, then run again: a hostile SRE's
// day. The process stops at the step (SLUICE_TEST_PAUSE_AT) and says so on stderr; the test kills
// it there, so where it dies never depends on timing.
const KEY = 'kill-ZQX-7331';
const OTHERS = ['c1', 'c2', 'c3'];
let root: string;
let template: string;
let servedBefore: string;

let erasedReference: string;

async function onlineStates(dir: string): Promise<string> {
  const platform = openPlatform({ projectDir: dir });
  try {
    const online = await platform.online();
    return JSON.stringify(await Promise.all(['txn_stats', 'small_txns', 'profile'].map(async (v) => (await online.read(v, OTHERS)).states)));
  } finally {
    await platform.close();
  }
}
/** The event times the view of another entity (merchant) holds per merchant: it counted the subject's events. */
async function merchantStates(dir: string): Promise<string> {
  const platform = openPlatform({ projectDir: dir });
  try {
    return JSON.stringify((await (await platform.online()).read('merchant_stats', ['m1', 'm2', 'm3'])).states.map((s) => s?.ts));
  } finally {
    await platform.close();
  }
}

/** The lake files swapped out of every snapshot and not deleted yet. */
async function pendingDeletions(dir: string): Promise<string[]> {
  const platform = openPlatform({ projectDir: dir });
  try {
    return (await platform.metadata.purge.pendingDeletions()).map((p) => p.file);
  } finally {
    await platform.close();
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-erase-killed-'));
  template = join(root, 'template');
  expect(sluice(root, 'init', 'template').code).toBe(0);
  addMerchantView(join(template, 'sluice.config.ts'));
  expect(sluice(template, 'apply', '--json').code).toBe(0);
  writeFileSync(join(root, 't1.csv'), `txn_id,customer_id,amount,merchant,ts\nx1,${KEY},5,m1,2024-03-01T10:00:00Z\nx2,c1,6,m1,2024-03-01T11:00:00Z\nx3,${KEY},7,m2,2024-03-01T12:00:00Z\nx4,c2,8,m2,2024-03-01T12:30:00Z\n`);
  writeFileSync(join(root, 't2.csv'), `txn_id,customer_id,amount,merchant,ts\nx5,${KEY},9,m1,2024-03-02T10:00:00Z\nx6,c1,10,m1,2024-03-02T11:00:00Z\nx7,c3,11,m3,2024-03-02T12:00:00Z\n`);
  writeFileSync(join(root, 'c.csv'), `customer_id,segment,updated_at\n${KEY},vip,2024-03-01T00:00:00Z\nc1,std,2024-03-01T00:00:00Z\nc2,std,2024-03-01T00:00:00Z\nc3,new,2024-03-01T00:00:00Z\n`);
  for (const [source, file] of [['transactions', 't1.csv'], ['transactions', 't2.csv'], ['customers', 'c.csv']] as const) {
    expect(sluice(template, 'ingest', source, '--file', join(root, file), '--json').code).toBe(0);
  }
  expect(sluice(template, 'materialize', '--json').code).toBe(0);
  servedBefore = await onlineStates(template);
  // What the merchant view holds after an erasure nothing interrupted: the killed runs' re-runs must end there too.
  const reference = join(root, 'reference');
  cpSync(template, reference, { recursive: true });
  expect(sluice(reference, 'erase', '--entity', 'customer', '--key', KEY, '--json').code).toBe(0);
  erasedReference = await merchantStates(reference);
  expect(erasedReference).not.toEqual(await merchantStates(template));
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

test.each(['purge.lake-published', 'purge.lake-swapped', 'purge.online', 'erase.purged', 'erase.scrubbed'])('erase killed at %s, then run again without gc: the subject is gone from every file (files left by a crash between swap and delete too, counted in the certificate), the lake consistent, others served unchanged, one certificate, the audit chain whole', async (step) => {
  const dir = join(root, step);
  cpSync(template, dir, { recursive: true });
  await sluiceKilledAt(dir, step, 'erase', '--entity', 'customer', '--key', KEY, '--json');
  expect(sluice(dir, 'erase', '--status', '--json').json()).toMatchObject({ pending: 1, completed: 0 });

  // Killed between the swap and the deletion: the swapped-out files still hold the subject, no snapshot lists them.
  const leftovers = await pendingDeletions(dir);
  if (step === 'purge.lake-swapped') {
    expect(leftovers.length).toBeGreaterThan(0);
    const holding = await scan(join(dir, '.sluice'), KEY);
    for (const file of leftovers) expect(holding.some((f) => f.includes(file))).toBe(true);
  } else {
    expect(leftovers).toEqual([]);
  }

  // Run again WITHOUT `sluice gc`: the re-run finishes the deletions and says so in the certificate.
  const again = sluice(dir, 'erase', '--entity', 'customer', '--key', KEY, '--json');
  expect(again.code, again.stderr).toBe(0);
  expect(again.json()).toMatchObject({ request: 'erase-1', scrubPending: [], leftoverFiles: leftovers.length });
  expect(await pendingDeletions(dir)).toEqual([]);

  expect(await scan(join(dir, '.sluice'), KEY)).toEqual([]);
  expect(await snapshotRows(dir, 'transactions', 'customer_id')).toEqual([['c1', 'c2'], ['c1', 'c1', 'c2', 'c3']]);
  expect(await snapshotRows(dir, 'customers', 'customer_id')).toEqual([['c1', 'c2', 'c3']]);
  expect(await onlineStates(dir)).toEqual(servedBefore);
  expect(await merchantStates(dir)).toEqual(erasedReference);
  expect(sluice(dir, 'erase', '--status', '--json').json()).toMatchObject({ pending: 0, completed: 1 });
  const platform = openPlatform({ projectDir: dir });
  try {
    const completed = (await platform.metadata.audit.list()).filter((r) => r.action === 'erase.completed' && r.outcome === 'succeeded');
    expect(completed.map((r) => r.details?.request)).toEqual(['erase-1']);

  } finally {
    await platform.close();
  }
  // Every lake row removed is in the audit trail, a killed run's too (in the record of the run that finished its job).
  expect(await auditedLakeRows(dir)).toBe(4);
  const verify = sluice(dir, 'audit', 'verify');
  expect(verify.code, verify.stdout + verify.stderr).toBe(0);
}, 180_000);

test('a serving-log rewrite killed before its rename left its copy of the hour file: the erasure deletes it (its writer is gone), keeps one a live process writes, and sluice gc collects one left after', async () => {
  const dir = join(root, 'serving-log-temp');
  cpSync(template, dir, { recursive: true });
  const log = join(dir, '.sluice', 'serving-log', 'fraud_v1');
  mkdirSync(log, { recursive: true });
  // Written as a killed rewrite leaves it: `<hour>.jsonl.tmp-<pid>.<start>` of a process that no longer runs.
  const line = (key: string) => `{"requestId":"r1","service":"fraud_v1","rows":[["${key}",[1]]]}\n`;
  const dead = join(log, '2024-03-01T10.jsonl.tmp-4194303.1');
  const live = join(log, `2024-03-01T10.jsonl.tmp-${process.pid}`);
  writeFileSync(dead, line(KEY) + line('c1'));
  writeFileSync(live, line('c1'));
  const erased = sluice(dir, 'erase', '--entity', 'customer', '--key', KEY, '--json');
  expect(erased.code, erased.stderr).toBe(0);
  expect(existsSync(dead)).toBe(false);
  expect(existsSync(live)).toBe(true);
  expect(await scan(join(dir, '.sluice'), KEY)).toEqual([]);
  expect(await merchantStates(dir)).toEqual(erasedReference);
  // One left after the erasure (holding another subject): sluice gc collects it whatever its age.
  writeFileSync(dead, line('c2'));
  const gc = sluice(dir, 'gc', '--json');
  expect(gc.code, gc.stderr).toBe(0);
  expect(gc.json<{ kinds: { kind: string; files: string[] }[] }>().kinds.find((k) => k.kind === 'serving-log-temp')?.files).toEqual([dead]);
  expect(existsSync(dead)).toBe(false);
  expect(existsSync(live)).toBe(true);
}, 180_000);

test('erase while sluice serve holds the stores: once the erasure reports done the server no longer serves the key, and stopping the server finishes the pending rebuild', async () => {
  const dir = join(root, 'served');
  cpSync(template, dir, { recursive: true });
  const port = await freePort();
  const server = await startSluice(dir, ['serve', '--host', '127.0.0.1', '--port', String(port), '--no-scheduler']);
  const features = async (key: string) => {
    const response = await fetch(`http://127.0.0.1:${port}/v1/features/online`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entities: { customer_id: [key] }, service: 'fraud_v1' }) });
    expect(response.status).toBe(200);
    const body = await response.json() as { rows: unknown[]; metadata: { status: unknown }[] };
    // Values and their status (ages move with the wall clock).
    return JSON.stringify([body.rows, body.metadata.map((m) => m.status)]).replaceAll(key, '<key>');
  };
  let stopped = false;
  try {
    const before = await features(KEY);
    const other = await features('c1');
    const erased = sluice(dir, 'erase', '--entity', 'customer', '--key', KEY, '--json');
    expect(erased.code, erased.stderr).toBe(0);
    expect(erased.json<{ scrubPending: { store: string }[] }>().scrubPending.map((s) => s.store)).toContain('online');
    // Done: the running server answers the subject as unknown (as a key never seen), others unchanged.
    expect(await features(KEY)).not.toEqual(before);
    expect(await features(KEY)).toEqual(await features('never-seen'));
    expect(await features('c1')).toEqual(other);
    // sluice status says so too, as a warning, not only the erase command's output.
    type Status = { conditions: { kind: string; subject: string; severity: string; message: string }[] };
    const pending = sluice(dir, 'status', '--json').json<Status>().conditions.filter((c) => c.kind === 'scrub_pending');
    expect(pending.map((c) => [c.subject, c.severity])).toContainEqual(['store:online', 'warn']);
    expect(pending.find((c) => c.subject === 'store:online')!.message).toMatch(/removed records' bytes can remain in the online store: .*stopping the server/);
    expect(await server.stop()).toBe(143);
    stopped = true;
    // Stopping the server did the rebuild: the warning ends.
    expect(sluice(dir, 'status', '--json').json<Status>().conditions.filter((c) => c.kind === 'scrub_pending')).toEqual([]);
  } finally {
    if (!stopped) await server.kill();
  }
  expect(await scan(join(dir, '.sluice'), KEY)).toEqual([]);
  const verify = sluice(dir, 'audit', 'verify');
  expect(verify.code, verify.stdout + verify.stderr).toBe(0);
}, 180_000);
