import type pg from 'pg';
import type { Pgoutput } from 'pg-logical-replication';
import type { ConnectorSink } from '../connector.js';
import { appendWhenAccepted } from './append-when-accepted.js';
import { encodePosition, type CdcPosition, type SnapshotPart } from './cdc-position.js';
import { changeAt, changeEvents, commitTimeIso } from './change-events.js';
import { formatLsn, parseLsn } from './lsn.js';
import type { PostgresCdcConfig } from './postgres-cdc-config.js';
import type { ReplicationStream } from './replication-stream.js';
import { keyPartIndex, type TableShape } from './table-inspection.js';

type StreamPosition = Extract<CdcPosition, { phase: 'stream' }>;

export interface StreamChangesOptions {
  readonly stream: ReplicationStream;
  /** A plain connection, to compare keys while a resumed snapshot's parts filter the stream. */
  readonly client: pg.Client;
  readonly config: PostgresCdcConfig;
  readonly shape: TableShape;
  readonly sink: ConnectorSink;
  readonly position: StreamPosition;
  readonly maxBatch: number;
  readonly stopped: () => boolean;
  readonly appended: (position: CdcPosition, events: number) => void;
  /** Everything before this LSN is durable or had nothing for the source: what Postgres was told. */
  readonly confirmed: (lsn: bigint) => void;
  readonly warn: (message: string) => void;
  /** Declared columns the table no longer has (its values are written as null from here on), said when a relation message shows it. */
  readonly dropped: (columns: readonly string[], message: string) => void;
}

interface OpenTransaction {
  readonly commit: string;
  readonly commitLsn: bigint;
  readonly changedAt: string;
  /** Changes of the source's table seen so far in this transaction. */
  seen: number;
  /** Changes already appended before a restart (their count at the start of the transaction). */
  readonly appendedBefore: number;
}

/**
 * Appends the slot's changes in commit order, in batches of at most `maxBatch` events: a batch
 * is appended when it is full, or at a commit when nothing more is waiting. A transaction
 * already appended (it committed before the stored LSN) is skipped; one appended in pieces
 * skips the changes already appended. Postgres is acknowledged only after `append` resolved.
 * Resolves when the stream ends (stopped); throws on a stream or sink error.
 */
