import { jetstream, jetstreamManager, type ConsumerMessages, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { AdapterError } from '../../../errors.js';
import type { ConnectorIncident, ConnectorLog, ConnectorSink, ConnectorStatus, RunningConnector, StartConnector } from '../connector.js';
import { natsJetStreamConfig, type NatsJetStreamConfig } from './config.js';
import { openDurableConsumer } from './durable-consumer.js';
import { removedSequences, type SequenceJump } from './sequence-gaps.js';
import { retryDelayMs } from '../retry-delay.js';
import { firstInvalidUtf8, invalidUtf8Reason } from '../../scan-file.js';

/**
 * Starts a source's `natsJetStream` connector: a durable pull consumer (explicit
 * acknowledgements, filtered on the source's subject) whose messages, each the JSON text of one
 * event, go to `sink.append` in batches of up to 1,000 with the batch's last stream sequence as
 * the position; a message is acknowledged only once `append` has made it durable. Messages at or
 * before `sink.position()` (redelivered after a crash between append and acknowledgement) are
 * acknowledged without being appended again; a consumer that delivered past that position (a
 * worker killed between reading and appending) is recreated to start right after it, see
 * `openDurableConsumer`. At most two batches are read ahead of the append in flight: a slow sink
 * stops the pulling. Connection and server errors, and appends that fail (naming the batch's
 * stream sequences), are logged and retried with exponential backoff and jitter (state
 * `retrying`), reset only by progress: a batch appended, or a consumer opened with nothing
 * pending (see `progressed`); settings from `env()` are resolved now, and a missing variable
 * rejects with a `ConfigError` naming it. One connector per durable consumer.
 *
 * @example
 * const running = await startNatsJetStream(project.sources.get('payments')!, sink, { log: console.log });
 * running.status(); // { state: 'running', position: '1042', received: 1042, lag: 0, ... }
 * await running.stop();
 */
export const startNatsJetStream: StartConnector = async (source, sink, options) => {
  const config = natsJetStreamConfig(source);
  const log: ConnectorLog = (level, message) => {
    try {
      options.log?.(level, message);
    } catch {
      // A failing logger must not stop the connector.
    }
  };
  const report = (incident: ConnectorIncident): void => {
    try {
      options.report?.(incident);
    } catch {
      // As for the logger.
    }
  };
  return new JetStreamReader(config, sink, log, report);
};

/** Gaps in the delivered sequences are checked against the stream at most this often while messages flow (and whenever the queue runs dry). */
const GAP_CHECK_EVERY_MS = 1_000;
/** Unchecked gaps kept at most: a longer list is checked at once. */
const MAX_UNCHECKED_JUMPS = 1_000;

/** Messages read ahead of the batch being appended, at most: pulls stop while the queue is full (back-pressure). */
const QUEUE_BATCHES = 2;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');

class JetStreamReader implements RunningConnector {
  private state: ConnectorStatus['state'] = 'starting';
  private position: number | undefined;
  private received = 0;
  private lag: number | undefined;
  private lastError: string | undefined;
  private stopping = false;
  private messages: ConsumerMessages | undefined;
  private endSleep: (() => void) | undefined;
  private readonly done: Promise<void>;
  private jsm: JetStreamManager | undefined;
  /** Jumps of the delivered stream sequences not yet checked against the oldest sequence the stream holds. */
  private jumps: SequenceJump[] = [];
  private jumpsCheckedAt = 0;
  /** The newest sequence reported lost. */
  private lostUpTo = 0;
  /** Failures since the last progress: what the next retry's backoff is computed from. */
  private attempt = 0;

  constructor(
    private readonly config: NatsJetStreamConfig,
    private readonly sink: ConnectorSink,
    private readonly log: ConnectorLog,
    private readonly report: (incident: ConnectorIncident) => void,
  ) {
    this.done = this.run();
  }

  status(): ConnectorStatus {
    return {
      source: this.config.source,
      kind: 'natsJetStream',
      state: this.state,
      received: this.received,
      ...(this.position === undefined ? {} : { position: String(this.position) }),
      // While not connected the server cannot be asked: the lag is unknown, not the last one seen.
      ...(this.state !== 'running' ? { lag: null } : this.lag === undefined ? {} : { lag: this.lag }),
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.messages?.stop();
    this.endSleep?.();
    await this.done;
  }

  /** Sessions until stopped; never rejects. */
  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.session();
      } catch (error) {
        if (this.stopping) break;
        this.state = 'retrying';
        this.lastError = this.config.redact(error instanceof Error ? error.message : String(error));
        const delay = retryDelayMs(this.attempt++);
        this.log('warn', `NATS JetStream: ${this.lastError}; retrying in ${delay} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.endSleep = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.endSleep = undefined;
      }
    }
    this.state = 'stopped';
  }

  /**
   * Running again after failures: only once a batch was appended, or the consumer opened with
   * nothing pending. A connection alone is no recovery: an append that fails after every
   * reconnect keeps the connector `retrying` (its health condition fires) with a growing backoff.
   */
  private progressed(): void {
    this.state = 'running';
    this.lastError = undefined;
    this.attempt = 0;
  }

  /** One connection: opens the consumer at Sluice's position and reads until stopped or an error. */
  private async session(): Promise<void> {
    const { config } = this;
    // Pings every 10 s: a server that vanished without closing the socket is noticed in about 30 s.
    const nc = await connect({ servers: [...config.servers], reconnect: false, pingInterval: 10_000, maxPingOut: 3, name: `sluice source ${config.source}` }).catch((error: unknown) => {
      throw new AdapterError('ADAPTER_FAILED', `cannot connect to ${config.servers.join(',')}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    });
    try {
      const position = storedSequence(await this.sink.position(), config.source);
      this.position = position;
      this.jsm = await jetstreamManager(nc);
      this.lag = (await openDurableConsumer(this.jsm, config, position, this.log, (jump, firstSeq) => this.lost(jump, firstSeq))).num_pending;
      const messages = await jetstream(nc).consumers.get(config.stream, config.durable).then((c) => c.consume({ max_messages: config.batchSize, abort_on_missing_resource: true }));
      this.messages = messages;
      if (this.stopping) messages.stop();
      void nc.closed().then(() => messages.stop(new Error('the connection to the NATS server closed')));
      if (this.lag === 0) this.progressed();
      else if (this.state === 'starting') this.state = 'running';
      this.log('info', `reading NATS JetStream stream "${config.stream}" (subject "${config.subject}") as consumer "${config.durable}" after stream sequence ${position ?? 0}`);
      await this.pump(messages);
    } finally {
      this.messages = undefined;
      // The acknowledgements of the last batch must reach the server before the connection ends.
      await nc.flush().catch(() => undefined);
      await nc.close().catch(() => undefined);
    }
  }

  /**
   * A reader task queues messages as they arrive while this loop appends whatever is queued (up
   * to a batch), so batches grow under load and a lone event is appended at once.
   */
  private async pump(messages: ConsumerMessages): Promise<void> {
    const queue: JsMsg[] = [];
    const limit = QUEUE_BATCHES * this.config.batchSize;
    const arrived = new Wake();
    const drained = new Wake();
    let failure: unknown;
    let ended = false;
    const reader = (async () => {
      try {
        for await (const message of messages) {
          queue.push(message);
          arrived.notify();
          while (queue.length >= limit && !this.stopping && failure === undefined) await drained.wait();
        }
      } catch (error) {
        failure ??= error;
      } finally {
        ended = true;
        arrived.notify();
      }
    })();
    try {
      while (!this.stopping && failure === undefined) {
        if (queue.length === 0) {
          if (ended) break;
          if (this.jumps.length > 0) await this.checkJumps();
          if (queue.length > 0) continue;
          await arrived.wait();
          continue;
        }
        // Let the messages already read from the socket join this batch.
        if (queue.length < this.config.batchSize) await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = queue.splice(0, this.config.batchSize);
        drained.notify();
        await this.deliver(batch, queue.length);
      }
    } catch (error) {
      failure ??= error;
    } finally {
      messages.stop();
      drained.notify();
      await reader;
    }
    if (this.stopping) return;
    throw failure ?? new Error('the consumer stopped delivering messages');
  }

  /** Appends the batch's new messages, then acknowledges the whole batch. */
  private async deliver(batch: readonly JsMsg[], queued: number): Promise<void> {
    const texts: string[] = [];
    const at: string[] = [];
    const problems: (string | undefined)[] = [];
    let last = this.position ?? 0;
    let first = 0;
    // First deliveries come in stream order, so a sequence at or below the last one taken is a
    // redelivery of an event already appended (in this batch or before).
    for (const message of batch) {
      if (message.seq <= last) continue;
      // Sequences already reported lost (when the consumer opened) are no new gap.
      const expected = Math.max(last, this.lostUpTo) + 1;
      if (message.seq > expected && last > 0) this.jumps.push({ from: expected, to: message.seq - 1 });
      const { text, problem } = eventText(message.data);
      texts.push(text);
      at.push(`stream sequence ${message.seq}`);
      problems.push(problem);
      if (first === 0) first = message.seq;
      last = message.seq;
    }
    if (texts.length > 0) {
      await this.sink.append(texts, String(last), { at, ...(problems.some((p) => p !== undefined) ? { problems } : {}) }).catch((error: unknown) => {
        throw new AdapterError('ADAPTER_FAILED', `cannot append stream sequences ${first} to ${last} (${texts.length} messages): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      });
      this.position = last;
      this.received += texts.length;
    }
    try {
      for (const message of batch) message.ack();
    } catch {
      // The connection closed: the server redelivers these, and they are skipped as appended.
    }
    this.progressed();
    const newest = batch[batch.length - 1];
    if (newest !== undefined) this.lag = newest.info.pending + queued;
    if (this.jumps.length >= MAX_UNCHECKED_JUMPS || (this.jumps.length > 0 && Date.now() - this.jumpsCheckedAt >= GAP_CHECK_EVERY_MS)) await this.checkJumps();
  }

  /**
   * A delivered sequence past the next expected one is a jump: other subjects' messages, or
   * messages the stream removed (its limits) while the worker ran. The stream's oldest sequence
   * tells which (see `removedSequences`).
   */
  private async checkJumps(): Promise<void> {
    const jsm = this.jsm;
    if (jsm === undefined) return;
    const firstSeq = (await jsm.streams.info(this.config.stream)).state.first_seq;
    const jumps = this.jumps;
    this.jumps = [];
    this.jumpsCheckedAt = Date.now();
    for (const removed of removedSequences(jumps, firstSeq)) this.lost(removed, firstSeq);
  }

  private lost(jump: SequenceJump, firstSeq: number): void {
    this.lostUpTo = Math.max(this.lostUpTo, jump.to);
    const { stream, subject } = this.config;
    const message = `stream "${stream}" no longer holds sequences ${jump.from} to ${jump.to} (removed by its limits before Sluice read them): events of subject "${subject}" among them are lost; the oldest sequence it holds is ${firstSeq}`;
    this.log('warn', message);
    this.report({ kind: 'lost', from: jump.from, to: jump.to, message });
  }
}

/**
 * The event text of a payload, and why it cannot be read when it is not UTF-8: it still reaches
 * the sink, which dead-letters it for that (its text with U+FFFD), as file ingest refuses such a row.
 */
function eventText(data: Uint8Array): { text: string; problem?: string } {
  try {
    return { text: strictUtf8.decode(data) };
  } catch {
    const offset = firstInvalidUtf8(Buffer.from(data.buffer, data.byteOffset, data.byteLength)) ?? 0;
    return { text: lossyUtf8.decode(data), problem: invalidUtf8Reason(offset, 'publish the message as UTF-8') };
  }
}

function storedSequence(position: string | undefined, source: string): number | undefined {
  if (position === undefined) return undefined;
  if (!/^\d{1,15}$/.test(position)) {
    throw new AdapterError('ADAPTER_FAILED', `source "${source}": the stored connector position "${position}" is not a JetStream stream sequence; was the source's connector changed? Reset the source's connector position to read the stream again`);
  }
  return Number(position);
}

/** Wakes the one task waiting on it. */
class Wake {
  private resolve: (() => void) | undefined;

  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  notify(): void {
    const resolve = this.resolve;
    this.resolve = undefined;
    resolve?.();
  }
}
