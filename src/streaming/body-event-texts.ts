import { elementTexts, memberTexts } from '../ingest/sent-values.js';

/**
 * The texts of a push body's events exactly as the client sent them (each element of the
 * top-level `"events"` array, without the whitespace around it), in order; undefined when the
 * body is not a JSON object with one such array (the caller has already refused it then).
 * DuckDB re-writes the JSON it extracts (`1e3` becomes `1000.0`), so what a dead letter keeps
 * of a refused event is cut from the body here instead (see `memberTexts`, `elementTexts`), on
 * the path of bodies with a refused event only.
 *
 * @example
 * bodyEventTexts('{"events": [{"qty": 1e3}, 7]}'); // ['{"qty": 1e3}', '7']
 */
export function bodyEventTexts(body: string): string[] | undefined {
  const events = memberTexts(body)?.get('events');
  return events === undefined ? undefined : elementTexts(events);
}