export async function streamChanges(options: StreamChangesOptions): Promise<void> {
  const { stream, config, sink } = options;
  let stored = options.position;
  let complete = stored.lsn;
  let parts = stored.parts;
  let confirmed = parseLsn(stored.lsn);
  const table = `${config.schemaName}.${config.tableName}`;
  /** The events waiting to be appended, where each is held upstream, and the WAL positions of the first and last. */
  let pending: string[] = [];
  let pendingAt: string[] = [];
  let lsns: { first: bigint; last: bigint } | undefined;
  let open: OpenTransaction | undefined;
  /** The position after the last commit, to append `pending` with once no transaction is open. */
  let ready: StreamPosition = stored;
  let warnedTruncate = false;
  const warnedUnknown = new Set<string>();

  const flush = async (position: StreamPosition): Promise<void> => {
    const what = lsns!.first === lsns!.last ? `the change at ${changeAt(lsns!.first, table)}` : `the changes at LSN ${formatLsn(lsns!.first)} to ${formatLsn(lsns!.last)} of table ${table}`;
    await appendWhenAccepted(sink, { events: pending, at: pendingAt, what }, encodePosition(position), options.stopped);
    options.appended(position, pending.length);
    pending = [];
    pendingAt = [];
    lsns = undefined;
    stored = position;
    confirm(parseLsn(position.lsn));
  };
  const confirm = (lsn: bigint): void => {
    if (lsn > confirmed) confirmed = lsn;
    stream.acknowledge(confirmed);
    options.confirmed(confirmed);
  };

  for (;;) {
    if (options.stopped()) return;
    // Nothing more at hand: append what is complete now rather than wait for more.
    if (pending.length > 0 && open === undefined && !stream.hasQueued()) await flush(ready);
    const item = await stream.next();
    if (item === undefined || options.stopped()) return;
    if (item.kind === 'keepalive') {
      // Nothing received is waiting to be appended: all WAL the server sent so far is done with.
      if (open === undefined && pending.length === 0) confirm(item.lsn);
      else if (item.reply) stream.acknowledge(confirmed);
      continue;
    }
    const message = item.message;
    switch (message.tag) {
      case 'begin': {
        const commitLsn = parseLsn(message.commitLsn!);
        const appendedBefore = stored.txn !== undefined && parseLsn(stored.txn.commit) === commitLsn ? stored.txn.done : 0;
        const skip = commitLsn < parseLsn(stored.lsn);
        open = skip ? undefined : { commit: formatLsn(commitLsn), commitLsn, changedAt: commitTimeIso(message.commitTime as bigint), seen: 0, appendedBefore };
        if (parts !== undefined && !skip && commitLsn >= maxAt(parts)) parts = undefined;
        break;
      }
      case 'insert':
      case 'update':
      case 'delete': {
        if (open === undefined || !isSourceTable(message.relation, config)) break;
        open.seen += 1;
        if (open.seen <= open.appendedBefore) break;
        const at = changeAt(item.lsn, table);
        const { events, unknownColumns } = changeEvents(config.columns, config.key, message, open.changedAt, at);
        if (unknownColumns.some((c) => !warnedUnknown.has(c))) {
          unknownColumns.forEach((c) => warnedUnknown.add(c));
          options.warn(`the update at ${at} (commit ${open.commit}) did not carry the unchanged large value(s) of ${unknownColumns.join(', ')} (they are written as null); run ALTER TABLE ${table} REPLICA IDENTITY FULL so Postgres sends them`);
        }
        for (const event of events) {
          if (parts !== undefined && !(await inLaterPart(options, parts, event.key, open.commitLsn))) continue;
          pending.push(event.text);
          pendingAt.push(event.at);
          lsns = { first: lsns?.first ?? item.lsn, last: item.lsn };
        }
        if (pending.length >= options.maxBatch) {
          await flush({ phase: 'stream', lsn: complete, txn: { commit: open.commit, done: open.seen }, ...(parts && { parts }) });
        }
        break;
      }
      case 'commit': {
        if (open === undefined) break;
        complete = message.commitEndLsn!;
        open = undefined;
        ready = { phase: 'stream', lsn: complete, ...(parts && { parts }) };
        if (pending.length >= options.maxBatch) await flush(ready);
        break;
      }
      case 'truncate':
        if (!warnedTruncate && message.relations.some((r) => isSourceTable(r, config))) {
          warnedTruncate = true;
          options.warn(`table ${table} was truncated at LSN ${formatLsn(item.lsn)}: a truncate does not say which rows it removed, so they stay in the history; to start over, drop slot "${config.slot}" and the source's history`);
        }
        break;
      case 'relation':
        if (isSourceTable(message, config)) {
          const names = new Set(message.columns.map((c) => c.name));
          const missing = config.columns.filter((c) => !names.has(c));
          if (missing.length > 0) options.dropped(missing, `table ${table} no longer has column(s) ${missing.join(', ')} (as of LSN ${formatLsn(item.lsn)}); their values are written as null`);
        }
        break;
      default:
        break;
    }
  }
}

function isSourceTable(relation: Pgoutput.MessageRelation | undefined, config: PostgresCdcConfig): boolean {
  return relation?.schema === config.schemaName && relation.name === config.tableName;
}

function maxAt(parts: readonly SnapshotPart[]): bigint {
  return parts.reduce((max, part) => (parseLsn(part.at) > max ? parseLsn(part.at) : max), 0n);
}

/** True when the change to `key` committed at `commitLsn` is not already in the snapshot part that read `key`. */
async function inLaterPart(options: StreamChangesOptions, parts: readonly SnapshotPart[], key: string, commitLsn: bigint): Promise<boolean> {
  const bounds = parts.slice(0, -1).map((part) => part.to!);
  const index = bounds.length === 0 ? 0 : await keyPartIndex(options.client, options.shape, bounds, key);
  return commitLsn >= parseLsn(parts[index]!.at);
}
