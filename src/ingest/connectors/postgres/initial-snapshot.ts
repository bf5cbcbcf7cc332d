import type pg from 'pg';
import type { ConnectorSink } from '../connector.js';
import { appendWhenAccepted } from './append-when-accepted.js';
import { encodePosition, type CdcPosition, type SnapshotPart } from './cdc-position.js';
import { changeAt, rowEvent, type RowText } from './change-events.js';
import type { PostgresCdcConfig } from './postgres-cdc-config.js';
import { pgIdent, pgLiteral } from './postgres-connection.js';
import type { TableShape } from './table-inspection.js';

/*
 * Why the snapshot is read the way it is.
 *
 * The slot is created with an exported snapshot: the snapshot sees exactly the transactions
 * committed before the slot's consistent point, and the slot streams exactly those committed
 * after it. Reading the table in that snapshot and then streaming the slot has no gap and no
 * double. The snapshot is read in key order, in batches, each appended with its position.
 *
 * An exported snapshot dies with the connection that exported it, so a restart in the middle
 * cannot continue in the same snapshot. Restarting the whole snapshot would append the rows
 * already appended a second time; reading the rest (`key > last`) in a plain new snapshot
 * would be inconsistent (that snapshot already holds changes the slot will stream again).
 * So a restart reads the rest in a new exported snapshot of a temporary slot, whose consistent
 * point `at` is recorded with the part. The original slot is kept (it still streams from its
 * consistent point); while streaming, a change committed before a part's `at` to a key of
 * that part is already in the part's rows and is skipped, every other change is appended.
 * Each key's history then starts at the snapshot that read it, and has every later change
 * exactly once.
 */

/** A slot just created, with the snapshot it exported. */
export interface ExportedSnapshot {
  /** The consistent point: the snapshot holds exactly the transactions committed before it. */
  readonly lsn: string;
  readonly name: string;
  /**
   * When the snapshot's rows take effect: the server's clock just before the slot was
   * requested. Every transaction the slot streams committed after this (one still running then
   * must end before the slot is consistent), so a snapshot row never looks newer than a
   * streamed change of its key.
   */
  readonly changedAt: string;
}

/** Creates a logical slot (`temporary`: dropped when `replication` closes) that exports its snapshot. */
export async function createSlotWithSnapshot(replication: pg.Client, slot: string, temporary: boolean): Promise<ExportedSnapshot> {
  const clock = await replication.query<{ t: string }>(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t`);
  const created = await replication.query<{ consistent_point: string; snapshot_name: string }>(
    `CREATE_REPLICATION_SLOT ${pgIdent(slot)} ${temporary ? 'TEMPORARY ' : ''}LOGICAL pgoutput EXPORT_SNAPSHOT`,
  );
  const row = created.rows[0]!;
  return { lsn: row.consistent_point, name: row.snapshot_name, changedAt: clock.rows[0]!.t };
}

export interface SnapshotReadOptions {
  readonly client: pg.Client;
  readonly config: PostgresCdcConfig;
  readonly shape: TableShape;
  readonly sink: ConnectorSink;
  readonly snapshot: ExportedSnapshot;
  /** The slot's consistent point, and the parts already read (none on a first start). */
  readonly slotLsn: string;
  readonly rowsBefore: number;
  readonly partsBefore: readonly SnapshotPart[];
  readonly batchSize: number;
  readonly stopped: () => boolean;
  readonly appended: (position: CdcPosition, events: number) => void;
}

/**
 * Reads the rows after the last part's bound in `snapshot`, in key order and batches, and
 * appends each batch with its position. Resolves with the position where streaming starts
 * (the last batch carries it), or undefined when stopped first.
 */
export async function readSnapshot(options: SnapshotReadOptions): Promise<CdcPosition | undefined> {
  const { client, config, shape, sink, snapshot } = options;
  const keySql = `${pgIdent(config.key)}`;
  const lower = options.partsBefore.at(-1)?.to;
  const where = lower === undefined ? '' : `WHERE ${keySql} > ${pgLiteral(lower)}::${shape.keyType}`;
  const columns = config.columns.map((c) => `${pgIdent(c)}::text AS ${pgIdent(c)}`).join(', ');
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await client.query(`SET TRANSACTION SNAPSHOT ${pgLiteral(snapshot.name)}`);
    await client.query(`DECLARE sluice_snapshot NO SCROLL CURSOR FOR SELECT ${columns} FROM ${shape.sql} ${where} ORDER BY ${shape.sql}.${keySql}`);
    const fetch = async (): Promise<RowText[]> => (await client.query<RowText>(`FETCH FORWARD ${options.batchSize} FROM sluice_snapshot`)).rows;
    let rows = options.rowsBefore;
    let batch = await fetch();
    for (;;) {
      if (options.stopped()) return undefined;
      // One batch ahead: the last batch is appended with the streaming position, so the end of the snapshot is stored with its last rows.
      const next = batch.length < options.batchSize ? [] : await fetch();
      rows += batch.length;
      const last = batch.at(-1)?.[config.key] ?? undefined;
      const current: SnapshotPart = { at: snapshot.lsn, ...(last !== undefined && last !== null && { to: last }) };
      const done = next.length === 0;
      const position: CdcPosition = done
        ? { phase: 'stream', lsn: options.slotLsn, ...(options.partsBefore.length > 0 && { parts: [...options.partsBefore, { at: snapshot.lsn }] }) }
        : { phase: 'snapshot', slotLsn: options.slotLsn, rows, parts: [...options.partsBefore, current] };
      const events = batch.map((row) => rowEvent(config.columns, row, 'snapshot', snapshot.changedAt));
      const at = changeAt(snapshot.lsn, `${config.schemaName}.${config.tableName}`, 'snapshot');
      const what = `snapshot rows ${rows - batch.length + 1} to ${rows} of ${at}`;
      await appendWhenAccepted(sink, { events, at: events.map(() => at), what }, encodePosition(position), options.stopped);
      options.appended(position, events.length);
      if (done) return position;
      batch = next;
    }
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}
