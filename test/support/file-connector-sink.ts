import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { AppendOutcome, ConnectorSink } from '../../src/ingest/connectors/connector.js';

/**
 * A connector sink for connector tests: keeps every appended event text and the position in a
 * JSON file, written atomically (temp file, fsync, rename), so a new sink on the same file is
 * what a restarted process would find. `afterAppend` runs once the append is durable and before
 * it resolves; throwing there simulates a crash between the append and the acknowledgement.
 * `die()` simulates a process that is gone: every later append throws before writing anything.
 */
export class FileConnectorSink implements ConnectorSink {
  events: string[] = [];
  private stored: string | undefined;
  afterAppend: ((events: readonly string[], position: string | undefined) => Promise<void> | void) | undefined;
  private dead = false;

  constructor(private readonly file: string) {
    if (existsSync(file)) {
      const state = JSON.parse(readFileSync(file, 'utf8')) as { events: string[]; position?: string };
      this.events = state.events;
      this.stored = state.position;
    }
  }

  async position(): Promise<string | undefined> {
    return this.stored;
  }

  /** From now on every append throws before writing: the process that held this sink is gone. */
  die(): void {
    this.dead = true;
  }

  async append(events: readonly string[], position?: string): Promise<AppendOutcome> {
    if (this.dead) throw new Error('simulated crash: this process is gone');
    const next = { events: [...this.events, ...events], position: position ?? this.stored };
    const temp = `${this.file}.tmp`;
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, JSON.stringify(next));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.file);
    this.events = next.events;
    this.stored = next.position;
    await this.afterAppend?.(events, position);
    return { accepted: events.length, duplicates: 0, rejected: [] };
  }

  /** The appended events, parsed. */
  parsed(): Record<string, string | null>[] {
    return this.events.map((text) => JSON.parse(text) as Record<string, string | null>);
  }
}
