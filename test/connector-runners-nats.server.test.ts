import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { expect, test } from 'vitest';
import { BIN } from './support/cli.js';
import { eventJson, expectExactlyOnce } from './support/crash-check.js';
import { until } from './support/file-sink.js';
import { jetStreamCrashSetup } from './support/jetstream-crash.js';
import { NATS_SERVER_BINARY } from './support/nats-server.js';
import { describeWithServer } from './support/server-suites.js';
import { startSluice, type SluiceProcess } from './support/sluice-process.js';

const EVENTS = 3_000;
const KEYS = 20;
const TTL_MS = 2_000;

/** `sluice status --json` run without blocking the test (it publishes meanwhile): the connector's runners. */
async function runners(dir: string): Promise<{ source: string; activeRunner?: { pid: number } | null; standbys?: { pid: number }[] } | undefined> {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, '--project', dir, '--json', 'status'], { env: { ...process.env, NO_COLOR: '1' } }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  const status = JSON.parse(stdout) as { streams: { source: string; activeRunner?: { pid: number } | null; standbys?: { pid: number }[] }[] };
  return status.streams.find((s) => s.source === 'events');
}

/** The pid of the connector's active runner, or null. */
const activeRunnerPid = async (dir: string): Promise<number | null> => (await runners(dir))?.activeRunner?.pid ?? null;

/** What a running `sluice serve` says of its role for the connector: `GET /v1/streams` and the metric. */
async function serveRunner(child: SluiceProcess): Promise<{ role?: string; holderPid?: number; metric?: string }> {
  const { listening } = JSON.parse(child.stdout()) as { listening: string };
  const streams = await (await fetch(`${listening}/v1/streams`)).json() as { sources: { source: string; runner?: { role: string; holder?: { pid: number } } }[] };
  const runner = streams.sources.find((s) => s.source === 'events')?.runner;
  const metric = /^sluice_connector_runner_active\{source="events"\} (\d)$/m.exec(await (await fetch(`${listening}/metrics`)).text())?.[1];
  return { ...(runner ? { role: runner.role } : {}), ...(runner?.holder ? { holderPid: runner.holder.pid } : {}), ...(metric === undefined ? {} : { metric }) };
}

describeWithServer('one active runner per connector with NATS JetStream', NATS_SERVER_BINARY, (binary) => {
  test(`serve and worker on one JetStream source: one runs the connector, the other stands by; a SIGTERM hands it over, a SIGKILL too; ${EVENTS} events end in the lake exactly once, and no append was ever refused`, async () => {
    const { server, nc, project, dir, accepted, pending } = await jetStreamCrashSetup(binary, EVENTS, KEYS);
    const js = jetstream(nc);
    const publish = async (from: number, to: number) => {
      for (let i = from; i < to; i += 250) await Promise.all(accepted.slice(i, Math.min(to, i + 250)).map((e, j) => js.publish(`events.${(i + j) % 3}`, eventJson(e))));
    };
    const childEnv = { NATS_URL: server.url, SLUICE_CONNECTOR_LEASE_TTL_MS: String(TTL_MS) };
    const ended: SluiceProcess[] = [];
    const serve = () => startSluice(dir, ['serve', '--port', '0', '--no-scheduler'], childEnv);
    const worker = () => startSluice(dir, ['worker', '--no-scheduler'], childEnv);
    let first = await serve();
    let second = await worker();
    try {
      // The worker started second: it stands by for the connector serve runs.
      expect(JSON.parse(second.stdout()) as unknown).toMatchObject({ connectors: { events: 'standby' } });
      await publish(0, 1_000);
      await until('the first 1,000 events acknowledged', async () => (await pending()) === 0, 120_000);
      expect(await runners(dir)).toMatchObject({ activeRunner: { pid: first.pid }, standbys: [{ pid: second.pid }] });
      expect(await serveRunner(first)).toEqual({ role: 'active', holderPid: first.pid, metric: '1' });

      // A clean stop releases the lease: the worker takes over at once (well within the ttl).
      expect(await first.stop()).toBe(143);
      ended.push(first);
      await until('the worker to take the connector over', async () => (await activeRunnerPid(dir)) === second.pid, 60_000);
      first = await serve();
      expect(await serveRunner(first)).toEqual({ role: 'standby', holderPid: second.pid, metric: '0' });
      await publish(1_000, 2_000);
      await until('2,000 events acknowledged', async () => (await pending()) === 0, 120_000);
      expect(await activeRunnerPid(dir)).toBe(second.pid);

      // A SIGKILL: its process is dead on this host, so serve takes over without waiting for the ttl.
      await second.kill();
      ended.push(second);
      await until('serve to take the connector over', async () => (await activeRunnerPid(dir)) === first.pid, 60_000);
      second = await worker();
      await publish(2_000, EVENTS);
      await until('every event acknowledged', async () => (await pending()) === 0, 120_000);
      expect(await activeRunnerPid(dir)).toBe(first.pid);
      expect(await second.stop()).toBe(143);
      expect(await first.stop()).toBe(143);
      ended.push(first, second);
      for (const child of ended) {
        // Never two runners at once: no append refused (a refused append would be logged as "cannot append"), no error logged.
        expect(child.stderr()).not.toContain('cannot append');
        expect(child.stderr()).not.toMatch(/"level":[56]0/);
      }
      await expectExactlyOnce(dir, project, accepted, new Map());
    } finally {
      await first.kill();
      await second.kill();
      await nc.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
