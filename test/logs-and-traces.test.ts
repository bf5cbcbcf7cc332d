import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureService, featureView } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { createLogger, currentLogger, logLevelFromEnv, withLogger } from '../src/observability/log.js';
import { startJobSpan, startTracing, tracingConfigFromEnv, tracingEnabled, type Tracing } from '../src/observability/tracing.js';
import { trackRun } from '../src/orchestration/track-run.js';
import { createServer } from '../src/serving/http/server.js';
import { tempPlatform } from './support/temp-platform.js';
import { sluice } from './support/cli.js';
import { startSluice } from './support/sluice-process.js';

type Line = Record<string, unknown>;

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const view = featureView({ name: 'v', entity: customer, source: txns, features: { n: count() } });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [view], featureServices: [featureService({ name: 'fraud', features: [view] })] });

const disposals: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const dispose of disposals.splice(0)) await dispose();
});

async function platform() {
  const t = await tempPlatform(spec, Date.UTC(2024, 0, 2));
  disposals.push(t.dispose);
  const csv = join(t.dir, 'txns.csv');
  writeFileSync(csv, 'customer_id,amount,ts\nc1,10,2024-01-01T00:00:00Z\nc2,20,2024-01-01T00:01:00Z\n,30,2024-01-01T00:02:00Z\n');
  return { ...t, csv };
}

describe('structured logs', () => {
  test('JSON lines with an ISO time and the service; secret-looking fields are redacted; the level comes from SLUICE_LOG_LEVEL', () => {
    const lines: Line[] = [];
    const log = createLogger({ level: 'debug', stream: { write: (l) => lines.push(JSON.parse(l) as Line) } });
    log.debug({ source: 'payments', connection: 'postgres://u:pw@h/db', nested: { password: 'pw' } }, 'connecting');
    expect(lines).toEqual([expect.objectContaining({ level: 20, service: 'sluice', source: 'payments', connection: '***', nested: { password: '***' }, msg: 'connecting' })]);
    expect(new Date(lines[0]!.time as string).toISOString()).toBe(lines[0]!.time);
    expect(logLevelFromEnv(undefined)).toBe('info');
    expect(logLevelFromEnv('debug')).toBe('debug');
    expect(() => logLevelFromEnv('loud')).toThrow('SLUICE_LOG_LEVEL="loud" is not a log level; use one of fatal, error, warn, info, debug, trace, silent');
  });

  test('every line of a job carries its runId and job, including lines its code logs through currentLogger()', async () => {
    const t = await platform();
    const lines: Line[] = [];
    const root = createLogger({ level: 'info', stream: { write: (l) => lines.push(JSON.parse(l) as Line) } });
    const result = await withLogger(root, () => trackRun(t.platform, 'example', { source: 'txns' }, async () => {
      currentLogger().info({ step: 1 }, 'working');
      await new Promise((resolve) => setTimeout(resolve, 1));
      currentLogger().info({ step: 2 }, 'still working');
      return { result: 'done', stats: { accepted: 2 } };
    }));
    expect(result).toBe('done');
    const [run] = await t.platform.metadata.listRuns(1);
    expect(lines.map((l) => l.msg)).toEqual(['run started', 'working', 'still working', 'run succeeded']);
    for (const line of lines) expect(line).toMatchObject({ runId: run!.id, job: 'example' });
    expect(lines[3]).toMatchObject({ stats: { accepted: 2 }, durationMs: expect.any(Number) });

    lines.length = 0;
    await expect(withLogger(root, () => ingestFile(t.platform, t.project, 'txns', join(t.dir, 'missing.csv')))).rejects.toThrow();
    await expect(withLogger(root, () => trackRun(t.platform, 'broken', {}, async () => {
      throw new Error('it broke');
    }))).rejects.toThrow('it broke');
    expect(lines.at(-1)).toMatchObject({ level: 50, job: 'broken', msg: 'run failed', err: { message: 'it broke' } });
    // An ingest logs counts, never row values.
    lines.length = 0;
    await withLogger(root, () => ingestFile(t.platform, t.project, 'txns', t.csv));
    expect(lines.at(-1)).toMatchObject({ msg: 'run succeeded', job: 'ingest', stats: { accepted: 2, rejected: 1 } });
    expect(JSON.stringify(lines)).not.toMatch(/\bc1\b|\bc2\b|2024-01-01T00:0/);
  });

  test('a run inside another logs its own runId and job once, with parentRunId: no line repeats a key', async () => {
    const t = await platform();
    const raw: string[] = [];
    const root = createLogger({ level: 'info', stream: { write: (l) => raw.push(l) } });
    await withLogger(root, () => trackRun(t.platform, 'outer', {}, async () => {
      await trackRun(t.platform, 'inner', {}, async () => {
        currentLogger().info('inside');
        return { result: undefined, stats: {} };
      });
      currentLogger().info('outside');
      return { result: undefined, stats: {} };
    }));
    const [inner, outer] = await t.platform.metadata.listRuns(2);
    // JSON.parse keeps the last of duplicate keys: count them in the text (a run's params, nested, aside).
    for (const line of raw) for (const key of ['runId', 'job', 'parentRunId']) expect(line.replace(/"params":\{[^{}]*\}/, '').split(`"${key}":`).length).toBeLessThanOrEqual(2);
    const lines = raw.map((l) => JSON.parse(l) as Line);
    expect(lines.map((l) => [l.msg, l.job, l.runId, l.parentRunId])).toEqual([
      ['run started', 'outer', outer!.id, undefined],
      ['run started', 'inner', inner!.id, outer!.id],
      ['inside', 'inner', inner!.id, outer!.id],
      ['run succeeded', 'inner', inner!.id, outer!.id],
      ['outside', 'outer', outer!.id, undefined],
      ['run succeeded', 'outer', outer!.id, undefined],
    ]);
  });

  test('every line of an HTTP request carries its requestId: the caller\'s x-request-id, returned in the response', async () => {
    const t = await platform();
    const lines: Line[] = [];
    const app = await createServer(t.platform, { logLevel: 'debug', logStream: { write: (l) => lines.push(JSON.parse(l) as Line) } });
    disposals.push(() => app.close());
    const res = await app.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json', 'x-request-id': 'req-42' }, payload: JSON.stringify({ entities: { customer_id: ['c1'] }, service: 'fraud' }) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toBe('req-42');
    const mine = lines.filter((l) => l.requestId === 'req-42');
    expect(mine.map((l) => l.msg)).toEqual(['incoming request', 'request completed']);
    expect(lines.filter((l) => l.msg === 'request completed' && l.requestId !== 'req-42')).toEqual([]);
    const generated = await app.inject({ method: 'GET', url: '/health' });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.at(-1)).toMatchObject({ requestId: generated.headers['x-request-id'], msg: 'request completed' });
  });

  test('below info a served or refused request writes no line; a failed one still carries its requestId (the request logger is built on its first line)', async () => {
    const t = await platform();
    const lines: Line[] = [];
    const app = await createServer(t.platform, { logLevel: 'warn', logStream: { write: (l) => lines.push(JSON.parse(l) as Line) } });
    disposals.push(() => app.close());
    const ask = (id: string, body: unknown) => app.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json', 'x-request-id': id }, payload: JSON.stringify(body) });
    expect((await ask('req-ok', { entities: { customer_id: ['c1'] }, service: 'fraud' })).statusCode).toBe(200);
    expect((await ask('req-bad', { entities: { customer_id: ['c1'] }, service: 'fraud', features: ['v:n'] })).statusCode).toBe(400);
    expect(lines).toEqual([]);
    // A store that fails underneath: a 500, logged with the request's id.
    await (await t.platform.online()).close();
    expect((await ask('req-failed', { entities: { customer_id: ['c1'] }, service: 'fraud' })).statusCode).toBe(500);
    expect(lines.map((l) => [l.requestId, l.msg, l.service])).toEqual([['req-failed', 'request failed', 'sluice']]);
  });
});

