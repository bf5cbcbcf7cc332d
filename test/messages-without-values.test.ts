import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { tempPlatform } from './support/temp-platform.js';

// Review rev11 finding 2: an error about a file's header or rows quoted the file's values (an
// email, a diagnosis) into the error, run history, health conditions and alerts, which erasure
// does not reach; and the spine reader took a data row for the header when a row had an extra field.
// The rule: messages name columns and positions, never a data value of a file.

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const customers = batchSource({ name: 'customers', schema: { customer_id: 'string', email: 'string', dob: 'string', diagnosis: 'string', zip: 'string', updated_at: 'timestamp' }, timestamp: 'updated_at' });
const spec = defineProject({ name: 'pii', entities: [customer], sources: [customers], featureViews: [featureView({ name: 'c', entity: customer, source: customers, features: { n: count() } })] });
const VALUES = /HDRMARK|DIAGHDR|75001|MARKER4|cust-NOHDR|1999-13-01/;

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function project() {
  const env = await tempPlatform(spec, Date.parse('2026-12-01T00:00:00Z'));
  cleanup.push(env.dispose);
  const write = (name: string, text: string) => {
    writeFileSync(join(env.dir, name), text);
    return join(env.dir, name);
  };
  /** Every place a failure's text is kept: the error, the run history, the health conditions. */
  const kept = async (error: unknown) => {
    const runs = await env.platform.metadata.listRuns(50, { status: 'failed' });
    // The failure is kept (so the scan below reads its text), as the run's error and a job_failed condition.
    expect(runs.map((r) => r.error)).toContain((error as Error).message);
    const conditions = await env.platform.metadata.health.list({});
    expect(conditions.some((c) => c.kind === 'job_failed')).toBe(true);
    return [String((error as Error).message), JSON.stringify(runs), JSON.stringify(conditions)].join('\n');
  };
  return { ...env, write, kept };
}

test('a CSV without a header: the ingest error names its field count and the columns expected, and no value reaches the run history or health conditions', async () => {
  const { platform, project: p, write, kept } = await project();
  const error = await ingestFile(platform, p, 'customers', write('nohdr.csv', 'c6,eve.HDRMARK@example.com,1980-01-01,DIAGHDR,75001,2026-11-30T00:00:00Z\n')).catch((e: unknown) => e);
  expect((error as Error).message).toMatch(/nohdr\.csv: the first line is not a CSV header: it has 6 fields and names none of the columns expected \(customer_id, email, dob, diagnosis, zip, updated_at\)/);
  expect(await kept(error)).not.toMatch(VALUES);
  // A header that is one (it names expected columns) is still listed, with the column it lacks.
  const lacking = await ingestFile(platform, p, 'customers', write('lacking.csv', 'customer_id,email,dob,diagnosis,ZIP,updated_at\nc1,a@x,1980-01-01,d,1,2026-11-30T00:00:00Z\n')).catch((e: unknown) => e);
  expect((lacking as Error).message).toContain('lacks column(s) "zip" of the source schema (header: customer_id, email, dob, diagnosis, ZIP, updated_at; "ZIP" differs only in case');
});

test('a spine row with an extra field is reported by its line, the header read as the header; a spine without a header by its field count; bad rows by column and row, no value', async () => {
  const { platform, project: p, write, kept } = await project();
  const build = (name: string, text: string) => buildDataset(platform, p, { spine: write(name, text), out: join(write(`${name}.keep`, ''), '..', `${name}.jsonl`), features: ['c:n'] });
  const extra = await build('extra.csv', 'customer_id,ts\nc4,2026-12-01T00:00:00Z\nc4,2026-12-01T00:00:00Z,dan.MARKER4@example.com\n').catch((e: unknown) => e);
  expect((extra as Error).message).toMatch(/spine .*extra\.csv: line 3 has 3 fields, its header 2 \(customer_id, ts\)/);
  expect(await kept(extra)).not.toMatch(VALUES);
  // The init project's data/transactions.csv has one such row (its 7th data row).
  const init = await build('tx.csv', 'txn_id,customer_id,amount,merchant,ts\nt1,c1,10.5,m1,2024-03-01T10:00:00Z\nt2,c1,20.25,m2,2024-03-01T10:30:00Z\nt3,c2,5,m1,2024-03-01T11:00:00\nt7,c2,1,m1,2024-03-01T11:00:00Z,extra\n').catch((e: unknown) => e);
  expect((init as Error).message).toMatch(/spine .*tx\.csv: line 5 has 6 fields, its header 5 \(txn_id, customer_id, amount, merchant, ts\)/);
  const headerless = await build('nohdr.csv', 'cust-NOHDR,2026-12-01T00:00:00Z\n').catch((e: unknown) => e);
  expect((headerless as Error).message).toMatch(/spine .*nohdr\.csv: the first line is not a CSV header: it has 2 fields and names none of the columns expected \(customer_id, ts\)/);
  const bad = await build('bad.csv', 'customer_id,ts\ncust-NOHDR,1999-13-01\n').catch((e: unknown) => e);
  expect((bad as Error).message).toMatch(/spine .*bad\.csv: 1 row\(s\) lack a valid key or timestamp: row 1: "ts" is not a timestamp/);
  expect(await kept(headerless)).not.toMatch(VALUES);
  expect(await kept(bad)).not.toMatch(VALUES);
  // A good spine still reads (its header found, every row one field per column).
  await expect(build('good.csv', 'customer_id,ts\r\nc1,"2026-12-01T00:00:00Z"\r\n')).resolves.toMatchObject({ rowCount: 1 });
});
