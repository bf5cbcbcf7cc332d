import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, type ConsumerConfig, type ConsumerInfo, type JetStreamManager } from '@nats-io/jetstream';
import { AdapterError } from '../../../errors.js';
import type { ConnectorLog } from '../connector.js';
import type { NatsJetStreamConfig } from './config.js';
import type { SequenceJump } from './sequence-gaps.js';

/** Unacknowledged deliveries the server allows the consumer: room for the connector's queue, one batch in flight and one pull. */
const MAX_ACK_PENDING = 10_000;

/**
 * Makes the durable pull consumer read on from `position` (the last stream sequence Sluice
 * holds; undefined before the first append), creating it when missing.
 *
 * Sluice's position is the truth, not the consumer's acknowledgements. A consumer that has
 * delivered past it (a worker killed between a fetch and its append, or Sluice's state restored
 * from an older copy) would redeliver those messages only after `ack_wait`, after newer ones:
 * skipping "at or before the position" would then drop them. So such a consumer is recreated
 * to start right after the position. That is safe only on a limits-retention stream (deleting a
 * consumer of an interest stream can discard the messages it had not acknowledged), so other
 * retentions are refused in that case, with the fix in the message.
 *
 * Sequences the stream removed (its limits) after the position and before this open are handed
 * to `lost` with the oldest sequence it holds.
 *
 * Resolves to the consumer's info (`num_pending`: the messages it has yet to deliver).
 *
 * @example
 * await openDurableConsumer(jsm, config, 41, log, lost); // the consumer delivers stream sequence 42 next
 */
export async function openDurableConsumer(jsm: JetStreamManager, config: NatsJetStreamConfig, position: number | undefined, log: ConnectorLog, lost: (jump: SequenceJump, firstSeq: number) => void): Promise<ConsumerInfo> {
  const stream = await jsm.streams.info(config.stream);
  const next = (position ?? 0) + 1;
  if (stream.state.first_seq > next && stream.state.messages > 0 && position !== undefined) lost({ from: next, to: stream.state.first_seq - 1 }, stream.state.first_seq);
  let existing: ConsumerInfo | undefined = await jsm.consumers.info(config.stream, config.durable).catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
  const delivered = existing?.delivered.stream_seq ?? 0;
  const ahead = existing !== undefined && delivered > (position ?? 0);
  const refiltered = existing !== undefined && existing.config.filter_subject !== config.subject;
  if (existing !== undefined && (ahead || refiltered)) {
    const why = ahead
      ? `it delivered up to stream sequence ${delivered} but Sluice holds up to ${position ?? 'nothing'}`
      : `its filter subject is "${existing.config.filter_subject ?? ''}", the source reads "${config.subject}"`;
    if (stream.config.retention !== RetentionPolicy.Limits) {
      throw new AdapterError('ADAPTER_FAILED', `source "${config.source}": consumer "${config.durable}" of stream "${config.stream}" must be recreated (${why}), which is safe only with limits retention and the stream uses ${stream.config.retention} retention; delete the consumer yourself once its messages are safe, or use a limits-retention stream`);
    }
    log('info', `recreating consumer "${config.durable}" of stream "${config.stream}" to read from stream sequence ${next}: ${why}`);
    await jsm.consumers.delete(config.stream, config.durable);
    existing = undefined;
  }
  return existing ?? (await jsm.consumers.add(config.stream, consumerConfig(config, position)));
}

function consumerConfig(config: NatsJetStreamConfig, position: number | undefined): Partial<ConsumerConfig> {
  const start = position === undefined ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: position + 1 };
  return { durable_name: config.durable, ack_policy: AckPolicy.Explicit, filter_subject: config.subject, max_ack_pending: MAX_ACK_PENDING, ...start };
}

function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound;
}
