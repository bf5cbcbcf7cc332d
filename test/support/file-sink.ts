import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AppendOutcome, ConnectorSink, UpstreamDetails } from '../../src/ingest/connectors/connector.js';

/** A connector sink for tests: the appended texts and the position, stored in one JSON file written atomically (temp + rename). */
export class FileSink implements ConnectorSink {
  constructor(readonly file: string) {}

  read(): { events: string[]; position?: string; appends: number; at: (string | null)[]; problems: (string | null)[] } {
    try {
      // A file written by another writer (the crash child) has no upstream details.
      return { at: [], problems: [], ...(JSON.parse(readFileSync(this.file, 'utf8')) as { events: string[]; position?: string; appends: number; at?: (string | null)[]; problems?: (string | null)[] }) };
    } catch {
      return { events: [], appends: 0, at: [], problems: [] };
    }
  }

  position(): Promise<string | undefined> {
    return Promise.resolve(this.read().position);
  }

  append(events: readonly string[], position?: string, upstream?: UpstreamDetails): Promise<AppendOutcome> {
    const state = this.read();
    const per = (values: readonly (string | undefined)[] | undefined) => events.map((_, i) => values?.[i] ?? null);
    writeFileSync(`${this.file}.tmp`, JSON.stringify({
      events: [...state.events, ...events], position, appends: state.appends + 1, at: [...state.at, ...per(upstream?.at)], problems: [...state.problems, ...per(upstream?.problems)],
    }));
    renameSync(`${this.file}.tmp`, this.file);
    return Promise.resolve({ accepted: events.length, duplicates: 0, rejected: [] });
  }
}

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
