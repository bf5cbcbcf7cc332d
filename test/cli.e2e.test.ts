import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openPlatform } from '../src/platform.js';
import { sluice } from './support/cli.js';

let root: string;
let dir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sluice CLI, end to end', () => {
  test('init, plan, apply: a terraform-like plan, then a registry version; a project outside any npm install imports "sluice"', () => {
    expect(existsSync(join(dir, 'sluice.config.ts'))).toBe(true);
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    const plan = sluice(dir, 'plan', '--json');
    expect(plan.code).toBe(0);
    expect(plan.json<{ changes: unknown[] }>().changes).toContainEqual({ action: 'add', kind: 'featureView', name: 'txn_stats', rematerialize: true });
    expect(sluice(dir, 'apply', '--json').json()).toMatchObject({ registryVersion: 1 });
    expect(sluice(dir, 'plan').stdout).toContain('No changes');
    writeFileSync(join(dir, 'sluice.config.ts'), readFileSync(join(dir, 'sluice.config.ts'), 'utf8').replace("window: '1h'", "window: '2h'"));
    expect(sluice(dir, 'plan', '--json').json<{ changes: unknown[] }>().changes).toEqual([
      { action: 'change', kind: 'featureView', name: 'txn_stats', details: ['feature txn_count_1h window 1h -> 2h'], rematerialize: true, consequences: [] },
    ]);
    expect(sluice(dir, 'plan').stdout).toContain('~ featureView txn_stats: feature txn_count_1h window 1h -> 2h (rematerialize)');
    expect(sluice(dir, 'apply', '--json').json()).toMatchObject({ registryVersion: 2 });
  });

  test('init writes a tsconfig.json, so sluice.config.ts type-checks in an editor against Sluice\'s types', () => {
    const tsconfig = JSON.parse(readFileSync(join(dir, 'tsconfig.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } };
    expect(tsconfig.compilerOptions.paths.sluice![0]).toMatch(/dist[\\/]index\.d\.ts$/);
    expect(existsSync(tsconfig.compilerOptions.paths.sluice![0]!)).toBe(true);
    const tsc = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
    expect(tsc.stdout).toBe('');
    expect(tsc.status).toBe(0);
  });

  test('plan type-checks sluice.config.ts: TypeScript errors with file, line and column, nothing planned', () => {
    const config = readFileSync(join(dir, 'sluice.config.ts'), 'utf8');
    try {
      writeFileSync(join(dir, 'sluice.config.ts'), config.replace("joinKey: 'customer_id' }", "joinKey: 'customer_id', colour: 'red' }"));
      const r = sluice(dir, 'plan');
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/sluice\.config\.ts:6:\d+ error TS2353: Object literal may only specify known properties, and 'colour' does not exist/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      writeFileSync(join(dir, 'sluice.config.ts'), config);
    }
  });

  test('ingest validates every row: bad rows go to the dead-letter store with line, raw content and reason', () => {
    const r = sluice(dir, 'ingest', 'transactions', '--file', 'data/transactions.csv', '--json');
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ source: 'transactions', accepted: 5, rejected: 3 });
    expect(r.json<{ snapshot: string }>().snapshot).toMatch(/^transactions@1-/);
    expect(sluice(dir, 'ingest', 'customers', '--file', 'data/customers.csv', '--json').json()).toMatchObject({ accepted: 4, rejected: 0 });
    const dlq = sluice(dir, 'dlq', '--source', 'transactions', '--json').json<{ total: number; rows: Array<{ line: number; raw: string; reason: string }> }>();
    expect(dlq.total).toBe(3);
    expect(dlq.rows.map((d) => [d.line, d.raw, d.reason])).toEqual([
      [5, 't4,c1,not-a-number,m3,2024-03-01T11:10:00Z', 'column "amount": "not-a-number" is not a float64'],
      [8, 't7,c3,100,m4,', 'column "ts": the event timestamp is missing'],
      [9, 't8,c3,12.5,m4,2024-03-02T12:00:00Z,extra', 'expected 5 fields, found 6'],
    ]);
  });

  test('dlq --source and list snapshots --source with a misspelt source fail naming it, instead of "none"', () => {
    for (const args of [['dlq', '--source', 'transactoins'], ['list', 'snapshots', '--source', 'transactoins']]) {
      const r = sluice(dir, ...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error: source "transactoins" is not in the registry (did you mean "transactions"?)');
      expect(r.stdout).toBe('');
    }
  });

  test('dlq --source lists the records of a source no longer in the registry', async () => {
    const platform = openPlatform({ projectDir: dir });
    try {
      await platform.metadata.addDeadLetters([{ source: 'retired', file: 'old.csv', line: 3, raw: 'x,y', reason: 'column "amount": not a number', createdAt: Date.now() }]);
    } finally {
      await platform.close();
    }
    const r = sluice(dir, 'dlq', '--source', 'retired', '--json');
    expect(r.code).toBe(0);
    expect(r.json<{ total: number; rows: Array<{ source: string; line: number }> }>()).toMatchObject({ total: 1, rows: [{ source: 'retired', line: 3 }] });
  });

  test('re-ingesting the same file is a no-op unless --force', () => {
    expect(sluice(dir, 'ingest', 'transactions', '--file', 'data/transactions.csv', '--json').json()).toMatchObject({ accepted: 0, rejected: 0, skipped: true });
    // The file may also be given as the argument after the source, as a new user first types it.
    expect(sluice(dir, 'ingest', 'transactions', 'data/transactions.csv', '--json').json()).toMatchObject({ source: 'transactions', accepted: 0, skipped: true });
    expect(sluice(dir, 'ingest', 'transactions', 'data/transactions.csv', '--file', './data/transactions.csv', '--json').json()).toMatchObject({ accepted: 0, skipped: true });
    const forced = sluice(dir, 'ingest', 'transactions', '--file', 'data/transactions.csv', '--force', '--json').json<{ snapshot: string; accepted: number }>();
    expect(forced.accepted).toBe(5);
    expect(forced.snapshot).toMatch(/^transactions@2-/);
  });

  test('JSONL ingest: malformed lines are rejected, never dropped', () => {
    writeFileSync(join(dir, 'more.jsonl'), [
      '{"txn_id": "j1", "customer_id": "c4", "amount": 3, "merchant": "m1", "ts": "2024-03-01T00:00:00Z"}',
      '{"txn_id": "j2", "customer_id": ',
      '[1, 2]',
      '{"txn_id": "j3", "customer_id": "c4", "amount": {"x": 1}, "merchant": "m1", "ts": "2024-03-01T00:00:00Z"}',
      '{"txn_id": "j4", "customer_id": "c4", "amount": 4, "merchant": "m1", "ts": "yesterday"}',
    ].join('\n'));
    expect(sluice(dir, 'ingest', 'transactions', '--file', 'more.jsonl', '--json').json()).toMatchObject({ accepted: 1, rejected: 4 });
    const reasons = sluice(dir, 'dlq', '--json').json<{ rows: Array<{ file: string; line: number; reason: string }> }>().rows.filter((r) => r.file === 'more.jsonl');
    expect(reasons.map((r) => r.line)).toEqual([2, 3, 4, 5]);
    expect(reasons[0]!.reason).toMatch(/malformed JSON/);
    expect(reasons[3]!.reason).toBe('column "ts": "yesterday" is not a timestamp');
  });

  test('a CSV the parser cannot follow fails as a whole, with nothing committed', () => {
    writeFileSync(join(dir, 'broken.csv'), 'txn_id,customer_id,amount,merchant,ts\nb1,c5,1,m1,2024-03-01T00:00:00Z\nb2,"c5,2,m1,2024-03-01T00:00:00Z\n');
    const r = sluice(dir, 'ingest', 'transactions', '--file', 'broken.csv', '--json');
    expect(r.code).toBe(1);
    expect(r.json<{ error: { message: string } }>().error.message).toMatch(/malformed CSV .*nothing was ingested/);
    // Snapshots so far: the CSV (1), its forced re-ingest (2), the JSONL file (3). The broken file made none.
    writeFileSync(join(dir, 'fixed.csv'), 'txn_id,customer_id,amount,merchant,ts\nb1,c5,1,m1,2024-03-01T00:00:00Z\n');
    expect(sluice(dir, 'ingest', 'transactions', '--file', 'fixed.csv', '--json').json<{ snapshot: string }>().snapshot).toMatch(/^transactions@4-/);
  });

  test('dataset build keeps every spine row in order and names columns <view>__<feature>; same inputs, same id', () => {
    sluice(dir, 'materialize');
    const first = sluice(dir, 'dataset', 'build', '--spine', 'data/labels.csv', '--service', 'fraud_v1', '--out', 'out/train.jsonl', '--json');
    expect(first.code).toBe(0);
    const manifest = first.json<{ datasetId: string; rowCount: number; snapshots: Record<string, string> }>();
    expect(manifest.rowCount).toBe(5);
    const rows = readFileSync(join(dir, 'out/train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => r.customer_id)).toEqual(['c1', 'c1', 'c2', 'c9', 'c1']);
    expect(Object.keys(rows[0]!)).toEqual(['customer_id', 'ts', 'is_fraud', 'txn_stats__txn_count_1h', 'txn_stats__amount_sum_24h', 'txn_stats__amount_avg_7d', 'txn_stats__merchants_7d', 'txn_stats__last_amount', 'small_txns__small_count_1h', 'small_txns__small_cents_24h', 'profile__segment']);
    // 77 = 2 x 38.5: the file was ingested twice above (--force appends it again); 38.5 passes
    // small_txns' filter (amount < 45) and derives 3850 cents.
    expect(rows[1]).toMatchObject({ txn_stats__amount_sum_24h: 77, small_txns__small_cents_24h: 7700, profile__segment: 'platinum' });
    expect(JSON.parse(readFileSync(join(dir, 'out/train.jsonl.manifest.json'), 'utf8'))).toMatchObject({ datasetId: manifest.datasetId });
    const again = sluice(dir, 'dataset', 'build', '--spine', 'data/labels.csv', '--service', 'fraud_v1', '--out', 'out/train.jsonl', '--json').json<{ datasetId: string }>();
    expect(again.datasetId).toBe(manifest.datasetId);
    const parquet = sluice(dir, 'dataset', 'build', '--spine', 'data/labels.csv', '--features', 'txn_stats:last_amount,profile:segment', '--out', 'out/t.parquet', '--json');
    expect(parquet.code).toBe(0);
    expect(parquet.json<{ features: string[] }>().features).toEqual(['txn_stats__last_amount', 'profile__segment']);
  });

  test('get reads online features', () => {
    const r = sluice(dir, 'get', '--service', 'fraud_v1', '--entity', 'customer_id=c1,nobody', '--json');
    expect(r.code).toBe(0);
    const body = r.json<{ features: string[]; rows: Array<Record<string, unknown>>; metadata: Array<{ status: string[] }> }>();
    expect(body.rows[0]).toMatchObject({ customer_id: 'c1', txn_stats__last_amount: 7.75 });
    expect(body.metadata[1]!.status[body.features.indexOf('txn_stats__last_amount')]).toBe('NOT_FOUND');
  });

  test('get as text says which entities are not in the online store (their counts show 0), not only --json', () => {
    const r = sluice(dir, 'get', '--service', 'fraud_v1', '--entity', 'customer_id=c1,nobody');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('not found in the online store (no requested view has them; counts show 0, other values -): nobody\n');
    expect(r.stdout).not.toMatch(/not found in the online store.*c1/);
  });

  test('mistakes give exit 1 (failure) or 2 (usage) and a message, never a stack trace', () => {
    const unknown = sluice(dir, 'ingest', 'transacts', '--file', 'data/transactions.csv');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('source "transacts" is not in the registry (did you mean "transactions"?)');
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    expect(sluice(dir, 'ingest', 'transactions', '--file', 'nope.csv').code).toBe(1);
    expect(sluice(dir, 'ingest', 'transactions', '--file', 'data/x.xlsx').code).toBe(1);
    expect(sluice(dir, 'dataset', 'build', '--spine', 'data/labels.csv', '--out', 'x.csv').code).toBe(2);
    expect(sluice(dir, 'dataset', 'build', '--spine', 'data/labels.csv', '--features', 'txn_stats:nope', '--out', 'x.csv').code).toBe(1);
    expect(sluice(dir, 'bogus').code).toBe(2);
    expect(sluice(dir, 'ingest').code).toBe(2);
    // The file as a second argument is the same as --file; two different files are a usage error.
    expect(sluice(dir, 'ingest', 'transactions', 'nope.csv').stderr).toMatch(/nope\.csv/);
    const two = sluice(dir, 'ingest', 'transactions', 'data/transactions.csv', '--file', 'more.jsonl');
    expect([two.code, two.stderr]).toEqual([2, expect.stringContaining('give the file once')]);
    const json = sluice(dir, 'get', '--service', 'nope', '--entity', 'customer_id=c1', '--json');
    expect(json.code).toBe(1);
    expect(json.json()).toEqual({ error: { code: 'UNKNOWN_SERVICE', message: expect.stringContaining('feature service "nope"') } });
  });

  test('get --entity splits the key at the first "=" only', () => {
    const r = sluice(dir, 'get', '--service', 'fraud_v1', '--entity', 'customer_id=dXNlcjE=,c1', '--json');
    expect(r.code).toBe(0);
    expect(r.json<{ rows: Array<Record<string, unknown>> }>().rows.map((row) => row.customer_id)).toEqual(['dXNlcjE=', 'c1']);
    expect(sluice(dir, 'get', '--service', 'fraud_v1', '--entity', '=c1').code).toBe(2);
  });

  test.each([
    [['dlq', '--limit', 'abc'], /--limit.*expected an integer/],
    [['dlq', '--limit', '-5'], /--limit.*expected an integer/],
    [['serve', '--port', 'abc'], /--port.*expected an integer from 0 to 65535/],
    [['serve', '--port', '99999'], /--port.*expected an integer from 0 to 65535/],
    [['materialize', '--views', ''], /--views/],
  ])('usage error %j: exit 2 and a message, no stack', (args, message) => {
    const r = sluice(dir, ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('serve on a port in use names the port and the fix', async () => {
    const busy: Server = await new Promise((resolve) => {
      const server = createNetServer().listen(0, '127.0.0.1', () => resolve(server));
    });
    try {
      const { port } = busy.address() as { port: number };
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sluice.js'), 'serve', '--port', String(port), '--log-level', 'silent'], { cwd: dir });
        let stderr = '';
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('exit', (code) => resolve({ code, stderr }));
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      busy.close();
    }
  });

  test('init into an existing directory never overwrites the user\'s files: it refuses naming them, and lists only what it created', () => {
    const mine = join(root, 'mine');
    mkdirSync(join(mine, 'data'), { recursive: true });
    writeFileSync(join(mine, 'data', 'transactions.csv'), 'MY OWN DATA\n');
    writeFileSync(join(mine, 'tsconfig.json'), '{"mine": true}\n');
    const refused = sluice(root, 'init', 'mine');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error: ${join(mine)} already holds data/transactions.csv, tsconfig.json; "sluice init" writes those files: choose another directory`);
    expect(readFileSync(join(mine, 'data', 'transactions.csv'), 'utf8')).toBe('MY OWN DATA\n');
    expect(readFileSync(join(mine, 'tsconfig.json'), 'utf8')).toBe('{"mine": true}\n');
    const other = join(root, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'x');
    const created = sluice(root, 'init', 'other', '--json').json<{ files: string[] }>();
    expect(created.files.sort()).toEqual(['data', 'data/customers.csv', 'data/labels.csv', 'data/transactions.csv', 'sluice.config.ts', 'tsconfig.json']);
  });

  test('--project and init given a file: a message naming it, exit 1', () => {
    writeFileSync(join(root, 'a-file'), 'x');
    for (const r of [sluice(root, '--project', 'a-file', 'dlq'), sluice(root, '--project', 'a-file', 'plan'), sluice(root, 'init', 'a-file')]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/a-file is a file, not a directory/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const missing = sluice(root, '--project', 'no-such-dir', 'dlq');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no-such-dir does not exist/);
    expect(existsSync(join(root, 'no-such-dir'))).toBe(false);
  });

  test('demo --dir refuses a directory Sluice did not create, and leaves it alone', () => {
    const mine = join(root, 'my-work');
    mkdirSync(mine);
    writeFileSync(join(mine, 'thesis.txt'), 'precious');
    const r = sluice(root, 'demo', '--once', '--dir', 'my-work');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/my-work exists and was not created by "sluice demo"; pass another --dir or remove it yourself/);
    expect(readFileSync(join(mine, 'thesis.txt'), 'utf8')).toBe('precious');
  });

  test('malformed definitions get a message, never a stack trace', () => {
    const config = readFileSync(join(dir, 'sluice.config.ts'), 'utf8');
    try {
      writeFileSync(join(dir, 'sluice.config.ts'), config.replace(/count\(\{ window: '\dh' \}\)/, 'count({ window: 1 as unknown as string })'));
      const window = sluice(dir, 'plan');
      expect(window.code).toBe(1);
      expect(window.stderr).toContain('feature view "txn_stats", feature "txn_count_1h": window must be a duration string such as "24h", not 1');
      expect(window.stderr).not.toMatch(/\n\s+at /);
      writeFileSync(join(dir, 'sluice.config.ts'), config.replace("const customer = entity(", 'const oops = (undefined as unknown as { x: number }).x;\nconst customer = entity('));
      const thrown = sluice(dir, 'plan');
      expect(thrown.code).toBe(1);
      expect(thrown.stderr).toMatch(/sluice\.config\.ts:6:\d+ failed to load: Cannot read properties of undefined \(reading 'x'\)/);
      expect(thrown.stderr).not.toMatch(/\n\s+at /);
      writeFileSync(join(dir, 'sluice.config.ts'), config.replace('entities: [customer],', '').replace('export default defineProject({', 'export default defineProject(<any>{'));
      const noEntities = sluice(dir, 'plan');
      expect(noEntities.code).toBe(1);
      expect(noEntities.stderr).toContain('project "fraud": "entities" is missing; list the project\'s entities, e.g. entities: [customer]');
      expect(noEntities.stderr).not.toMatch(/\n\s+at /);
    } finally {
      writeFileSync(join(dir, 'sluice.config.ts'), config);
    }
  });

  test('a definition mistake in sluice.config.ts is reported with the fix', () => {
    writeFileSync(join(dir, 'sluice.config.ts'), readFileSync(join(dir, 'sluice.config.ts'), 'utf8').replace("sum('amount'", "sum('amout'"));
    const r = sluice(dir, 'plan');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('column "amout" is not in source "transactions" (did you mean "amount"?)');
    const empty = sluice(root, 'plan');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('no sluice.config.ts');
  });
});
