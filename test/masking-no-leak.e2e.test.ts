import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sluice, type CliResult } from './support/cli.js';

// One sweep over every CLI path that prints or returns row values, as the local operator (no
// grant): a `direct` and a `sensitive` column carry unique markers, and no output (stdout,
// stderr, JSON, dataset manifests, log files) may contain them. HTTP answers, skew examples,
// check samples and request-view errors have their own tests (masking*.test.ts).
const EMAIL = 'MARKER-5f3a@example.com';
const DIAGNOSIS = 'MARKER-DIAG-9c1e';
const MARKERS = [EMAIL, EMAIL.toLowerCase(), DIAGNOSIS, 'MARKER-5f3a', 'MARKER-DIAG'];

const config = `import { defineProject, entity, batchSource, sqlTransform, featureView, featureService, requestView, field, count, allowedValues, notNull, pii } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const customers = batchSource({ name: 'customers', schema: { customer_id: 'string', email: 'string', diagnosis: 'string', plan: 'string', visits: 'int64', ts: 'timestamp' }, timestamp: 'ts',
  classify: { email: pii('direct'), diagnosis: pii('sensitive') },
  checks: [allowedValues('email', ['none'], { severity: 'warn' }), allowedValues('diagnosis', ['none'], { severity: 'warn' }), notNull('plan', { severity: 'warn' })] });
const contacts = sqlTransform({ name: 'contacts', inputs: [customers], sql: 'SELECT customer_id, lower(email) AS contact, diagnosis, ts FROM customers',
  timestamp: 'ts', schema: { customer_id: 'string', contact: 'string', diagnosis: 'string', ts: 'timestamp' },
  checks: [allowedValues('contact', ['none'], { severity: 'warn' }), allowedValues('diagnosis', ['none'], { severity: 'warn' })] });
// Fails: DuckDB's conversion error would quote the email it could not cast.
const badCast = sqlTransform({ name: 'bad_cast', inputs: [customers], sql: 'SELECT customer_id, CAST(email AS BIGINT) AS n, ts FROM customers',
  timestamp: 'ts', schema: { customer_id: 'string', n: 'int64', ts: 'timestamp' } });
const profile = featureView({ name: 'profile', entity: customer, source: customers, features: { email: field('email'), diagnosis: field('diagnosis'), plan: field('plan'), n: count() },
  checks: [allowedValues('email', ['none'], { severity: 'warn' }), allowedValues('diagnosis', ['none'], { severity: 'warn' })] });
const contact = requestView({ name: 'contact', request: { channel: 'string' }, inputs: [profile],
  features: { ok: ({ request, profile }) => { if (request.channel !== 'mail') throw new Error('bad email ' + profile.email + ' with ' + profile.diagnosis); return true; } },
  types: { ok: 'bool' } });
export default defineProject({ name: 'noleak', entities: [customer], sources: [customers], transforms: [contacts, badCast], featureViews: [profile], requestViews: [contact],
  featureServices: [featureService({ name: 'crm', features: [profile, contact] })] });
`;

let root: string;
let dir: string;
const outputs: { command: string; text: string }[] = [];
const run = (...args: string[]): CliResult => {
  const result = sluice(dir, ...args);
  outputs.push({ command: args.join(' '), text: `${result.stdout}\n${result.stderr}` });
  return result;
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-no-leak-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), config);
  writeFileSync(join(dir, 'customers.csv'), [
    'customer_id,email,diagnosis,plan,visits,ts',
    `c1,${EMAIL},${DIAGNOSIS},,3,2026-11-01T00:00:00Z`,
    // Rejected rows: a bad timestamp, a bad int64, each with the markers in their classified columns.
    `c2,${EMAIL},${DIAGNOSIS},gold,1,not-a-time`,
    `c3,${EMAIL},${DIAGNOSIS},gold,1.5,2026-11-02T00:00:00Z`,
  ].join('\n'));
  writeFileSync(join(dir, 'spine.csv'), 'customer_id,ts,channel\nc1,2026-11-20T00:00:00Z,sms\n');
  expect(run('apply').code).toBe(0);
  run('ingest', 'customers', '--file', 'customers.csv');
  run('transform', 'run', 'contacts');
  run('transform', 'run', 'bad_cast');
  run('materialize');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('no classified value leaks through any CLI output', () => {
  // 30 CLI processes in a row: a minute when the machine is quiet, more than the default 120 s
  // when a loaded CI runs other suites beside it.
  test('every command, human and --json', () => {
    const commands: string[][] = [
      ['get', '--entity', 'customer_id=c1', '--service', 'crm', '--request', 'channel=sms'],
      ['get', '--entity', 'customer_id=c1', '--features', 'profile:email,profile:diagnosis'],
      ['dlq'], ['checks'], ['checks', '--samples'], ['status'], ['alerts'], ['runs'], ['quarantine', 'list'],
      ['lineage', 'source:customers.email'], ['lineage', 'view:profile'], ['catalog', '--pii'],
      ['dataset', 'build', '--spine', 'spine.csv', '--service', 'crm', '--out', 'train.jsonl'],
      ['datasets'], ['drift'], ['skew'],
    ];
    for (const args of commands) {
      run(...args);
      run('--json', ...args);
    }
    const leaks = outputs.filter((o) => MARKERS.some((m) => o.text.includes(m))).map((o) => `${o.command}: ${o.text.slice(Math.max(0, o.text.search(/MARKER/) - 200), o.text.search(/MARKER/) + 80)}`);
    expect(leaks).toEqual([]);
    // The sweep did read data: check samples of the source, the transform and the view, dead letters, hashed emails, a dataset row.
    const shown = (command: string) => outputs.find((o) => o.command === command)!.text;
    // Samples only on request (--samples: the values right, which the local operator has).
    expect(shown('--json checks --samples')).toContain('[classified]');
    expect(shown('runs')).toContain('[value not shown]');
    expect(shown('--json checks')).toContain('contacts');
    expect(shown('--json checks')).toContain('profile');
    expect(shown('dlq')).toContain('[masked');
    expect(outputs.find((o) => o.command.startsWith('--json get --entity customer_id=c1 --features'))!.text).toMatch(/"profile__email": ?"[0-9a-f]{64}"/);
    expect(readFileSync(join(dir, 'train.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  }, 360_000);

  test('dataset files, manifests and log files written by the commands hold no marker', () => {
    const files: string[] = [];
    const walk = (at: string): void => {
      for (const name of readdirSync(at)) {
        const path = join(at, name);
        if (statSync(path).isDirectory()) walk(path);
        else files.push(path);
      }
    };
    walk(dir);
    const written = files.filter((f) => /(train\.jsonl|manifest|\.log|\.jsonl)$/.test(f) && !f.endsWith('customers.csv') && !f.includes(`${join('.sluice', 'serving-log')}`));
    const leaking = written.filter((f) => MARKERS.some((m) => readFileSync(f, 'utf8').includes(m)));
    expect(leaking).toEqual([]);
  });
});
