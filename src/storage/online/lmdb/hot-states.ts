import { randomBytes } from 'node:crypto';
import type { EntityState } from '../../../processing/entity-state.js';

/**
 * Bytes a kept state is counted at beyond its stored bytes: the decoded objects around them (the
 * state, its typed arrays, dictionaries and base snapshots). Measured: a state of 5 events of the
 * push benchmark's view, 201 bytes stored, takes 1.2 kB of heap and array buffers.
 */
export const HOT_STATE_OVERHEAD_BYTES = 1024;

interface Kept {
  readonly generation: number;
  readonly state: EntityState;
  readonly bytes: number;
}

/**
 * The decoded states one store handle wrote last, kept between updates (least recently used
 * first out, at most `budgetBytes`), so an update reads and decodes from LMDB only the entities
 * it has not written recently. Valid only while nobody else wrote the table: every write of a
 * table's states (an update, a removal, in any process) stores a new random stamp for its
 * generation in the same transaction, and a handle uses its kept states of a generation only
 * while the stored stamp is the one it wrote itself. Another writer (a `sluice ingest`, an
 * erasure, a second process), a transaction that failed after its states were kept, or a
 * restart (an empty cache) all make the stamps differ: the kept states of that table are dropped
 * and read again from LMDB.
 */
export class HotStates {
  private readonly kept = new Map<string, Kept>();
  /** Per generation, the stamp this handle wrote last (its kept states reflect it). */
  private readonly stamps = new Map<number, string>();
  /** Per generation, how many states are kept (a drop of a generation with none visits nothing). */
  private readonly counts = new Map<number, number>();
  private readonly token = randomBytes(6).toString('hex');
  private sequence = 0;
  private bytes = 0;

  constructor(private readonly budgetBytes: number) {}

  /** Starts a write of `generation` whose stored stamp is `stored`: forgets its states unless that stamp is this handle's last. */
  begin(generation: number, stored: unknown): void {
    if (this.budgetBytes <= 0) return;
    const mine = this.stamps.get(generation);
    if (mine !== undefined && mine === stored) return;
    this.drop(generation);
  }

  /** The state kept for an entity (and marks it recently used), or undefined. */
  get(generation: number, key: string): EntityState | undefined {
    const id = `${generation}\u0000${key}`;
    const kept = this.kept.get(id);
    if (kept === undefined) return undefined;
    this.kept.delete(id);
    this.kept.set(id, kept);
    return kept.state;
  }

  /** Keeps an entity's new state (`storedBytes`: its encoded size), then evicts the least recently used over budget. */
  set(generation: number, key: string, state: EntityState, storedBytes: number): void {
    if (this.budgetBytes <= 0) return;
    const id = `${generation}\u0000${key}`;
    const before = this.kept.get(id);
    if (before !== undefined) this.forget(id, before);
    const bytes = storedBytes + HOT_STATE_OVERHEAD_BYTES;
    this.kept.set(id, { generation, state, bytes });
    this.bytes += bytes;
    this.counts.set(generation, (this.counts.get(generation) ?? 0) + 1);
    for (const [oldest, entry] of this.kept) {
      if (this.bytes <= this.budgetBytes) break;
      this.forget(oldest, entry);
    }
  }

  private forget(id: string, entry: Kept): void {
    this.kept.delete(id);
    this.bytes -= entry.bytes;
    this.counts.set(entry.generation, this.counts.get(entry.generation)! - 1);
  }

  /** A new stamp for `generation`, to store in the transaction that wrote its states; the kept states reflect it. */
  stamp(generation: number): string {
    const stamp = `${this.token}:${++this.sequence}`;
    this.stamps.set(generation, stamp);
    return stamp;
  }

  /** Forgets every state kept of `generation` (and its stamp). */
  drop(generation: number): void {
    this.stamps.delete(generation);
    if ((this.counts.get(generation) ?? 0) === 0) return;
    for (const [id, entry] of this.kept) if (entry.generation === generation) this.forget(id, entry);
    this.counts.delete(generation);
  }

  /** How many states are kept and the bytes they are counted at. */
  size(): { states: number; bytes: number } {
    return { states: this.kept.size, bytes: this.bytes };
  }
}
