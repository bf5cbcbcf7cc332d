import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { count, defineProject, entity, featureView, last, streamSource, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { createServer } from '../src/serving/http/server.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { SluiceMetrics } from '../src/observability/metrics.js';
import { ownProcessTag } from '../src/orchestration/process-identity.js';
import { until } from './support/file-sink.js';
import { openPlatform } from '../src/platform.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const HOUR = 3_600_000;
const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({
  name: 'payments',
  schema: { payment_id: 'string', account_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' },
  timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h',
});
const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n_1h: count({ window: '1h' }), usd_24h: sum('amount', { window: '24h' }), total: sum('amount'), last_channel: last('channel') } });
const spec = defineProject({ name: 'p', entities: [account], sources: [payments], featureViews: [stats] });
const FEATURES = ['stats:n_1h', 'stats:usd_24h', 'stats:total', 'stats:last_channel'];

let env: Awaited<ReturnType<typeof tempPlatform>>;
let runtime: StreamRuntime;
beforeEach(async () => {
  env = await tempPlatform(spec, T0 + 10 * HOUR);
  runtime = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 });
});
afterEach(async () => {
  await runtime.close();
  await env.dispose();
});

const event = (id: string, account: string, amount: number | string, minutes: number, channel = 'web') =>
  JSON.stringify({ payment_id: id, account_id: account, amount, channel, ts: new Date(T0 + minutes * 60_000).toISOString() });
const online = async (keys: string[]) => {
  const res = await getOnlineFeatures(env.project, await env.platform.online(), { entities: { account_id: keys }, features: FEATURES }, env.clock.now, await latestSnapshots(env.platform.metadata, env.project));
  return res;
};

