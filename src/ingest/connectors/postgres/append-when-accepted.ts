import type { AppendOutcome, ConnectorSink } from '../connector.js';

/**
 * `sink.append`, waiting while the sink refuses with `OVERLOADED` (Sluice is behind: the
 * connector stops pulling, and Postgres keeps the rest in its WAL) instead of failing the
 * connection. Any other error is thrown; so is the refusal once `stopped()`.
 */
export async function appendWhenAccepted(sink: ConnectorSink, events: readonly string[], position: string, stopped: () => boolean, waitMs = 1_000): Promise<AppendOutcome> {
  for (;;) {
    try {
      return await sink.append(events, position);
    } catch (error) {
      if ((error as { code?: unknown })?.code !== 'OVERLOADED' || stopped()) throw error;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
