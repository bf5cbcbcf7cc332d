// The JetStream connector's per-message work before the append, this build against the one
// before 5e4802d, in one process, alternating (both copied here from the connector): the
// baseline decodes the payload with a fatal TextDecoder; this build does too, finds the offset
// of the first invalid byte only for a payload that is not UTF-8, and names each message's
// stream sequence for its dead letter.
// `node bench/nats-event-text-ab.js [--rounds 12] [--seconds 1]` (after `npm run build`).
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { TextDecoder, TextEncoder } from 'node:util';
import { loadavg } from 'node:os';
import { firstInvalidUtf8, invalidUtf8Reason } from '../dist/ingest/scan-file.js';
import { cpuTimed } from './cpu-timed.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const rounds = arg('rounds', 12);
const seconds = arg('seconds', 1);
const BATCH = 1_000;
const payloads = Array.from({ length: BATCH }, (_, i) => new TextEncoder().encode(JSON.stringify({ customer_id: `c${i % 97}`, amount: (i * 1.37).toFixed(2), ts: '2026-11-30T21:00:00.000Z', channel: 'card' })));

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');
function baseline() {
  const texts = [];
  for (const data of payloads) {
    try {
      texts.push(strictUtf8.decode(data));
    } catch {
      texts.push(`payload is not valid UTF-8: ${lossyUtf8.decode(data)}`);
    }
  }
  return texts;
}
function eventText(data) {
  try {
    return { text: strictUtf8.decode(data) };
  } catch {
    const offset = firstInvalidUtf8(Buffer.from(data.buffer, data.byteOffset, data.byteLength)) ?? 0;
    return { text: lossyUtf8.decode(data), problem: invalidUtf8Reason(offset, 'publish the message as UTF-8') };
  }
}
function current() {
  const texts = [];
  const at = [];
  const problems = [];
  let seq = 1_000_000;
  for (const data of payloads) {
    const { text, problem } = eventText(data);
    texts.push(text);
    at.push(`stream sequence ${++seq}`);
    problems.push(problem);
  }
  return { texts, at, problems };
}

const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
const load = loadavg()[0].toFixed(1);
const ratios = [];
const perMessage = { baseline: [], current: [] };
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? ['baseline', 'current'] : ['current', 'baseline'];
  const ms = {};
  for (const which of order) ms[which] = await cpuTimed(which === 'baseline' ? baseline : current, seconds);
  ratios.push(ms.current / ms.baseline);
  perMessage.baseline.push((ms.baseline * 1e6) / BATCH);
  perMessage.current.push((ms.current * 1e6) / BATCH);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sorted = [...ratios].sort((a, b) => a - b);
console.log(JSON.stringify({
  commit, rounds, loadStart: load, loadEnd: loadavg()[0].toFixed(1),
  nsPerMessage: { baseline: median(perMessage.baseline).toFixed(0), current: median(perMessage.current).toFixed(0) },
  ratio: { median: median(ratios).toFixed(3), min: sorted[0].toFixed(3), max: sorted.at(-1).toFixed(3) },
}));