describe('streaming: push to online, exactly', () => {
  test('pushed events are online at once, duplicates count once, late and future events are dead-lettered with the reason', async () => {
    const push = (texts: string[]) => runtime.processor.append('payments', { texts }, 'push');
    // ack at T0 + 10h: allowed lateness 1h, max clock skew 5m.
    const first = await push([event('p1', 'a', 10, 550), event('p2', 'a', 5.5, 590, 'pos'), event('p3', 'b', 1, 595)]);
    expect(first).toEqual({ accepted: 3, duplicates: 0, rejected: [] });
    const second = await push([event('p2', 'a', 5.5, 590, 'pos'), event('p4', 'a', 2, 100), event('p5', 'a', 2, 610), '{"payment_id": "p6", "account_id": "a", "amount": "x", "ts": "2024-01-01T09:00:00Z"}', 'not json']);
    // Accepted means new: the duplicate p2 is counted as a duplicate only.
    expect(second.accepted).toBe(0);
    expect(second.duplicates).toBe(1);
    expect(second.rejected.map((r) => [r.index, r.reason.split(/[:(]/)[0]!.trim()])).toEqual([[1, 'late'], [2, 'future'], [3, 'column "amount"'], [4, 'the event is not valid JSON']]);
    const res = await online(['a', 'b', 'zz']);
    expect(res.rows[0]).toEqual({ account_id: 'a', stats__n_1h: 2, stats__usd_24h: 15.5, stats__total: 15.5, stats__last_channel: 'pos' });
    expect(res.rows[1]).toMatchObject({ stats__n_1h: 1, stats__total: 1 });
    expect(res.metadata[2]!.status[0]).toBe('NOT_FOUND');
    // Windows keep expiring after the last event.
    env.clock.now = T0 + 10 * HOUR + 50 * 60_000;
    expect((await online(['a'])).rows[0]).toMatchObject({ stats__n_1h: 1, stats__usd_24h: 15.5 });
  });

  test('a rejected event sent again in a later request is dead-lettered and counted once: its sender is told it is rejected, as a repeat', async () => {
    const metrics = new SluiceMetrics();
    const push = async (texts: string[]) => {
      const outcome = await runtime.processor.append('payments', { texts }, 'push');
      metrics.recordAppend('payments', 'push', outcome);
      return outcome;
    };
    const late = event('r1', 'a', 1, 10);
    const first = await push([late, event('r2', 'a', 1, 590)]);
    expect(first).toEqual({ accepted: 1, duplicates: 0, rejected: [{ index: 0, reason: expect.stringMatching(/^late: /) }] });
    // A retry whose first answer was lost: the same events again, and one more rejected event.
    const retry = await push([event('r2', 'a', 1, 590), late, event('r3', 'a', 1, 20)]);
    expect(retry).toEqual({ accepted: 0, duplicates: 1, rejected: [{ index: 1, reason: expect.stringMatching(/^late: /), repeat: true }, { index: 2, reason: expect.stringMatching(/^late: /) }] });
    const [commit] = await runtime.commitNow();
    expect(commit).toMatchObject({ deadLetters: 2 });
    expect((await env.platform.metadata.listDeadLetters({ source: 'payments' })).map((d) => (JSON.parse(d.raw) as { payment_id: string }).payment_id).sort()).toEqual(['r1', 'r3']);
    const text = await metrics.render();
    const sample = (name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    // One rejection per dead letter; the repeat is counted as a duplicate, as an accepted event sent again is.
    expect(sample('sluice_push_events_total', 'source="payments",origin="push",outcome="rejected"')).toBe(2);
    expect(sample('sluice_push_events_total', 'source="payments",origin="push",outcome="duplicate"')).toBe(2);
    expect(sample('sluice_push_rejected_events_total', 'source="payments",reason="late"')).toBe(2);
  });

  test('committed to the lake with known_at and dead letters; a dataset built later gives the values serving gave', async () => {
    const texts = Array.from({ length: 200 }, (_, i) => event(`p${i}`, `a${i % 7}`, (i * 37) % 101 / 4, 540 + (i % 60)));
    for (let i = 0; i < texts.length; i += 50) await runtime.processor.append('payments', { texts: texts.slice(i, i + 50) }, 'push');
    await runtime.processor.append('payments', { texts: [event('late', 'a1', 1, 10)] }, 'push');
    const [commit] = await runtime.commitNow();
    expect(commit).toMatchObject({ rows: 200, deadLetters: 1 });
    expect((await env.platform.metadata.listDeadLetters({ source: 'payments' }))[0]!.reason).toMatch(/^late: /);
    const served = await online(Array.from({ length: 7 }, (_, i) => `a${i}`));
    expect(served.views.stats!.status).toBe('FRESH');
    const spine = join(env.dir, 'spine.csv');
    writeFileSync(spine, ['account_id,ts', ...Array.from({ length: 7 }, (_, i) => `a${i},${new Date(env.clock.now).toISOString()}`)].join('\n'));
    const out = join(env.dir, 'out.jsonl');
    await buildDataset(env.platform, env.project, { spine, out, features: FEATURES });
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map(({ ts: _ts, ...r }) => r)).toEqual(served.rows);
  });

  test('a dataset built while acknowledged events are only in the log (a server killed before its lake commit) holds them, as online serves them: the build commits them first, once', async () => {
    expect(await runtime.processor.append('payments', { texts: [event('k1', 'a', 5, 590)] }, 'push')).toMatchObject({ accepted: 1 });
    // Another process (the CLI) builds while the server has not committed: the entry is only in the log.
    const cli = openPlatform({ projectDir: env.dir, now: () => env.clock.now, threads: 1, projectSpec: spec });
    try {
      expect(await cli.metadata.latestSnapshot('payments')).toBeUndefined();
      const spine = join(env.dir, 'spine.csv');
      writeFileSync(spine, `account_id,ts\na,${new Date(env.clock.now).toISOString()}\n`);
      const out = join(env.dir, 'out.jsonl');
      const manifest = await buildDataset(cli, env.project, { spine, out, features: FEATURES });
      expect(manifest.snapshots.payments).not.toBeNull();
      const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const { ts: _ts, ...built } = rows[0]!;
      expect(built).toEqual((await online(['a'])).rows[0]);
      expect(built).toMatchObject({ stats__n_1h: 1, stats__total: 5 });
    } finally {
      await cli.close();
    }
    // The server's own commit finds the range committed: the event is in the lake once.
    await runtime.commitNow();
    expect((await env.platform.metadata.latestSnapshot('payments'))!.rowCount).toBe(1);
  });

  test('a stream source takes files too (backfill, never late), into the same history', async () => {
    const file = join(env.dir, 'backfill.csv');
    writeFileSync(file, ['payment_id,account_id,amount,channel,ts', 'b1,a,100,web,2023-12-01T00:00:00Z', `b2,a,1,atm,${new Date(T0 + 9.5 * HOUR).toISOString()}`].join('\n'));
    expect((await ingestFile(env.platform, env.project, 'payments', file)).accepted).toBe(2);
    await runtime.processor.append('payments', { texts: [event('p1', 'a', 10, 580)] }, 'push');
    await runtime.commitNow();
    const { materialize } = await import('../src/processing/materialize.js');
    await materialize(env.platform, env.project);
    await runtime.processor.append('payments', { texts: [event('p2', 'a', 3, 590, 'pos')] }, 'push');
    expect((await online(['a'])).rows[0]).toEqual({ account_id: 'a', stats__n_1h: 3, stats__usd_24h: 14, stats__total: 114, stats__last_channel: 'pos' });
  });

  describe('event ids across push and file ingest: one memory of what the source has seen', () => {
    const file = (name: string, ids: string[]) => {
      const path = join(env.dir, name);
      writeFileSync(path, ['payment_id,account_id,amount,channel,ts', ...ids.map((id) => `${id},a,1,web,${new Date(T0 + 590 * 60_000).toISOString()}`)].join('\n'));
      return path;
    };
    const lakeCount = async (): Promise<Record<string, number>> => {
      const files = (await env.platform.metadata.latestSnapshot('payments'))!.files.map((f) => `'${env.platform.lake.resolve(f)}'`).join(', ');
      const rows = await (await env.platform.engine()).all<{ id: string; n: number }>(`SELECT payment_id AS id, count(*)::INTEGER AS n FROM read_parquet([${files}]) GROUP BY 1 ORDER BY 1`);
      return Object.fromEntries(rows.map((r) => [r.id, r.n]));
    };

    test('an id ingested from a file and then pushed counts once', async () => {
      expect(await ingestFile(env.platform, env.project, 'payments', file('f.csv', ['f1', 'f2']))).toMatchObject({ accepted: 2, duplicates: 0 });
      expect(await runtime.processor.append('payments', { texts: [event('f1', 'a', 1, 590), event('p1', 'a', 1, 590)] }, 'push')).toEqual({ accepted: 1, duplicates: 1, rejected: [] });
      await runtime.commitNow();
      expect(await lakeCount()).toEqual({ f1: 1, f2: 1, p1: 1 });
    });

    test('an id pushed (still only in the log) and then ingested from a file counts once', async () => {
      expect(await runtime.processor.append('payments', { texts: [event('p1', 'a', 1, 590), event('p2', 'a', 1, 590)] }, 'push')).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
      expect(await ingestFile(env.platform, env.project, 'payments', file('g.csv', ['p1', 'g1']))).toMatchObject({ accepted: 1, duplicates: 1 });
      await runtime.commitNow();
      expect(await lakeCount()).toEqual({ g1: 1, p1: 1, p2: 1 });
    });

    test('a file whose commit fails leaves its ids free; a claim a crash left open is settled by the next ingest, by whether its commit landed', async () => {
      const commit = env.platform.metadata.commitIngest.bind(env.platform.metadata);
      env.platform.metadata.commitIngest = () => Promise.reject(new Error('disk full'));
      await expect(ingestFile(env.platform, env.project, 'payments', file('h.csv', ['h1']))).rejects.toThrow('disk full');
      env.platform.metadata.commitIngest = commit;
      expect(await runtime.processor.append('payments', { texts: [event('h1', 'a', 1, 590)] }, 'push')).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
      // A process that stopped after claiming: one claim whose commit landed, one whose did not.
      const log = await env.platform.log();
      expect(await ingestFile(env.platform, env.project, 'payments', file('k.csv', ['k1']))).toMatchObject({ accepted: 1 });
      const landed = (await env.platform.metadata.latestSnapshot('payments'))!.contentHash;
      // Claimed by this process (it runs on): the push leaves them for the next ingest to settle.
      await log.claimIds('payments', landed, ['k2'], env.clock.now, ownProcessTag());
      await log.claimIds('payments', 'never-committed', ['k3'], env.clock.now, ownProcessTag());
      expect(await runtime.processor.append('payments', { texts: [event('k3', 'a', 1, 590)] }, 'push')).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
      expect(await ingestFile(env.platform, env.project, 'payments', file('m.csv', ['m1']))).toMatchObject({ accepted: 1 });
      expect(log.openClaims('payments')).toEqual([]);
      expect(await runtime.processor.append('payments', { texts: [event('k2', 'a', 1, 590), event('k3', 'a', 1, 590)] }, 'push')).toEqual({ accepted: 1, duplicates: 1, rejected: [] });
    });

    test("a claim whose ingest died (its process no longer runs) is released by the next push: the file's ids not in the lake are accepted, a landed file's stay duplicates", async () => {
      const log = await env.platform.log();
      expect(await ingestFile(env.platform, env.project, 'payments', file('q.csv', ['q1']))).toMatchObject({ accepted: 1 });
      const landed = (await env.platform.metadata.latestSnapshot('payments'))!.contentHash;
      const dead = spawnSync(process.execPath, ['-e', '']).pid!;
      await log.claimIds('payments', landed, ['q2'], env.clock.now, String(dead));
      await log.claimIds('payments', 'killed-mid-ingest', ['q3', 'q4'], env.clock.now, String(dead));
      expect(await runtime.processor.append('payments', { texts: [event('q2', 'a', 1, 590), event('q3', 'a', 1, 590)] }, 'push')).toEqual({ accepted: 1, duplicates: 1, rejected: [] });
      expect(log.openClaims('payments')).toEqual([]);
      expect(await runtime.processor.append('payments', { texts: [event('q4', 'a', 1, 590)] }, 'push')).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    });
  });

  test('HTTP push: 200 with outcomes once durable, 404 for an unknown source, 400 for a body that is not {"events": [...]}', async () => {
    const app = await createServer(env.platform, { stream: runtime.processor });
    try {
      const ok = await app.inject({ method: 'POST', url: '/v1/push/payments', payload: `{"events": [${event('h1', 'a', 1, 590)}, {"payment_id": "h2"}]}`, headers: { 'content-type': 'application/json' } });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [{ index: 1, reason: expect.stringContaining('account_id') }] });
      const unknown = await app.inject({ method: 'POST', url: '/v1/push/nope', payload: '{"events": []}', headers: { 'content-type': 'application/json' } });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error.code).toBe('UNKNOWN_SOURCE');
      const bad = await app.inject({ method: 'POST', url: '/v1/push/payments', payload: '{"events": [', headers: { 'content-type': 'application/json' } });
      expect(bad.statusCode).toBe(400);
      // A lone surrogate escape is valid JSON to JavaScript but not a character: DuckDB's reader
      // refuses the body, and the 400 says why instead of "must be a JSON object".
      const surrogate = await app.inject({ method: 'POST', url: '/v1/push/payments', payload: '{"events": [{"payment_id": "s1", "account_id": "a", "amount": 1, "channel": "\\ud800", "ts": "2024-01-01T09:00:00Z"}]}', headers: { 'content-type': 'application/json' } });
      expect(surrogate.statusCode).toBe(400);
      expect(surrogate.json().error.message).toMatch(/lone UTF-16 surrogate/);
      const wrongMethod = await app.inject({ method: 'GET', url: '/v1/push/payments' });
      expect(wrongMethod.statusCode).toBe(405);
      expect(wrongMethod.headers.allow).toBe('POST');
      expect((await online(['a'])).rows[0]!.stats__total).toBe(1);
    } finally {
      await app.close();
    }
  });
});

