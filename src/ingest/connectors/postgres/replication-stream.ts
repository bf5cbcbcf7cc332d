import type pg from 'pg';
import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { formatLsn } from './lsn.js';
import { closePostgres, connectPostgres } from './postgres-connection.js';

/**
 * What the slot sends: a decoded pgoutput message with its WAL position (`lsn`: the record it
 * decodes, so each change of a transaction has its own; a commit's is its commit LSN), or a
 * keepalive with the server's sent position.
 */
export type ReplicationItem =
  | { readonly kind: 'message'; readonly message: Pgoutput.Message; readonly lsn: bigint }
  | { readonly kind: 'keepalive'; readonly lsn: bigint; readonly reply: boolean };

/**
 * pgoutput with every value kept as the text Postgres sent: the library would convert values
 * with pg's global type parsers (dates to local `Date`s, numbers to floats), losing digits.
 * The relation message's columns are the ones later rows are decoded with, so their parsers are
 * replaced as soon as the relation is parsed.
 */
class TextPgoutputPlugin extends PgoutputPlugin {
  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer);
    if (message.tag === 'relation') for (const column of message.columns) column.parser = (raw: unknown) => raw;
    return message;
  }
}

/** The parts of pg's connection the replication protocol needs (not in its types). */
interface CopyConnection {
  on(event: 'copyData', listener: (message: { chunk: Buffer }) => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  /** Sends CopyDone: asks the walsender to end the stream. */
  endCopyFrom(): void;
  stream: { pause(): void; resume(): void };
}

const PAUSE_AT = 10_000;
const RESUME_AT = 1_000;
const POSTGRES_EPOCH_US = 946_684_800_000_000n;
/** How long `close` waits for the walsender to end the stream before dropping the connection. */
const END_WAIT_MS = 10_000;

/**
 * A logical replication stream of one slot, read in order with `next()`. The socket is paused
 * while many items wait (back-pressure: Postgres keeps the rest in its WAL). Nothing is
 * acknowledged unless `acknowledge` is called.
 */
export class ReplicationStream {
  private readonly items: ReplicationItem[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private ended = false;
  private failure: Error | undefined;
  private paused = false;
  private acknowledged: bigint | undefined;
  /** Status updates even while the consumer is busy, so Postgres does not time the connection out (wal_sender_timeout). */
  private readonly heartbeat = setInterval(() => {
    if (this.acknowledged !== undefined) this.acknowledge(this.acknowledged);
  }, 10_000);

  /** Settles when the walsender ended the stream (START_REPLICATION completed or failed). */
  private serverEnded: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly client: pg.Client,
    private readonly connection: CopyConnection,
  ) {}

  /** Starts streaming `slot` from `startLsn` with the changes of `publication`. */
  static async open(connection: string, slot: string, publication: string, startLsn: string): Promise<ReplicationStream> {
    const opened: { stream?: ReplicationStream } = {};
    const client = await connectPostgres(connection, { replication: true, onError: (error) => opened.stream?.fail(error) });
    const copy = (client as unknown as { connection: CopyConnection }).connection;
    const stream = new ReplicationStream(client, copy);
    opened.stream = stream;
    const plugin = new TextPgoutputPlugin({ protoVersion: 1, publicationNames: [publication] });
    copy.on('copyData', ({ chunk }) => stream.receive(plugin, chunk));
    stream.serverEnded = plugin.start(client, slot, startLsn).then(
      () => stream.fail(undefined),
      (error: Error) => stream.fail(error),
    );
    return stream;
  }

  private receive(plugin: TextPgoutputPlugin, chunk: Buffer): void {
    if (this.ended) return;
    try {
      if (chunk[0] === 0x77) {
        const lsn = chunk.readBigUInt64BE(1);
        try {
          this.push({ kind: 'message', message: plugin.parse(chunk.subarray(25)), lsn });
        } catch (error) {
          throw new Error(`cannot decode the replication message at LSN ${formatLsn(lsn)}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
        }
      } else if (chunk[0] === 0x6b) this.push({ kind: 'keepalive', lsn: chunk.readBigUInt64BE(1), reply: chunk[17] === 1 });
    } catch (error) {
      this.fail(error as Error);
      void closePostgres(this.client);
    }
  }

  private push(item: ReplicationItem): void {
    this.items.push(item);
    if (!this.paused && this.items.length - this.head >= PAUSE_AT) {
      this.paused = true;
      this.connection.stream.pause();
    }
    this.wake?.();
  }

  private fail(error: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    this.failure = error;
    this.wake?.();
  }

  /** True when an item is already waiting (more of the stream is at hand). */
  hasQueued(): boolean {
    return this.head < this.items.length;
  }

  /** The next item, in the order Postgres sent it; undefined once the stream ended; throws its error. */
  async next(): Promise<ReplicationItem | undefined> {
    while (this.head >= this.items.length) {
      if (this.ended) {
        if (this.failure !== undefined) throw this.failure;
        return undefined;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    const item = this.items[this.head++]!;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    if (this.paused && this.items.length - this.head <= RESUME_AT) {
      this.paused = false;
      this.connection.stream.resume();
    }
    return item;
  }

  /** Tells Postgres that everything before `lsn` is durable: it may recycle that WAL, and restarts there. */
  acknowledge(lsn: bigint, reply = false): void {
    if (this.ended) return;
    this.acknowledged = lsn;
    const message = Buffer.alloc(34);
    message.write('r', 0);
    message.writeBigUInt64BE(lsn, 1);
    message.writeBigUInt64BE(lsn, 9);
    message.writeBigUInt64BE(lsn, 17);
    message.writeBigUInt64BE(BigInt(Date.now()) * 1000n - POSTGRES_EPOCH_US, 25);
    message.writeUInt8(reply ? 1 : 0, 33);
    this.connection.sendCopyFromChunk(message);
  }

  /**
   * Ends the stream (items not yet read are dropped: they were never acknowledged). A stream
   * still open is ended the way the protocol ends it (CopyDone, then the walsender's answer), so
   * that Postgres has released the slot when `close` resolves: dropping the socket alone leaves
   * the walsender holding it until it notices, and a successor started at once (a restart, a
   * handover) would find the slot in use. A walsender that does not answer within
   * `END_WAIT_MS` is left to notice the dropped connection.
   */
  close(): Promise<void> {
    // The connector's stop and its session's cleanup both close: the second waits for the first.
    this.closing ??= this.end();
    return this.closing;
  }

  private async end(): Promise<void> {
    const open = !this.ended;
    this.fail(undefined);
    if (open) {
      let timer: NodeJS.Timeout | undefined;
      try {
        // The answer must be read even while back-pressure paused the socket.
        this.connection.stream.resume();
        this.connection.endCopyFrom();
        await Promise.race([this.serverEnded, new Promise((resolve) => (timer = setTimeout(resolve, END_WAIT_MS)))]);
      } catch {
        // A connection already broken: there is no walsender to wait for.
      } finally {
        clearTimeout(timer);
      }
    }
    await closePostgres(this.client);
  }
}
