import { readdirSync, readFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from '../support/cli.js';
import { startSluice } from '../support/sluice-process.js';

/**
 * Secrets given with env(...) (a Postgres URL with a password, a NATS URL with a token, a webhook
 * URL with credentials, an OpenLineage API key) must never be written anywhere Sluice writes:
 * the registry, the metadata store, logs, error messages, run history, `/metrics`, the HTTP API,
 * lineage events. Every connection here fails (closed ports), so their errors are exercised too.
 */
const SECRET = 's3cr3t';

const CONFIG = `import { defineProject, entity, batchSource, streamSource, featureView, count, postgresTable, natsJetStream, env, webhook } from 'sluice';

const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = batchSource({
  name: 'payments', schema: { payment_id: 'int64', account_id: 'string', amount: 'float64', updated_at: 'timestamp' },
  timestamp: 'updated_at', eventId: 'payment_id',
  connector: postgresTable({ connection: env('PG_URL'), table: 'public.payments', cursor: 'updated_at' }),
});
const clicks = streamSource({
  name: 'clicks', schema: { click_id: 'string', account_id: 'string', ts: 'timestamp' }, timestamp: 'ts',
  connector: natsJetStream({ servers: env('NATS_URL'), stream: 'CLICKS', subject: 'clicks.>' }),
});
const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n: count() } });
const activity = featureView({ name: 'activity', entity: account, source: clicks, features: { clicks: count() } });

export default defineProject({ name: 'secrets', entities: [account], sources: [payments, clicks], featureViews: [stats, activity],
  alerts: [webhook({ url: env('ALERT_URL'), headers: { authorization: env('ALERT_TOKEN') } })] });
`;

const closedPort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});

/** Every file under `dir`, as bytes decoded as latin1 (so a secret in any byte encoding of ASCII text is found). */
function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      const stat = statSync(full);
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile()) {
        const bytes = readFileSync(full);
        if (bytes.toString('latin1').includes(needle) || bytes.toString('utf16le').includes(needle)) found.push(full);
      }
    }
  };
  walk(dir);
  return found;
}

let root: string;
let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-secrets-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), CONFIG);
  const [pg, nats, hook] = [await closedPort(), await closedPort(), await closedPort()];
  env = {
    PG_URL: `postgres://app:${SECRET}@127.0.0.1:${pg}/crm?sslmode=disable&password=${SECRET}`,
    NATS_URL: `nats://${SECRET}-token@127.0.0.1:${nats}`,
    ALERT_URL: `http://hook:${SECRET}@127.0.0.1:${hook}/alerts?token=${SECRET}`,
    ALERT_TOKEN: `Bearer ${SECRET}-alert`,
    OPENLINEAGE__TRANSPORT__TYPE: 'file',
    OPENLINEAGE__TRANSPORT__LOG_FILE_PATH: join(dir, 'lineage', 'events.jsonl'),
    OPENLINEAGE_API_KEY: `${SECRET}-lineage`,
  };
  Object.assign(process.env, env);
});
afterAll(() => {
  for (const name of Object.keys(env)) delete process.env[name];
  rmSync(root, { recursive: true, force: true });
});

test('env() secrets (Postgres password, NATS token, webhook credentials) appear in no file, log, error, run history, metric, API answer or lineage event', async () => {
  const outputs: string[] = [];
  const run = (...args: string[]) => {
    const result = sluice(dir, ...args);
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  expect(run('apply').code).toBe(0);
  const ingest = run('ingest', 'payments');
  expect(ingest.code).toBe(1);
  expect(ingest.stderr).toMatch(/source "payments": cannot connect to Postgres/);
  expect(run('run', 'ingest:payments').code).toBe(1);
  const runs = run('runs', '--failed', '--json');
  expect(runs.stdout).toContain('ingest:payments');
  run('list', 'sources', '--json');
  run('status', '--json');
  run('alerts', '--json');

  const port = await closedPort();
  const server = await startSluice(dir, ['serve', '--port', String(port), '--log-level', 'trace'], env);
  try {
    const get = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      const text = await response.text();
      outputs.push(text);
      return text;
    };
    // Wait until both connectors have failed at least once (their errors are what could leak).
    const deadline = Date.now() + 60_000;
    let streams = await get('/v1/streams');
    while (!/lastError/.test(streams) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      streams = await get('/v1/streams');
    }
    expect(streams).toContain('lastError');
    await get('/metrics');
    await get('/v1/registry');
    await get('/health');
  } finally {
    await server.stop();
    outputs.push(server.stderr());
  }
  outputs.push(run('runs', '--json').stdout);
  const leaks = outputs.filter((text) => text.includes(SECRET));
  expect(leaks).toEqual([]);
  expect(filesContaining(root, SECRET)).toEqual([]);
}, 180_000);
