import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LineageTransport } from './lineage-transport.js';

/**
 * Appends each event as one JSON line to a file, in emission order; writes are queued so `send`
 * returns at once, and `close` waits for them.
 *
 * @example
 * const transport = fileTransport('/var/log/lineage.jsonl');
 */
export function fileTransport(path: string, onError: (error: Error) => void): LineageTransport {
  let queue: Promise<void> = mkdir(dirname(path), { recursive: true }).then(() => undefined);
  return {
    send(event) {
      const line = `${JSON.stringify(event)}\n`;
      queue = queue.then(() => appendFile(path, line)).catch((error: Error) => onError(error));
    },
    async close() {
      await queue;
    },
  };
}