describe('files are applied to the online state', () => {
  test('an ingested file reaches the online tables of a batch source without materialize; a table that missed a snapshot is left STALE', async () => {
    const { batchSource, compileProject } = await import('../src/definitions/index.js');
    const { applySnapshotOnline } = await import('../src/streaming/apply-snapshot.js');
    const { materialize } = await import('../src/processing/materialize.js');
    const txns = batchSource({ name: 'txns', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
    const view = featureView({ name: 'spend', entity: account, source: txns, features: { n_1h: count({ window: '1h' }), total: sum('amount') } });
    const project = compileProject(defineProject({ name: 'p', entities: [account], sources: [payments, txns], featureViews: [stats, view] }));
    await env.platform.metadata.recordRegistry(project);
    const ingest = async (name: string, rows: string[]) => {
      const file = join(env.dir, name);
      writeFileSync(file, ['account_id,amount,ts', ...rows].join('\n'));
      const result = await ingestFile(env.platform, project, 'txns', file);
      return (await env.platform.metadata.snapshot(result.snapshot))!;
    };
    const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
    await ingest('1.csv', [`a,1,${iso(100)}`]);
    await materialize(env.platform, project, { views: ['spend'] });
    const second = await ingest('2.csv', [`a,2,${iso(570)}`, `a,4,${iso(590)}`, `b,8,${iso(10)}`]);
    expect(await applySnapshotOnline(env.platform, project, project.sources[1]!, second)).toEqual({ applied: ['spend'], skipped: [] });
    const serve = async () => getOnlineFeatures(project, await env.platform.online(), { entities: { account_id: ['a', 'b'] }, features: ['spend:n_1h', 'spend:total'] }, env.clock.now, await latestSnapshots(env.platform.metadata, project));
    const fresh = await serve();
    expect(fresh.rows.map((r) => [r.spend__n_1h, r.spend__total])).toEqual([[2, 7], [0, 8]]);
    expect(fresh.views.spend!.status).toBe('FRESH');
    // A snapshot the table did not take (applied out of order) is not applied over a gap.
    await ingest('3.csv', [`a,16,${iso(595)}`]);
    const fourth = await ingest('4.csv', [`a,32,${iso(596)}`]);
    expect((await applySnapshotOnline(env.platform, project, project.sources[1]!, fourth)).skipped[0]!.reason).toMatch(/reflects snapshot version 2, not 3/);
    const stale = await serve();
    expect(stale.views.spend!.status).toBe('STALE');
    expect(stale.rows[0]!.spend__total).toBe(7);
    // A backfill too large to decode in memory is left to materialize, with the reason.
    await materialize(env.platform, project, { views: ['spend'] });
    const fifth = await ingest('5.csv', [`a,64,${iso(597)}`, `a,128,${iso(598)}`]);
    expect((await applySnapshotOnline(env.platform, project, project.sources[1]!, fifth, 1)).skipped[0]!.reason).toMatch(/adds 2 rows, more than the 1/);
  });
});

describe('back-pressure', () => {
  test('when events wait beyond the bound, push answers 503 with Retry-After instead of queueing without limit; a retry is accepted', async () => {
    const bounded = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000, maxPendingBytes: 400 });
    const app = await createServer(env.platform, { stream: bounded.processor });
    try {
      const send = (i: number) => app.inject({ method: 'POST', url: '/v1/push/payments', payload: `{"events": [${event(`bp${i}`, 'a', 1, 590)}]}`, headers: { 'content-type': 'application/json' } });
      const first = await Promise.all(Array.from({ length: 20 }, (_, i) => send(i)));
      const refused = first.flatMap((r, i) => (r.statusCode === 503 ? [i] : []));
      expect(refused.length).toBeGreaterThan(0);
      expect(first.every((r) => r.statusCode === 200 || r.statusCode === 503)).toBe(true);
      expect(first[refused[0]!]!.headers['retry-after']).toBe('1');
      expect(first[refused[0]!]!.json().error.code).toBe('OVERLOADED');
      for (const i of refused) expect((await send(i)).statusCode).toBe(200);
      expect((await online(['a'])).rows[0]!.stats__n_1h).toBe(20);
    } finally {
      await app.close();
      await bounded.close();
    }
  });
});

