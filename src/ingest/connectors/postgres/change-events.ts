import { CDC_CHANGED_AT, CDC_OP } from '../../../definitions/index.js';
import type { Pgoutput } from 'pg-logical-replication';
import { formatLsn, parseLsn } from './lsn.js';

/** What a change did: a row of the initial snapshot, or a committed insert, update or delete. */
export type ChangeOp = 'snapshot' | 'insert' | 'update' | 'delete';

/** A row's values as Postgres prints them (text, or null), by column name. */
export type RowText = Readonly<Record<string, string | null | undefined>>;

/** One event for the sink, with the key it is about (to filter a resumed snapshot's changes) and where upstream holds it (see {@link changeAt}). */
export interface ChangeEvent {
  readonly key: string;
  readonly text: string;
  readonly at: string;
}

/**
 * Where upstream holds a change, as its dead letter, errors and messages name it (as the
 * JetStream connector names a stream sequence): the WAL position of the change's record and its
 * table; for a row of the initial snapshot, the snapshot's consistent point.
 *
 * @example
 * changeAt(0x16B3748n, 'public.accounts'); // 'LSN 0/16B3748 of table public.accounts'
 * changeAt('0/16B3000', 'public.accounts', 'snapshot'); // 'the snapshot at LSN 0/16B3000 of table public.accounts'
 */
export function changeAt(lsn: bigint | string, table: string, of: 'change' | 'snapshot' = 'change'): string {
  const text = formatLsn(typeof lsn === 'string' ? parseLsn(lsn) : lsn);
  return `${of === 'snapshot' ? 'the snapshot at ' : ''}LSN ${text} of table ${table}`;
}

/**
 * The event of one row change: the JSON text of an object with the source's columns (values
 * as Postgres prints them, or null), then `_op` and `_changed_at` (ISO-8601 UTC, milliseconds).
 * Table columns the source does not read are left out.
 *
 * @example
 * rowEvent(['account_id', 'tier'], { account_id: '7', tier: 'gold' }, 'insert', '2024-03-01T12:00:00.000Z');
 * // '{"account_id":"7","tier":"gold","_op":"insert","_changed_at":"2024-03-01T12:00:00.000Z"}'
 */
export function rowEvent(columns: readonly string[], row: RowText, op: ChangeOp, changedAt: string): string {
  const event: Record<string, string | null> = {};
  for (const column of columns) event[column] = row[column] ?? null;
  event[CDC_OP] = op;
  event[CDC_CHANGED_AT] = changedAt;
  return JSON.stringify(event);
}

/** A commit time as pgoutput gives it (microseconds since 1970, UTC) in ISO-8601 with milliseconds. */
export function commitTimeIso(micros: bigint): string {
  const ms = micros >= 0n ? micros / 1000n : -((-micros + 999n) / 1000n);
  return new Date(Number(ms)).toISOString();
}

/** The changes of a table row message, with columns whose value pgoutput did not send (unchanged TOAST values). */
export interface RowChanges {
  readonly events: readonly ChangeEvent[];
  readonly unknownColumns: readonly string[];
}

/**
 * The events of one insert, update or delete, each held upstream `at` (see {@link changeAt}). A
 * delete carries the key (and whatever else the old row gives, other columns null). An update
 * that changes the key is a delete of the old key followed by an insert of the new one, so the
 * old entity does not live on.
 */
export function changeEvents(
  columns: readonly string[],
  key: string,
  message: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete,
  changedAt: string,
  at: string,
): RowChanges {
  const unknownColumns: string[] = [];
  const make = (row: RowText, op: ChangeOp): ChangeEvent => {
    if (op !== 'delete') for (const column of columns) if (row[column] === undefined && column in row) unknownColumns.push(column);
    return { key: String(row[key]), text: rowEvent(columns, row, op, changedAt), at };
  };
  const asText = (row: Record<string, unknown> | null): RowText => (row ?? {}) as RowText;
  if (message.tag === 'insert') return { events: [make(asText(message.new), 'insert')], unknownColumns };
  if (message.tag === 'delete') return { events: [make(asText(message.old ?? message.key), 'delete')], unknownColumns };
  const before = asText(message.old ?? message.key);
  const after = asText(message.new);
  if (before[key] !== undefined && before[key] !== null && before[key] !== after[key]) {
    return { events: [make(before, 'delete'), make(after, 'insert')], unknownColumns };
  }
  return { events: [make(after, 'update')], unknownColumns };
}
