import type { FileConnectorSink } from './file-connector-sink.js';

/** An event of a CDC source keyed by `account_id`, as the connector tests read them. */
export type Row = Record<string, string | null>;

/**
 * Polls `check` until it gives a value (not undefined or false); fails after `timeoutMs` naming
 * `what` and, when given, what `context()` says then (a connector's state and log).
 */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000, context?: () => string | Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${context === undefined ? '' : `: ${await context()}`}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Applies the events in order as a versioned table would, failing on any event that cannot
 * follow the ones before it (an insert or snapshot row of a key that exists: a double; an
 * update or delete of a key that does not: a gap), and returns the rows at the end.
 */
export function replay(events: readonly Row[]): Map<string, Row> {
  const rows = new Map<string, Row>();
  const lastTime = new Map<string, string>();
  for (const [i, event] of events.entries()) {
    const key = event.account_id!;
    const { _op: op, _changed_at: at, ...row } = event;
    const exists = rows.has(key);
    if ((op === 'insert' || op === 'snapshot') && exists) throw new Error(`event ${i}: ${op} of existing key ${key} (a double)`);
    if ((op === 'update' || op === 'delete') && !exists) throw new Error(`event ${i}: ${op} of missing key ${key} (a gap)`);
    if (at! < (lastTime.get(key) ?? '')) throw new Error(`event ${i}: key ${key} goes back in time`);
    lastTime.set(key, at!);
    if (op === 'delete') rows.delete(key);
    else rows.set(key, row);
  }
  return rows;
}

/** True once the sink's events replay without a gap or double (throws otherwise). */
export function replayed(sink: FileConnectorSink): boolean {
  replay(sink.parsed());
  return true;
}

/** True when the sink's events replay to exactly `expected`. */
export function sameRows(sink: FileConnectorSink, expected: Map<string, Row>): boolean {
  return JSON.stringify([...replay(sink.parsed())].sort()) === JSON.stringify([...expected].sort());
}

/** A small seeded random generator, so a failing run can be replayed with SLUICE_TEST_SEED. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
