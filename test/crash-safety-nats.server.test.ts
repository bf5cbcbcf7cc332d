import { rmSync } from 'node:fs';
import { jetstream } from '@nats-io/jetstream';
import { expect, test } from 'vitest';
import { eventJson, expectExactlyOnce } from './support/crash-check.js';
import { until } from './support/file-sink.js';
import { jetStreamCrashSetup } from './support/jetstream-crash.js';
import { NATS_SERVER_BINARY } from './support/nats-server.js';
import { describeWithServer } from './support/server-suites.js';
import { startSluice, type SluiceProcess } from './support/sluice-process.js';

// Issue 6 §5 at full size with SLUICE_CRASH_FULL=1: 200k events, 50 kills.
const FULL = process.env.SLUICE_CRASH_FULL === '1';
const EVENTS = FULL ? 200_000 : Number(process.env.SLUICE_CRASH_EVENTS ?? 20_000);
const KILLS = FULL ? 50 : Number(process.env.SLUICE_CRASH_KILLS ?? 10);
const KEYS = 40;
const PUBLISH_CHUNK = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const random = (n: number) => Math.floor(Math.random() * n);

describeWithServer('crash safety with NATS JetStream', NATS_SERVER_BINARY, (binary) => {
  test(`JetStream: ${EVENTS} events, ${KILLS} SIGKILLs of "sluice worker" at random moments: every published event in the lake exactly once, rejected ones dead-lettered once, online == dataset == reference`, async () => {
    const { server, nc, project, dir, start, accepted, pending } = await jetStreamCrashSetup(binary, EVENTS, KEYS);
    const rejected = new Map<string, string>();
    const messages = accepted.map(eventJson);
    for (let r = 0; r < 30; r++) {
      const at = random(messages.length);
      const late = r % 2 === 0;
      messages.splice(at, 0, late ? eventJson({ id: `late${r}`, k: 'k0', v: 1, ts: start - 12 * 3_600_000 }) : JSON.stringify({ id: `bad${r}`, k: 'k0', v: 'x', ts: new Date(start).toISOString() }));
      rejected.set(late ? `late${r}` : `bad${r}`, late ? 'late: ' : 'column "v"');
    }

    const worker = () => startSluice(dir, ['worker'], { NATS_URL: server.url });
    let child: SluiceProcess = await worker();
    let publishing = true;
    const publisher = async () => {
      const js = jetstream(nc);
      for (let i = 0; i < messages.length; i += PUBLISH_CHUNK) await Promise.all(messages.slice(i, i + PUBLISH_CHUNK).map((m, j) => js.publish(`events.${(i + j) % 3}`, m)));
      publishing = false;
    };
    const killedWithPending: number[] = [];
    const killer = async () => {
      // Half of the kills while publishing, the rest while the worker catches up.
      for (let k = 0; k < KILLS; k++) {
        await sleep(200 + random(publishing ? 1_500 : 800));
        await child.kill();
        killedWithPending.push(await pending());
        child = await worker();
      }
    };
    try {
      await Promise.all([publisher(), killer()]);
      await child.kill();
      child = await worker();
      await until('the worker consumed and acknowledged every message', async () => (await pending()) === 0, 300_000);
      console.log(`JetStream crash test: ${messages.length} messages, killed with ${killedWithPending.join(', ')} messages not yet acknowledged`);
      expect(await child.stop()).toBe(143);
      // The worker logs JSON lines: none at error level or above.
      expect(child.stderr()).not.toMatch(/"level":[56]0/);
      await expectExactlyOnce(dir, project, accepted, rejected);
    } finally {
      await child.kill();
      await nc.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, FULL ? 3_600_000 : 600_000);
});