describe('push admission', () => {
  test('bodies are admitted by their Content-Length before they are read: those past the bound are refused at once, unread, with Retry-After', async () => {
    const MiB = 1024 * 1024;
    const bounded = await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000, maxPendingBytes: 10 * MiB });
    const app = await createServer(env.platform, { stream: bounded.processor });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as { port: number };
      // 8 MiB bodies: one event, then spaces (JSON whitespace).
      const body = (id: string) => { const head = `{"events": [${event(id, 'a', 1, 590)}]`; return head + ' '.repeat(8 * MiB - head.length - 1) + '}'; };
      const open = (id: string) => {
        const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/push/payments', headers: { 'content-type': 'application/json', 'content-length': String(8 * MiB) } });
        const answer = new Promise<{ status: number; retryAfter?: string; text: string }>((resolve, reject) => {
          request.on('response', (res) => { let text = ''; res.on('data', (c: Buffer) => (text += c.toString())); res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, text })); });
          request.on('error', reject);
        });
        request.flushHeaders();
        return { request, answer, id };
      };
      const first = open('big0');
      // Give the server the first request's headers before the others arrive.
      const held = () => { try { bounded.processor.reserve('payments', 8 * MiB).release(); return false; } catch { return true; } };
      await until('the first body is reserved', held);
      const others = Array.from({ length: 6 }, (_, i) => open(`big${i + 1}`));
      // Their bodies are never sent: each is answered anyway, refused before its body was read.
      const refused = await Promise.all(others.map((o) => o.answer));
      for (const o of others) o.request.destroy();
      expect(refused.map((r) => r.status)).toEqual(Array(6).fill(503));
      expect(refused[0]!.retryAfter).toBe('1');
      expect(JSON.parse(refused[0]!.text).error.message).toMatch(/has 0 bytes of events waiting and 8388608 bytes being received in 1 body, and 8388608 more would pass its bound of 10485760 bytes/);
      first.request.end(body('big0'));
      expect((await first.answer).status).toBe(200);
      // Once it is in, the room is free again.
      expect(bounded.processor.pendingBytes('payments')).toBe(0);
      const again = open('big7');
      again.request.end(body('big7'));
      expect((await again.answer).status).toBe(200);
    } finally {
      await app.close();
      await bounded.close();
    }
  });
});

