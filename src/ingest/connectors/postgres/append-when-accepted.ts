import { AdapterError, SluiceError } from '../../../errors.js';
import type { AppendOutcome, ConnectorSink } from '../connector.js';

/** A batch of change events for the sink: each event's text and where upstream holds it (`changeAt`), and what the batch is, for errors (`changes at LSN 0/1 to 0/2 of table public.accounts`). */
export interface ChangeBatch {
  readonly events: readonly string[];
  readonly at: readonly string[];
  readonly what: string;
}

/**
 * `sink.append` of `batch` (each event's dead letter names its LSN), waiting while the sink
 * refuses with `OVERLOADED` (Sluice is behind: the connector stops pulling, and Postgres keeps
 * the rest in its WAL) instead of failing the connection. Any other error is thrown naming the
 * batch (its LSNs and table), of the same class and code; so is the refusal once `stopped()`.
 */
export async function appendWhenAccepted(sink: ConnectorSink, batch: ChangeBatch, position: string, stopped: () => boolean, waitMs = 1_000): Promise<AppendOutcome> {
  for (;;) {
    try {
      return await sink.append(batch.events, position, { at: batch.at });
    } catch (error) {
      if ((error as { code?: unknown })?.code !== 'OVERLOADED' || stopped()) throw batchError(batch, error);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

function batchError(batch: ChangeBatch, error: unknown): Error {
  const message = `cannot append ${batch.what} (${batch.events.length} event${batch.events.length === 1 ? '' : 's'}): ${error instanceof Error ? error.message : String(error)}`;
  if (!(error instanceof SluiceError)) return new AdapterError('ADAPTER_FAILED', message, { cause: error });
  const Same = error.constructor as typeof SluiceError;
  return new Same(error.code, message, { cause: error, ...(error.details === undefined ? {} : { details: error.details }), ...(error.retryable ? {} : { retryable: false }) });
}
