// `node bench/online-put-batch.js [--keys 100000] [--sizes 850,1000,5000,20000] [--rounds 6]`:
// CPU per put of the online store's write path against the number of puts per LMDB transaction
// (issue 6 §7): `--keys` entities of 220-byte states under one generation, then write
// transactions of N random puts (`noSync`, as `sluice serve` opens the store), sizes interleaved
// round by round. Reports CPU µs per put (user + system of this process, all threads) per size.
import { Buffer } from 'node:buffer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const keys = Number(opt('keys', 100_000));
const sizes = opt('sizes', '850,1000,5000,20000').split(',').map(Number);
const rounds = Number(opt('rounds', 6));
const putsPerSample = Number(opt('puts', 100_000));

const dir = mkdtempSync(join(tmpdir(), 'sluice-put-batch-'));
const db = open({ path: dir, mapSize: 64 * 1024 ** 3, compression: false, noSync: true });
const value = (i) => {
  const b = Buffer.alloc(220);
  b.writeUInt32LE(i, 0);
  return b;
};
await db.transaction(() => {
  for (let i = 0; i < keys; i++) db.put([7, `a${i}`], value(i));
});
let seed = 12345;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff) / 0x80000000);
const results = new Map(sizes.map((s) => [s, []]));
for (let round = 0; round < rounds; round++) {
  for (const size of sizes) {
    const transactions = Math.max(1, Math.round(putsPerSample / size));
    const batches = Array.from({ length: transactions }, () => Array.from({ length: size }, () => Math.floor(random() * keys)));
    const values = batches.map((b) => b.map(value));
    const before = process.cpuUsage();
    const started = performance.now();
    for (let t = 0; t < transactions; t++) {
      await db.transaction(() => {
        const batch = batches[t];
        const vs = values[t];
        for (let i = 0; i < batch.length; i++) db.put([7, `a${batch[i]}`], vs[i]);
      });
    }
    const cpu = process.cpuUsage(before);
    const puts = transactions * size;
    results.get(size).push({ cpuMicrosPerPut: (cpu.user + cpu.system) / puts, wallMicrosPerPut: ((performance.now() - started) * 1000) / puts });
  }
}
await db.close();
rmSync(dir, { recursive: true, force: true });
const summary = sizes.map((size) => {
  const cpu = results.get(size).map((r) => r.cpuMicrosPerPut).sort((a, b) => a - b);
  return { putsPerTransaction: size, cpuMicrosPerPut: { median: Number(cpu[Math.floor(cpu.length / 2)].toFixed(2)), min: Number(cpu[0].toFixed(2)), max: Number(cpu.at(-1).toFixed(2)) } };
});
process.stdout.write(`${JSON.stringify({ keys, rounds, putsPerSample, summary }, null, 2)}\n`);