describe('stream keys', () => {
  test('int64 join keys beyond 2^53 and composite keys find their entities on the incremental path, as on every other', async () => {
    const { compileProject } = await import('../src/definitions/index.js');
    const user = entity({ name: 'user', joinKey: 'user_id' });
    const pair = entity({ name: 'pair', joinKeys: ['user_id', 'merchant'] });
    const clicks = streamSource({ name: 'clicks', schema: { user_id: 'int64', merchant: 'string', ts: 'timestamp' }, timestamp: 'ts' });
    const byUser = featureView({ name: 'by_user', entity: user, source: clicks, features: { n: count() } });
    const byPair = featureView({ name: 'by_pair', entity: pair, source: clicks, features: { n: count() } });
    const project = compileProject(defineProject({ name: 'p', entities: [user, pair], sources: [clicks], featureViews: [byUser, byPair] }));
    await env.platform.metadata.recordRegistry(project);
    const rt = await startStreamRuntime(env.platform, { project: () => project, commitIntervalMs: 3_600_000 });
    try {
      const ts = new Date(T0 + 9 * HOUR).toISOString();
      await rt.processor.append('clicks', { texts: [
        `{"user_id": 9007199254740993, "merchant": "a:b", "ts": "${ts}"}`,
        `{"user_id": "007", "merchant": "a", "ts": "${ts}"}`,
        `{"user_id": 7, "merchant": "a", "ts": "${ts}"}`,
        `{"user_id": -7, "merchant": "é", "ts": "${ts}"}`,
      ] }, 'push');
      const store = await env.platform.online();
      const latest = await latestSnapshots(env.platform.metadata, project);
      const users = await getOnlineFeatures(project, store, { entities: { user_id: ['9007199254740993', 7, -7, '9007199254740992'] }, features: ['by_user:n'] }, env.clock.now, latest);
      expect(users.rows.map((r) => r.by_user__n)).toEqual([1, 2, 1, 0]);
      const pairs = await getOnlineFeatures(project, store, { entities: { user_id: ['9007199254740993', 7, -7], merchant: ['a:b', 'a', 'é'] }, features: ['by_pair:n'] }, env.clock.now, latest);
      expect(pairs.rows.map((r) => r.by_pair__n)).toEqual([1, 2, 1]);
    } finally {
      await rt.close();
    }
  });
});