/** A stand-in OTLP/HTTP collector: every JSON body POSTed to /v1/traces. */
async function collector(): Promise<{ url: string; bodies: unknown[]; close(): Promise<void> }> {
  const bodies: unknown[] = [];
  const server = createHttpServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.includes('json')) bodies.push(JSON.parse(text));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

interface OtlpSpan { name: string; traceId: string; parentSpanId?: string; attributes: Array<{ key: string; value: Record<string, unknown> }>; status?: { code?: number } }
const attributes = (span: OtlpSpan): Record<string, unknown> =>
  Object.fromEntries(span.attributes.map((a) => [a.key, Object.values(a.value)[0]]));
function spansOf(bodies: unknown[]): Array<OtlpSpan & { service: unknown }> {
  type Body = { resourceSpans: Array<{ resource: OtlpSpan; scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
  return (bodies as Body[]).flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((span) => ({ ...span, service: attributes(r.resource)['service.name'] })))));
}

describe('OpenTelemetry traces', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  test('with nothing configured no provider or exporter is created, and no span is made', async () => {
    expect(tracingConfigFromEnv({})).toBeUndefined();
    expect(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318/', OTEL_SERVICE_NAME: 'features' })).toEqual({ url: 'http://otel:4318/v1/traces', serviceName: 'features' });
    expect(tracingConfigFromEnv({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual({ url: 'http://localhost:4318/v1/traces', serviceName: 'sluice' });
    tracing = await startTracing({});
    expect(tracing).toBeUndefined();
    expect(tracingEnabled()).toBe(false);
    expect(startJobSpan('ingest', 'r1')).toBeUndefined();
    // The global provider is still the API's no-op one: spans made through it record nothing.
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
  });

  test('a job and an HTTP request each export one span with their ids over OTLP/HTTP JSON', async () => {
    const otlp = await collector();
    disposals.push(otlp.close);
    tracing = await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_SERVICE_NAME: 'sluice-test' });
    expect(tracingEnabled()).toBe(true);
    const t = await platform();
    const ingested = await ingestFile(t.platform, t.project, 'txns', t.csv);
    const [run] = await t.platform.metadata.listRuns(1);
    const app = await createServer(t.platform);
    disposals.push(() => app.close());
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await app.inject({ method: 'POST', url: '/v1/features/online', headers: { 'content-type': 'application/json', 'x-request-id': 'req-7', traceparent }, payload: JSON.stringify({ entities: { customer_id: ['c1', 'c2', 'c3'] }, service: 'fraud' }) });
    expect(res.statusCode).toBe(200);
    await tracing!.shutdown();
    tracing = undefined;

    const spans = spansOf(otlp.bodies);
    const job = spans.find((s) => s.name === 'job ingest');
    expect(job).toBeDefined();
    expect(attributes(job!)).toMatchObject({ 'sluice.job': 'ingest', 'sluice.run_id': run!.id, 'sluice.source': 'txns', 'sluice.rows': ingested.accepted, 'sluice.rows_rejected': 1 });
    expect(job!.service).toBe('sluice-test');
    const request = spans.find((s) => s.name === 'POST /v1/features/online');
    expect(request).toBeDefined();
    expect(attributes(request!)).toMatchObject({ 'sluice.request_id': 'req-7', 'sluice.service': 'fraud', 'sluice.entity_count': 3, 'http.response.status_code': 200, 'http.request.method': 'POST' });
    // The request joined its caller's trace.
    expect(request!.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(request!.parentSpanId).toBe('b7ad6b7169203331');
  });

  test('a one-shot CLI command exports its job span before it exits (nothing without OTEL settings); sluice serve logs JSON lines with request ids and traces requests', async () => {
    const otlp = await collector();
    disposals.push(otlp.close);
    const root = mkdtempSync(join(tmpdir(), 'sluice-otel-'));
    disposals.push(async () => rmSync(root, { recursive: true, force: true }));
    expect(sluice(root, 'init', 'proj').code).toBe(0);
    const dir = join(root, 'proj');
    expect(sluice(dir, 'apply').code).toBe(0);
    const csv = join(dir, 'data', 'otel.csv');
    const first = sluice(dir, '--json', 'ingest', 'transactions', '--file', join(dir, 'data', 'transactions.csv'));
    expect(first.code).toBe(0);
    expect(otlp.bodies).toEqual([]);
    writeFileSync(csv, 'txn_id,customer_id,amount,merchant,ts\notel1,c1,1.5,m1,2024-01-01T00:00:00Z\n');
    const bin = join(import.meta.dirname, '..', 'bin', 'sluice.js');
    // Not spawnSync: the collector answers from this process's event loop.
    const child = spawn(process.execPath, [bin, 'ingest', 'transactions', '--file', csv], { cwd: dir, env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
    expect(stderr).toBe('');
    const job = spansOf(otlp.bodies).find((span) => span.name === 'job ingest');
    expect(job).toBeDefined();
    expect(attributes(job!)).toMatchObject({ 'sluice.source': 'transactions', 'sluice.rows': 1 });

    // sluice serve: JSON lines on stderr, each of a request with its requestId, and the request's span.
    const port = await new Promise<number>((resolve) => {
      const probe = createHttpServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const server = await startSluice(dir, ['serve', '--port', String(port)], { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, SLUICE_LOG_LEVEL: 'info' });
    const res = await fetch(`http://127.0.0.1:${port}/v1/features/online`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'cli-req' }, body: JSON.stringify({ entities: { customer_id: ['c1', 'c2'] }, features: ['txn_stats:txn_count_1h'] }) });
    expect(res.headers.get('x-request-id')).toBe('cli-req');
    expect(await server.stop()).toBe(143);
    const lines = server.stderr().split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Line);
    expect(lines.find((l) => l.requestId === 'cli-req')).toMatchObject({ msg: 'request completed', service: 'sluice', res: { statusCode: res.status } });
    const request = spansOf(otlp.bodies).find((span) => span.name === 'POST /v1/features/online');
    expect(attributes(request!)).toMatchObject({ 'sluice.request_id': 'cli-req', 'sluice.service': 'features', 'sluice.entity_count': 2 });
  });
});
