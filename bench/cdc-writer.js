// The steady writer of bench/cdc.js, in a worker thread so that its timing does not wait for the
// bench's event loop: single-row update transactions at a fixed rate (over 8 connections), each posting
// { key, version, committedAt } when its COMMIT returned (every `sampleEvery`-th), then
// { done, written, seconds, late }. `committedAt` is epoch milliseconds (fractional).
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';

const { url, rate, seconds, rows, baseVersion, sampleEvery } = workerData;
const now = () => performance.timeOrigin + performance.now();
// A connection runs one query at a time: a few of them, so that a round trip slowed by a busy
// machine does not cap the rate. A write waits for a free one (and shows as late).
const free = await Promise.all(Array.from({ length: 8 }, async () => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}));
const clients = [...free];
const total = Math.round(rate * seconds);
const started = now();
const inFlight = new Set();
let late = 0;
for (let i = 0; i < total; i++) {
  const due = started + (i * 1000) / rate;
  const wait = due - now();
  if (wait > 1) await sleep(wait);
  else if (wait < -50) late++;
  // Spread over the table; a later version of a key is always higher than any before it.
  const key = ((i * 7919) % rows) + 1;
  const version = baseVersion + i;
  const sampled = i % sampleEvery === 0;
  // One statement outside BEGIN is one transaction: the query resolves when its COMMIT returned.
  while (free.length === 0) await Promise.race(inFlight);
  const client = free.pop();
  const write = client.query('UPDATE accounts SET version = $1, credit_limit = $2 WHERE account_id = $3', [version, i % 1000, key]).then(() => {
    if (sampled) parentPort.postMessage({ key, version, committedAt: now() });
  });
  inFlight.add(write);
  write.finally(() => {
    inFlight.delete(write);
    free.push(client);
  });
}
await Promise.all(inFlight);
const took = (now() - started) / 1000;
await Promise.all(clients.map((c) => c.end()));
parentPort.postMessage({ done: true, written: total, seconds: took, late });
