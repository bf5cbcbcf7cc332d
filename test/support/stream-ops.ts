import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Project } from '../../src/definitions/index.js';
import type { Platform } from '../../src/platform.js';
import { buildDataset } from '../../src/serving/datasets/build-dataset.js';

/**
 * Random streams for property tests: events of a source `{id, k, v, s, i, ts}` pushed at offsets
 * from the acknowledgement time (some late, < -30 ms; some in the future, > 5 ms), ids from a
 * small pool (so some repeat), interleaved with clock advances, lake commits, materializes and
 * restarts.
 */
export type GeneratedEvent = { id: number; key: string; offset: number; v: number | null; s: string | null; i: bigint | null };

export function streamOps(extraIntegers: readonly bigint[] = [2n ** 63n - 1n, 2n ** 53n + 1n], extraValues: readonly number[] = []) {
  const value = fc.oneof(fc.constant(null), fc.constantFrom(0.1, 0.2, 0.3, 1e16, -1e16, 1, 2.5, 1 / 3, ...extraValues));
  const text = fc.oneof(fc.constant(null), fc.constantFrom('a', 'b', 'B', '\u{1F600}', 'é'));
  const integer = fc.oneof(fc.constant(null), fc.integer({ min: -1000, max: 1000 }).map(BigInt), fc.constantFrom(...extraIntegers));
  const event = fc.record({ id: fc.integer({ min: 0, max: 60 }), key: fc.constantFrom('u1', 'u2', 'u3'), offset: fc.integer({ min: -40, max: 8 }), v: value, s: text, i: integer });
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('push' as const), events: fc.array(event, { minLength: 1, maxLength: 12 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 12 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('commit' as const, 'materialize' as const, 'restart' as const) }) },
  );
}

/** An event's JSON text, with its time `ts` (epoch ms) and int64 digits kept. */
export const eventJson = (e: GeneratedEvent, ts: number) =>
  `{"id":"e${e.id}","k":"${e.key}","v":${e.v},"s":${JSON.stringify(e.s)},"i":${e.i === null ? 'null' : e.i.toString()},"ts":"${new Date(ts).toISOString()}"}`;

const normalInt = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

/** A JSON line with integers of 16+ digits read as BigInt when they are not safe numbers. */
export function parseExact(line: string): Record<string, unknown> {
  const quoted = line.replace(/([:,[]\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"__int64:$2"');
  return JSON.parse(quoted, (_k, v) => (typeof v === 'string' && v.startsWith('__int64:') ? normalInt(BigInt(v.slice(8))) : v)) as Record<string, unknown>;
}

/**
 * Builds a dataset of service `all` over a spine of every (key column `k`, time) pair and calls
 * `check` for each row with the dataset's values (int64 kept exact).
 */
export async function checkDataset(
  env: { readonly platform: Platform; readonly project: Project; readonly dir: string },
  keys: readonly string[],
  times: readonly number[],
  check: (where: string, k: string, t: number, got: Record<string, unknown>) => void,
): Promise<void> {
  const spineRows = keys.flatMap((k) => times.map((t) => ({ k, ts: t })));
  const spine = join(env.dir, 'spine.jsonl');
  writeFileSync(spine, spineRows.map((r) => JSON.stringify({ k: r.k, ts: new Date(r.ts).toISOString() })).join('\n') + '\n');
  const out = join(env.dir, 'out.jsonl');
  await buildDataset(env.platform, env.project, { spine, out, service: 'all' });
  const dataset = readFileSync(out, 'utf8').trim().split('\n').map(parseExact);
  spineRows.forEach((row, i) => check('dataset', row.k, row.ts, dataset[i]!));
}
