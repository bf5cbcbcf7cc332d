// Do two builds of `sluice serve` answer the same bytes? Both serve the same store with their clock
// frozen at one instant (so `asOf` and the ages agree), and get the same requests: 1 and 100
// entities, unknown keys, a feature list, both answer formats, and a few refused requests. Status,
// content type and body are compared byte for byte; exits 1 on the first difference.
//   node bench/serving-same-answers.js --a CHECKOUT_A --b CHECKOUT_B [--dir DATA (bench/.work)] [--requests 200] [--port 6931]
// A checkout is a directory with `bin/sluice.js` and a built `dist/`.
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { abCheckouts, option, startChild } from './serving.js';

const { checkouts, dir } = abCheckouts();
const count = Number(option('requests', 200));
const port = Number(option('port', 6931));
const now = Date.now();
const frozen = `data:text/javascript,Date.now=()=>${now};`;

let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const key = () => (random() < 0.05 ? `unknown_${Math.floor(random() * 1e6)}` : `c${String(Math.floor(random() * 100_000)).padStart(7, '0')}`);
const keys = (n) => Array.from({ length: n }, key);
const requests = [];
for (let i = 0; i < count; i++) requests.push({ service: 'all', entities: { customer_id: keys(1) } });
for (let i = 0; i < count / 10; i++) requests.push({ service: 'all', entities: { customer_id: keys(100) } });
for (let i = 0; i < count / 20; i++) requests.push({ service: 'all', entities: { customer_id: [...keys(100), 'no_such_customer'] } });
for (let i = 0; i < count / 20; i++) requests.push({ features: ['txn:sum_7d', 'txn:last_merchant', 'profile:segment', 'profile:updated_at'], entities: { customer_id: keys(i % 2 === 0 ? 1 : 300) } });
requests.push({ service: 'all', entities: { customer_id: keys(1000) } });
requests.push({ service: 'all', entities: {} }, { service: 'nope', entities: { customer_id: ['c0000001'] } }, { service: 'all', entities: { customer_id: [{}] } });

const servers = {};
try {
  for (const [i, name] of ['A', 'B'].entries()) {
    servers[name] = await startChild(['--import', frozen, join(checkouts[name], 'bin', 'sluice.js'), 'serve', '--project', dir, '--port', String(port + i), '--log-level', 'warn'], 'serving on');
  }
  const ask = async (name, body, query) => {
    const response = await globalThis.fetch(`http://127.0.0.1:${port + (name === 'A' ? 0 : 1)}/v1/features/online${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, type: response.headers.get('content-type'), body: Buffer.from(await response.arrayBuffer()) };
  };
  let answers = 0;
  let bytes = 0;
  for (const body of requests) {
    for (const query of ['', '?format=columnar']) {
      const [a, b] = [await ask('A', body, query), await ask('B', body, query)];
      if (a.status !== b.status || a.type !== b.type || !a.body.equals(b.body)) {
        console.error(`different answers to ${JSON.stringify(body).slice(0, 200)}${query}:\nA ${a.status} ${a.type} ${a.body.toString().slice(0, 300)}\nB ${b.status} ${b.type} ${b.body.toString().slice(0, 300)}`);
        process.exitCode = 1;
        throw new Error('answers differ');
      }
      answers++;
      bytes += a.body.length;
    }
  }
  console.log(JSON.stringify({ same: true, requests: requests.length, answers, bytes, now: new Date(now).toISOString() }));
} finally {
  for (const server of Object.values(servers)) server.kill('SIGTERM');
}
