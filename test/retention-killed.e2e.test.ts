import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { scan } from './support/byte-scan.js';
import { auditedLakeRows, sluiceKilledAt, snapshotRows } from './support/killed-cli.js';
import { addMerchantView } from './support/merchant-view.js';
import { openPlatform } from '../src/platform.js';

// `sluice retention run` killed (SIGKILL) at named steps of its run, then run again.
const OLD = 'old-ZQX-9001';
const DAY = 86_400_000;
let root: string;
let template: string;
let retainedReference: string;

/** The event times the view of another entity (merchant) holds per merchant: it counted the expired events. */
async function merchantStates(dir: string): Promise<string> {
  const platform = openPlatform({ projectDir: dir });
  try {
    return JSON.stringify((await (await platform.online()).read('merchant_stats', ['m1', 'm2'])).states.map((s) => s?.ts));
  } finally {
    await platform.close();
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-retention-killed-'));
  template = join(root, 'template');
  expect(sluice(root, 'init', 'template').code).toBe(0);
  const config = join(template, 'sluice.config.ts');
  writeFileSync(config, readFileSync(config, 'utf8').replace("allowedLateness: '1h',", "allowedLateness: '1h',\n  retention: '30d',"));
  addMerchantView(config);
  expect(sluice(template, 'apply', '--json').code).toBe(0);
  const at = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY).toISOString();
  writeFileSync(join(root, 't1.csv'), `txn_id,customer_id,amount,merchant,ts\nx1,${OLD},5,m1,${at(60)}\nx2,c1,6,m1,${at(60)}\nx3,c1,7,m2,${at(2)}\nx4,c2,8,m2,${at(1)}\n`);
  writeFileSync(join(root, 't2.csv'), `txn_id,customer_id,amount,merchant,ts\nx5,c3,9,m1,${at(1)}\nx6,${OLD},10,m1,${at(50)}\n`);
  for (const file of ['t1.csv', 't2.csv']) expect(sluice(template, 'ingest', 'transactions', '--file', join(root, file), '--json').code).toBe(0);
  expect(sluice(template, 'materialize', '--json').code).toBe(0);
  // What the merchant view holds after a retention run nothing interrupted: the killed runs' re-runs must end there too.
  const reference = join(root, 'reference');
  cpSync(template, reference, { recursive: true });
  expect(sluice(reference, 'retention', 'run', '--json').code).toBe(0);
  retainedReference = await merchantStates(reference);
  expect(retainedReference).not.toEqual(await merchantStates(template));
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

test.each(['purge.lake-swapped', 'purge.online', 'retention.purged', 'retention.expired'])('retention run killed at %s, then run again without gc: expired rows gone from every file (files left by a crash between swap and delete too, counted in the report), the lake consistent, the audit chain whole', async (step) => {
  const dir = join(root, step);
  cpSync(template, dir, { recursive: true });
  await sluiceKilledAt(dir, step, 'retention', 'run', '--json');
  const leftovers = (await scan(join(dir, '.sluice'), OLD)).filter((f) => f.startsWith('lake/'));
  // Run again WITHOUT `sluice gc`: files a crash between swap and delete left are deleted by the re-run, and counted.
  const again = sluice(dir, 'retention', 'run', '--json');
  expect(again.code, again.stderr).toBe(0);
  expect(again.json<{ leftoverFiles: number }>().leftoverFiles > 0).toBe(step === 'purge.lake-swapped');
  if (step === 'purge.lake-swapped') expect(leftovers.length).toBeGreaterThan(0);
  expect(await snapshotRows(dir, 'transactions', 'customer_id')).toEqual([['c1', 'c2'], ['c1', 'c2', 'c3']]);
  expect(await scan(join(dir, '.sluice'), OLD)).toEqual([]);
  expect(await merchantStates(dir)).toEqual(retainedReference);
  // Every expired lake row is in the audit trail, a killed run's too (in the record of the run that finished its job).
  expect(await auditedLakeRows(dir)).toBe(3);
  const verify = sluice(dir, 'audit', 'verify');
  expect(verify.code, verify.stdout + verify.stderr).toBe(0);
}, 180_000);

test('sluice gc after a retention run killed between swap and delete removes the swapped-out files whatever their age, and reports them as purge leftovers', async () => {
  const dir = join(root, 'gc-after-kill');
  cpSync(template, dir, { recursive: true });
  await sluiceKilledAt(dir, 'purge.lake-swapped', 'retention', 'run', '--json');
  const inLake = async () => (await scan(join(dir, '.sluice'), OLD)).filter((f) => f.startsWith('lake/'));
  expect((await inLake()).length).toBeGreaterThan(0);
  // The default --min-age (1m) would keep a just-unreferenced file; a recorded pending deletion goes anyway.
  const gc = sluice(dir, 'gc', '--json');
  expect(gc.code, gc.stderr).toBe(0);
  const leftovers = gc.json<{ kinds: { kind: string; files: string[] }[] }>().kinds.find((k) => k.kind === 'purge-leftovers');
  expect(leftovers?.files.length).toBeGreaterThan(0);
  expect(await inLake()).toEqual([]);
  const again = sluice(dir, 'retention', 'run', '--json');
  expect(again.code, again.stderr).toBe(0);
  expect(again.json()).toMatchObject({ leftoverFiles: 0 });
  expect(await scan(join(dir, '.sluice'), OLD)).toEqual([]);
}, 180_000);
