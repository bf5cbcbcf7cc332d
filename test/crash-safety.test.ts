import { rmSync } from 'node:fs';
import { expect, test } from 'vitest';
import { crashProject, crashProjectDir, eventJson, expectExactlyOnce, type CrashEvent } from './support/crash-check.js';
import { freePort } from './support/nats-server.js';
import { startSluice, type SluiceProcess } from './support/sluice-process.js';

// Issue 6 §5 at full size with SLUICE_CRASH_FULL=1: 200k events, 50 kills.
const FULL = process.env.SLUICE_CRASH_FULL === '1';
const EVENTS = FULL ? 200_000 : Number(process.env.SLUICE_CRASH_EVENTS ?? 20_000);
const KILLS = FULL ? 50 : Number(process.env.SLUICE_CRASH_KILLS ?? 50);
const BATCH = 250;
const PUSHERS = 3;
const KEYS = 40;
/** A live server that does not answer a push in this time is stuck. */
const ANSWER_MS = 60_000;

interface Batch {
  readonly body: string;
  readonly valid: number;
  readonly invalid: readonly number[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const random = (n: number) => Math.floor(Math.random() * n);

test(`push: ${EVENTS} events, ${KILLS} SIGKILLs of "sluice serve" at random moments: every acknowledged event in the lake exactly once, rejected ones dead-lettered once, online == dataset == reference`, async () => {
  const project = crashProject();
  const dir = await crashProjectDir(project);
  const start = Date.now();
  // Event times near now, each unique (so "last" has one answer), up to 10 minutes old.
  const accepted: CrashEvent[] = Array.from({ length: EVENTS }, (_, i) => ({ id: `e${i}`, k: `k${i % KEYS}`, v: (i % 17) / 4, ts: start - 600_000 + Math.floor((i * 600_000) / EVENTS) }));
  const rejected = new Map<string, string>();
  const batches: Batch[] = [];
  for (let i = 0; i < EVENTS; i += BATCH) {
    const texts = accepted.slice(i, i + BATCH).map(eventJson);
    const invalid: number[] = [];
    if ((i / BATCH) % 3 === 1) {
      // A late, a future and a malformed event, at random places in the batch.
      const b = i / BATCH;
      for (const [id, text, reason] of [
        [`late${b}`, eventJson({ id: `late${b}`, k: 'k0', v: 1, ts: start - 12 * 3_600_000 }), 'late: '],
        [`future${b}`, eventJson({ id: `future${b}`, k: 'k0', v: 1, ts: start + 3_600_000 }), 'future: '],
        [`bad${b}`, JSON.stringify({ id: `bad${b}`, k: 'k0', v: 'not a number', ts: new Date(start).toISOString() }), 'column "v"'],
      ] as const) {
        texts.splice(random(texts.length + 1), 0, text);
        rejected.set(id, reason);
      }
      texts.forEach((t, index) => /"(late|future|bad)\d+"/.test(t) && invalid.push(index));
    }
    batches.push({ body: `{"events": [${texts.join(',')}]}`, valid: texts.length - invalid.length, invalid });
  }

  const port = await freePort();
  const serve = () => startSluice(dir, ['serve', '--port', String(port), '--log-level', 'warn']);
  let child: SluiceProcess = await serve();
  let up: Promise<unknown> = Promise.resolve();
  let acked = 0;
  let duplicates = 0;
  const failures: string[] = [];
  let next = 0;
  const pusher = async () => {
    for (let b = next++; b < batches.length; b = next++) {
      const batch = batches[b]!;
      for (;;) {
        await up;
        let response: Response;
        try {
          response = await fetch(`http://127.0.0.1:${port}/v1/push/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batch.body, signal: AbortSignal.timeout(ANSWER_MS) });
        } catch (error) {
          if ((error as Error).name === 'TimeoutError') {
            // What the server says it is doing (the oldest group's stage), if it still answers at all.
            const streams = await fetch(`http://127.0.0.1:${port}/v1/streams`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.text(), (e: unknown) => `no answer: ${String(e)}`);
            failures.push(`batch ${b}: no answer in ${ANSWER_MS} ms from a live server (stuck); GET /v1/streams: ${streams}; its stderr ends:\n${child.stderr().slice(-2_000)}`);
            acked++;
            break;
          }
          // No answer (the server died): the same batch again, with the same event ids.
          await sleep(10);
          continue;
        }
        const answer = (await response.json().catch(() => ({}))) as { accepted: number; duplicates: number; rejected: Array<{ index: number }> };
        if (response.status === 503) {
          await sleep(100);
          continue;
        }
        if (response.status !== 200) failures.push(`batch ${b}: HTTP ${response.status} ${JSON.stringify(answer)}`);
        else if (answer.accepted + answer.duplicates !== batch.valid || JSON.stringify(answer.rejected.map((r) => r.index)) !== JSON.stringify(batch.invalid)) {
          failures.push(`batch ${b}: answered ${JSON.stringify({ ...answer, rejected: answer.rejected.map((r) => r.index) })} for ${batch.valid} valid events and invalid ${JSON.stringify(batch.invalid)}`);
        }
        acked++;
        duplicates += answer.duplicates ?? 0;
        break;
      }
    }
  };
  const killPoints = Array.from({ length: KILLS }, () => random(batches.length)).sort((a, b) => a - b);
  const killer = async () => {
    for (const point of killPoints) {
      while (acked < point) await sleep(5);
      // Some kills right after a batch, some after the server lived long enough to commit to the lake (every second).
      await sleep(random(2) === 0 ? random(60) : random(2_500));
      let restarted!: () => void;
      up = new Promise<void>((resolve) => (restarted = resolve));
      await child.kill();
      child = await serve();
      restarted();
    }
  };
  try {
    await Promise.all([killer(), ...Array.from({ length: PUSHERS }, pusher)]);
    expect(failures).toEqual([]);
    console.log(`push crash test: ${EVENTS} events in ${batches.length} batches, ${KILLS} kills, ${duplicates} events answered as duplicates of an unanswered attempt`);
    // One more hard kill, then a clean start and stop (its shutdown commits the log to the lake).
    await child.kill();
    child = await serve();
    expect(await child.stop()).toBe(143);
    expect(child.stderr()).toBe('');
    await expectExactlyOnce(dir, project, accepted, rejected);
  } finally {
    await child.kill();
    if (process.env.SLUICE_CRASH_KEEP === '1') console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}, FULL ? 3_600_000 : 600_000);
