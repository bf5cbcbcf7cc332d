import { entityKey, int64KeyPart, rawMentions, type Project, type Source } from '../../definitions/index.js';
import { entityColumnsIn, entityKeyParts } from './match-sql.js';
import type { SluiceContext } from '../../context.js';
import type { StorePurge } from './purge-types.js';
import type { PurgeMatch } from './purge-types.js';

/** A row as JSON text (a streamed event, a dead-lettered raw row) and when it was acknowledged. */
export interface TextMatch {
  /** A parsed event of the source (a JSON object). */
  readonly event: (text: string, ackTime: number) => boolean;
  /** Raw text that may not parse: it matches when it mentions every part of a key, or (a cutoff) was acknowledged before it. */
  readonly raw: (text: string, ackTime: number) => boolean;
}

function eventTime(value: unknown): number {
  if (typeof value === 'number') return value;
  return typeof value === 'string' ? Date.parse(value) : Number.NaN;
}

/**
 * The one reading of a `PurgeMatch` for rows held as JSON text (the durable log): an event
 * matches a key when its join key values give that entity key (`entityKey`, int64 parts in
 * their canonical form), a cutoff when its event time is before it.
 *
 * @example
 * textMatch(project, payments, { kind: 'keys', entity: 'customer', keys: ['c42'] }).event('{"customer_id":"c42"}', 0); // true
 */
export function textMatch(project: Project, source: Source, match: PurgeMatch): TextMatch {
  if (match.kind === 'before') {
    return {
      event: (text) => eventTime((JSON.parse(text) as Record<string, unknown>)[source.timestamp]) < match.before,
      raw: (_text, ackTime) => ackTime < match.before,
    };
  }
  const columns = entityColumnsIn(project, match.entity, source);
  if (columns === undefined) return { event: () => false, raw: () => false };
  const keys = new Set(match.keys);
  const parts = match.keys.map((k) => entityKeyParts(k, columns.length));
  return {
    event: (text) => {
      const row = JSON.parse(text) as Record<string, unknown>;
      const values = columns.map((c) => row[c]);
      if (values.some((v) => v === null || v === undefined)) return false;
      return keys.has(entityKey(values.map((v, i) => (source.schema[columns[i]!] === 'int64' ? int64KeyPart(String(v)) : String(v)))));
    },
    raw: (text) => parts.some((p) => rawMentions(text, p)),
  };
}

/**
 * Removes the events `match` selects from the durable log of a streamed source, through the log's
 * one removal (`EventLog.removeEvents`): accepted events by their content, rejected ones by their
 * raw text (a cutoff keeps rejected events: they reach the dead-letter store, purged by time). A
 * dry run reads the entries and counts.
 */
export async function purgeLog(ctx: SluiceContext, source: string, match: TextMatch, dryRun: boolean): Promise<StorePurge> {
  const log = await ctx.log();
  const drop = (text: string, rejected: boolean): boolean => (rejected ? match.raw(text, Number.POSITIVE_INFINITY) : match.event(text, 0));
  if (!dryRun) {
    const { events, bytes } = await log.removeEvents(source, drop);
    return { store: `log:${source}`, rows: events, bytes, filesRewritten: [] };
  }
  let rows = 0;
  let bytes = 0;
  for (const entry of log.read(source, 0, Number.MAX_SAFE_INTEGER)) {
    for (const [text, rejected] of [...entry.events.map((e) => [e, false] as const), ...entry.rejected.map((r) => [r.raw, true] as const)]) {
      if (!drop(text, rejected)) continue;
      rows++;
      bytes += Buffer.byteLength(text);
    }
  }
  return { store: `log:${source}`, rows, bytes, filesRewritten: [] };
}
