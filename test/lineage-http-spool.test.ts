import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { httpTransport, runEvent, type RunEvent } from '../src/observability/lineage/index.js';
import { ownProcessTag, processStart } from '../src/orchestration/process-identity.js';

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A Marquez stand-in: records each POSTed event; answers 503 to the first `failFirst` requests. */
function lineageServer(port: number, failFirst = 0) {
  const received: { event: RunEvent; auth: string | undefined; path: string }[] = [];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (requests++ < failFirst) {
        res.writeHead(503).end();
        return;
      }
      received.push({ event: JSON.parse(body) as RunEvent, auth: req.headers.authorization, path: req.url ?? '' });
      res.writeHead(201).end();
    });
  });
  return { received, listen: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r())), close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function until(condition: () => boolean, what: string) {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 20_000) throw new Error(`gave up waiting for ${what}`);
    await sleep(20);
  }
}

const event = (i: number): RunEvent => runEvent({ eventType: 'START', runId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, job: 'ingest', params: {}, at: Date.UTC(2024, 0, 1) + i }, 'test');

describe('HTTP transport with a local spool', () => {
  test('endpoint refusing connections for a while, then up (first answering 503): every event arrives, once, in order, across a process restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-spool-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const spoolDir = join(dir, '.sluice', 'lineage-spool');
    const errors: string[] = [];
    const options = { url: `http://127.0.0.1:${port}/`, endpoint: '/api/v1/lineage', apiKey: 'secret', spoolDir, backoffMs: 10, maxBackoffMs: 50, onError: (e: Error) => errors.push(e.message) };

    // A first process emits while nothing listens, and exits: its events stay in the spool.
    const first = httpTransport(options);
    for (let i = 0; i < 10; i++) first.send(event(i));
    await until(() => errors.length > 0, 'a failed delivery');
    await first.close();
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.json'))).toHaveLength(10);
    expect(errors[0]).toMatch(/unreachable.*kept in/);

    // The next process emits more while the endpoint is still down, then the endpoint comes up.
    const second = httpTransport(options);
    cleanup.push(() => second.close());
    for (let i = 10; i < 15; i++) second.send(event(i));
    const server = lineageServer(port, 2);
    cleanup.push(server.close);
    await server.listen();
    await until(() => server.received.length >= 15, 'all events');
    await second.close();

    expect(server.received.map((r) => r.event.run.runId)).toEqual(Array.from({ length: 15 }, (_, i) => event(i).run.runId));
    expect(server.received.every((r) => r.auth === 'Bearer secret' && r.path === '/api/v1/lineage')).toBe(true);
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  test('an event the endpoint rejects (400) is set aside in rejected/, and the ones after it still arrive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-spool-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const received: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const e = JSON.parse(body) as RunEvent;
        if (e.run.runId.endsWith('1')) res.writeHead(400).end();
        else res.writeHead(200).end(void received.push(e.run.runId));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const spoolDir = join(dir, 'spool');
    const errors: string[] = [];
    const transport = httpTransport({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, endpoint: 'api/v1/lineage', spoolDir, backoffMs: 10, onError: (e) => errors.push(e.message) });
    for (let i = 0; i < 3; i++) transport.send(event(i));
    await until(() => received.length >= 2, 'the accepted events');
    await transport.close();
    expect(received).toEqual([event(0).run.runId, event(2).run.runId]);
    expect(readdirSync(join(spoolDir, 'rejected'))).toHaveLength(1);
    expect(errors.join('\n')).toMatch(/rejected event .* \(HTTP 400\)/);
  });

  test.runIf(processStart(process.pid) !== undefined)('the delivery lock names its holder by pid and start: a live holder is waited for, a holder whose pid another process now has is taken over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-spool-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const http = createServer();
    cleanup.push(() => new Promise<void>((r) => http.close(() => r())));
    const received: string[] = [];
    let lockDuringDelivery: string | undefined;
    const spoolDir = join(dir, 'spool');
    http.on('request', (req, res) => {
      lockDuringDelivery ??= readFileSync(join(spoolDir, 'deliver.lock'), 'utf8');
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.writeHead(201).end(void received.push((JSON.parse(body) as RunEvent).run.runId)));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    cleanup.push(() => void child.kill('SIGKILL'));
    await new Promise((r) => child.once('spawn', r));
    const ticks = Number(processStart(child.pid!)!.split(':')[1]);
    mkdirSync(spoolDir, { recursive: true });
    // The lock of a live holder (the child, as it recorded itself): events wait in the spool.
    writeFileSync(join(spoolDir, 'deliver.lock'), `${child.pid}.${ticks}`);
    const options = { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, endpoint: 'api/v1/lineage', spoolDir, backoffMs: 10, maxBackoffMs: 20, onError: () => undefined };
    const transport = httpTransport(options);
    cleanup.push(() => transport.close());
    transport.send(event(0));
    await sleep(200);
    expect(received).toEqual([]);
    // The same pid with another start: the holder died and its pid went to another process.
    writeFileSync(join(spoolDir, 'deliver.lock'), `${child.pid}.${ticks + 1}`);
    await until(() => received.length >= 1, 'the event once the dead holder\'s lock is taken over');
    expect(lockDuringDelivery?.trim()).toBe(ownProcessTag());
    // The spooled file and the lock go once the 2xx is read, after the server counted the event: wait for them, not a fixed time.
    await until(() => readdirSync(spoolDir).filter((f) => f.endsWith('.json') || f === 'deliver.lock').length === 0, 'the delivered event\'s file and the lock to be removed');
  });

  test.runIf(processStart(process.pid) !== undefined)('a delivery lock held by a process of another pid namespace is not waited on silently: one warning names the lock file, its holder and the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-spool-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const spoolDir = join(dir, 'spool');
    mkdirSync(spoolDir, { recursive: true });
    const [pid, ticks, , boot] = ownProcessTag().split('.');
    writeFileSync(join(spoolDir, 'deliver.lock'), `${pid}.${ticks}.1.${boot}`);
    const errors: string[] = [];
    // Nothing listens on port 9: delivery would fail, but the lock is never taken.
    const transport = httpTransport({ url: 'http://127.0.0.1:9', endpoint: 'api/v1/lineage', spoolDir, backoffMs: 10, maxBackoffMs: 20, onError: (e) => errors.push(e.message) });
    cleanup.push(() => transport.close());
    for (let i = 0; i < 3; i++) transport.send(event(i));
    await until(() => errors.length >= 1, 'the warning about the held lock');
    await sleep(200);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/not delivered while deliver\.lock is held by process \d+ of another pid namespace \(1\).*if no such process runs there, remove .*deliver\.lock/);
  });
});
