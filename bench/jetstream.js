// `node bench/jetstream.js [--events N] [--rounds R] [--out FILE]`: JetStream consumption rate
// (issue 6 §7). Starts a throwaway `nats-server -js` (the Debian package; NATS_SERVER_BIN to
// choose another binary) on a free loopback port, publishes N small JSON payment events (default
// 200k, event times in the last 10 minutes) to a stream, then reads the whole stream R times each
// (default 5, alternating) with
//   (a) the floor: a bare durable pull consumer that acknowledges each message, no Sluice (the
//       better of `consume` and `fetch`);
//   (b) Sluice's NATS JetStream connector handing the events to an in-memory sink (the
//       connector's own cost);
//   (c) the real path: the connector appending through the stream processor of
//       `startStreamRuntime` (validation, the durable log, the online state of a view of
//       windowed aggregations, `bench/stream-project.js`), in a fresh project each round; a
//       message is acknowledged once its events are durable and applied online;
// and reports events/s of each (best round), the ratios b/a and c/a of the bests and the median
// of each round's ratio, with the git commit measured. Needs `npm run build` first (it runs the
// built dist/).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { loadProject } from '../dist/config/load-project.js';
import { startNatsJetStream } from '../dist/ingest/connectors/nats/index.js';
import { freePort } from './free-port.js';
import { openPlatform } from '../dist/platform.js';
import { startStreamRuntime } from '../dist/streaming/stream-runtime.js';
import { STREAM_CONFIG } from './stream-project.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const events = Number(opt('events', 200_000));
const rounds = Number(opt('rounds', 5));
const log = (line) => process.stderr.write(`${line}\n`);

/** (b) Where the connector's events go: counts them and keeps the position in memory. */
function memorySink(onAppended) {
  let position;
  return {
    position: async () => position,
    append: async (texts, at) => {
      position = at;
      onAppended(texts.length);
      return { accepted: texts.length, duplicates: 0, rejected: [] };
    },
  };
}

