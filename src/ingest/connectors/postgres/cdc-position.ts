import { formatLsn, isLsn, parseLsn } from './lsn.js';

/**
 * One part of the initial snapshot: the rows whose keys run up to `to` (inclusive, in the key
 * column's own order; absent: no upper bound), read in a snapshot that saw exactly the
 * transactions committed before the LSN `at`. A change committed before `at` to a key of this
 * part is already in the snapshot; one committed at or after `at` is not.
 *
 * A snapshot read in one go has one part, whose `at` is the slot's consistent point: every
 * change the slot streams is after it. A snapshot resumed after a restart has more parts (see
 * `initial-snapshot.ts`), and the stream filters its changes by part until it passes every `at`.
 */
export interface SnapshotPart {
  readonly at: string;
  readonly to?: string;
}

/** Where a Postgres CDC connector is: reading the initial snapshot, or streaming the slot. */
export type CdcPosition =
  | {
      readonly phase: 'snapshot';
      /** The slot's consistent point: where streaming starts once the snapshot is read. */
      readonly slotLsn: string;
      /** Snapshot rows appended so far. */
      readonly rows: number;
      /** The parts read so far; the last one is the part being read (`to`: the last key appended). */
      readonly parts: readonly SnapshotPart[];
    }
  | {
      readonly phase: 'stream';
      /** Every transaction that committed before this LSN (the end of its commit record) is appended. */
      readonly lsn: string;
      /** A transaction appended in pieces: its commit LSN and how many of its changes are appended. */
      readonly txn?: { readonly commit: string; readonly done: number };
      /** The parts of a resumed snapshot, while the stream has not passed all of their `at`. */
      readonly parts?: readonly SnapshotPart[];
    };

/**
 * The position string stored with each append: `snapshot:<slot LSN>:<rows>:<parts as JSON>`
 * while the snapshot is read, then `lsn:<LSN>` (with `:<JSON>` after it while a transaction is
 * appended in pieces or a resumed snapshot's parts still filter the stream).
 *
 * @example
 * encodePosition({ phase: 'stream', lsn: '0/16B3748' }); // 'lsn:0/16B3748'
 */
export function encodePosition(position: CdcPosition): string {
  // LSNs in the form Postgres prints (`0/16B3748`): the replication library reads them as 8+8 hex
  // digits, and status shows this text, so one LSN reads one way everywhere.
  const canonical = (lsn: string): string => formatLsn(parseLsn(lsn));
  const parts = position.parts?.map((part) => ({ ...part, at: canonical(part.at) }));
  if (position.phase === 'snapshot') return `snapshot:${canonical(position.slotLsn)}:${position.rows}:${JSON.stringify(parts)}`;
  const extra = { ...(position.txn && { txn: { ...position.txn, commit: canonical(position.txn.commit) } }), ...(parts && { parts }) };
  return Object.keys(extra).length === 0 ? `lsn:${canonical(position.lsn)}` : `lsn:${canonical(position.lsn)}:${JSON.stringify(extra)}`;
}

/**
 * Reads a position written by {@link encodePosition}; throws on anything else (another connector's position).
 *
 * @example
 * decodePosition('lsn:0/16B3748'); // { phase: 'stream', lsn: '0/16B3748' }
 */
export function decodePosition(text: string): CdcPosition {
  const fail = (): never => {
    throw new Error(`stored position "${text}" is not a Postgres CDC position (snapshot:<lsn>:<rows>:<parts> or lsn:<lsn>)`);
  };
  const [phase, lsn, ...rest] = text.split(':');
  if (lsn === undefined || !isLsn(lsn)) return fail();
  try {
    if (phase === 'snapshot') {
      const [rows, ...json] = rest;
      const parts = JSON.parse(json.join(':')) as SnapshotPart[];
      if (!/^[0-9]+$/.test(rows ?? '') || !Array.isArray(parts) || parts.length === 0 || !parts.every(validPart)) return fail();
      return { phase, slotLsn: lsn, rows: Number(rows), parts };
    }
    if (phase === 'lsn') {
      if (rest.length === 0) return { phase: 'stream', lsn };
      const extra = JSON.parse(rest.join(':')) as { txn?: { commit: string; done: number }; parts?: SnapshotPart[] };
      if (extra.txn !== undefined && (!isLsn(extra.txn.commit) || !Number.isInteger(extra.txn.done))) return fail();
      if (extra.parts !== undefined && !(Array.isArray(extra.parts) && extra.parts.every(validPart))) return fail();
      return { phase: 'stream', lsn, ...(extra.txn && { txn: extra.txn }), ...(extra.parts && { parts: extra.parts }) };
    }
  } catch {
    return fail();
  }
  return fail();
}

function validPart(part: SnapshotPart): boolean {
  return typeof part === 'object' && part !== null && isLsn(part.at) && (part.to === undefined || typeof part.to === 'string');
}
