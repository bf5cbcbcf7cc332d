import { join } from 'node:path';
import { fileTransport } from './file-transport.js';
import { httpTransport } from './http-transport.js';
import type { LineageConfig } from './lineage-config.js';
import type { LineageTransport } from './lineage-transport.js';
import { runEvent, type RunTransition } from './run-event.js';

/**
 * Emits the OpenLineage events of tracked runs (see `trackRun`). `emit` never throws and never
 * waits: the event is built and handed to the transport's queue; a failure is reported once on
 * stderr, and the job goes on. `close` flushes (the platform closes it).
 */
export interface LineageEmitter {
  readonly namespace: string;
  emit(transition: RunTransition): void;
  close(): Promise<void>;
}

/**
 * The emitter for a configuration; the HTTP transport spools in `<dataDir>/lineage-spool`.
 *
 * @example
 * const lineage = lineageEmitter({ transport: 'file', path: 'lineage.jsonl', namespace: 'sluice' }, '.sluice');
 */
export function lineageEmitter(config: LineageConfig, dataDir: string, onError: (error: Error) => void = warnOnce()): LineageEmitter {
  let transport: LineageTransport | undefined;
  const open = () =>
    (transport ??= config.transport === 'file'
      ? fileTransport(config.path, onError)
      : httpTransport({ url: config.url, endpoint: config.endpoint, ...(config.apiKey ? { apiKey: config.apiKey } : {}), spoolDir: join(dataDir, 'lineage-spool'), onError }));
  return {
    namespace: config.namespace,
    emit(transition) {
      try {
        open().send(runEvent(transition, config.namespace));
      } catch (error) {
        onError(error as Error);
      }
    },
    async close() {
      await transport?.close();
    },
  };
}

function warnOnce(): (error: Error) => void {
  const seen = new Set<string>();
  return (error) => {
    if (seen.has(error.message)) return;
    seen.add(error.message);
    process.stderr.write(`warning: lineage: ${error.message}\n`);
  };
}