function natsServerBinary() {
  const candidates = [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server'].filter(Boolean);
  const found = candidates.find((path) => existsSync(path));
  if (found) return found;
  try {
    return execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('nats-server not found: apt-get install nats-server, or set NATS_SERVER_BIN');
  }
}

async function startServer(store) {
  const port = await freePort();
  const child = spawn(natsServerBinary(), ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  await new Promise((ready, fail) => {
    child.stderr.on('data', (chunk) => {
      if (output.length < 1 << 16) output += chunk.toString();
      if (output.includes('Server is ready')) ready();
    });
    child.once('exit', (code) => fail(new Error(`nats-server exited (${code}):\n${output}`)));
  });
  return { url: `nats://127.0.0.1:${port}`, child };
}

async function publish(nc) {
  const js = jetstream(nc);
  const window = [];
  const started = performance.now();
  // Event times within the source's allowed lateness (1h) of every round's acknowledgements.
  const newest = Date.now();
  for (let i = 0; i < events; i++) {
    const payload = JSON.stringify({ payment_id: `p${String(i).padStart(9, '0')}`, account_id: `a${(i * 2_654_435_761) % 100_000}`, amount: (i % 977) / 4, channel: ['card', 'web', 'pos', 'wire'][i & 3], ts: new Date(newest - (i % 600_000)).toISOString() });
    window.push(js.publish(`bench.${i % 8}`, payload));
    if (window.length >= 2000) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  return events / ((performance.now() - started) / 1000);
}

/**
 * (a) The floor: a bare durable pull consumer reading the stream and acknowledging every message,
 * the better of two ways: `consume` (continuous pulls, each message acknowledged as it is read)
 * and `fetch` (a batch of up to 1,000, then its acknowledgements).
 */
async function bareConsumer(url, durable, way) {
  const started = performance.now();
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add('BENCH', { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: 'bench.>', max_ack_pending: 10_000 });
  const consumer = await jetstream(nc).consumers.get('BENCH', durable);
  let read = 0;
  let bytes = 0;
  if (way === 'consume') {
    for await (const m of await consumer.consume({ max_messages: 1000 })) {
      bytes += m.data.length;
      m.ack();
      if (++read === events) break;
    }
  } else {
    while (read < events) {
      const batch = [];
      for await (const m of await consumer.fetch({ max_messages: 1000, expires: 1000 })) batch.push(m);
      for (const m of batch) {
        bytes += m.data.length;
        m.ack();
      }
      read += batch.length;
    }
  }
  await nc.flush();
  const seconds = (performance.now() - started) / 1000;
  await nc.close();
  if (bytes === 0) throw new Error('no payload read');
  return events / seconds;
}

/** A fresh project of the stream bench project, its stream runtime, and a sink into its stream processor. */
async function realPath(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sluice.config.ts'), STREAM_CONFIG);
  const platform = openPlatform({ projectDir: dir });
  const project = await loadProject(dir);
  await platform.metadata.recordRegistry(project);
  // No lake commit while measuring: the timer would only add work that is not on the way in.
  const runtime = await startStreamRuntime(platform, { project: () => project, commitIntervalMs: 3_600_000 });
  const eventLog = await platform.log();
  return {
    sink: (onAppended) => ({
      position: async () => eventLog.position('payments', 'natsJetStream'),
      append: async (texts, at) => {
        const outcome = await runtime.processor.append('payments', { texts }, 'natsJetStream', at);
        if (outcome.accepted !== texts.length) throw new Error(`a batch was not accepted whole: ${JSON.stringify(outcome).slice(0, 500)}`);
        onAppended(texts.length);
        return outcome;
      },
    }),
    async close() {
      await runtime.close();
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** (b) and (c): Sluice's connector into `sink`. */
async function connector(url, durable, sink = memorySink) {
  const started = performance.now();
  let appended = 0;
  let appends = 0;
  let finished;
  const done = new Promise((resolveDone) => (finished = resolveDone));
  const source = {
    name: 'bench', kind: 'stream', schema: { payment_id: 'string' }, timestamp: 'ts', hash: 'bench',
    connector: { kind: 'natsJetStream', servers: url, stream: 'BENCH', subject: 'bench.>', durable },
  };
  const running = await startNatsJetStream(source, sink((n) => {
    appended += n;
    appends++;
    if (appended >= events) finished();
  }), { log: (m) => (m.includes('retrying') ? log(m) : undefined) });
  await done;
  const seconds = (performance.now() - started) / 1000;
  await running.stop();
  return { rate: events / seconds, meanBatch: Math.round(appended / appends) };
}

async function main() {
  const store = mkdtempSync(join(tmpdir(), 'sluice-bench-nats-'));
  const server = await startServer(store);
  try {
    const nc = await connect({ servers: server.url });
    await (await jetstreamManager(nc)).streams.add({ name: 'BENCH', subjects: ['bench.>'] });
    log(`publishing ${events} events...`);
    const publishRate = await publish(nc);
    await nc.close();
    const bare = { consume: [], fetch: [] };
    const sluice = [];
    const real = [];
    for (let round = 0; round < rounds; round++) {
      for (const way of ['consume', 'fetch']) bare[way].push(await bareConsumer(server.url, `bare_${way}_${round}`, way));
      sluice.push(await connector(server.url, `sluice_${round}`));
      const path = await realPath(join(here, '.work', 'jetstream'));
      try {
        real.push(await connector(server.url, `real_${round}`, path.sink));
      } finally {
        await path.close();
      }
      log(`round ${round + 1}: bare consume ${Math.round(bare.consume[round])}, bare fetch ${Math.round(bare.fetch[round])}, connector ${Math.round(sluice[round].rate)} (mean batch ${sluice[round].meanBatch}), real path ${Math.round(real[round].rate)} events/s (mean batch ${real[round].meanBatch})`);
    }
    const bestBare = Math.max(...bare.consume, ...bare.fetch);
    const bestSluice = Math.max(...sluice.map((s) => s.rate));
    const bestReal = Math.max(...real.map((s) => s.rate));
    // The machine is shared: each round's ratio to its own floor, then the median, resists load drift.
    const medianRatio = (runs) => {
      const ratios = runs.map((s, round) => s.rate / Math.max(bare.consume[round], bare.fetch[round])).sort((x, y) => x - y);
      return ratios[Math.floor(ratios.length / 2)];
    };
    const medianRoundRatio = medianRatio(sluice);
    const git = (...a) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--untracked-files=no', '--', ':(top)', ':(top,exclude)bench/results') !== '';
    const report = {
      commit: dirty ? `${git('rev-parse', 'HEAD')}+dirty` : git('rev-parse', 'HEAD'),
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      natsServer: execFileSync(natsServerBinary(), ['--version'], { encoding: 'utf8' }).trim(),
      events, rounds, sink: 'memory (connector) and the stream processor (real path)',
      loadAverage: loadavg()[0],
      publishPerSecond: Math.round(publishRate),
      bareConsumerPerSecond: Math.round(bestBare),
      connectorPerSecond: Math.round(bestSluice),
      ratio: Number((bestSluice / bestBare).toFixed(3)),
      medianRoundRatio: Number(medianRoundRatio.toFixed(3)),
      realPathPerSecond: Math.round(bestReal),
      realPathRatio: Number((bestReal / bestBare).toFixed(3)),
      realPathMedianRoundRatio: Number(medianRatio(real).toFixed(3)),
      roundsPerSecond: { bareConsume: bare.consume.map(Math.round), bareFetch: bare.fetch.map(Math.round), connector: sluice.map((s) => Math.round(s.rate)), realPath: real.map((s) => Math.round(s.rate)) },
      connectorMeanBatch: sluice.map((s) => s.meanBatch),
      realPathMeanBatch: real.map((s) => s.meanBatch),
    };
    const out = opt('out', undefined);
    if (out !== undefined) writeFileSync(resolve(out), `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((done) => server.child.once('exit', done));
    rmSync(store, { recursive: true, force: true });
  }
}

await main();
