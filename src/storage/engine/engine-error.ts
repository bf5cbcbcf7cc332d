import { AdapterError } from '../../errors.js';
import { refusalFromText } from '../file-system-refusal.js';
import { literal } from './sql-engine.js';

/** What an engine error shows in place of a value it quoted. */
export const VALUE_NOT_SHOWN = '[value not shown]';

// DuckDB's conversion errors quote the value that failed ("Could not convert string 'alice@x.com'
// to INT32", "Type VARCHAR with value '[a@x' can't be cast", "Malformed JSON ... Input: "a@x""), a
// parse error repeats it on the lines after the first, a CSV error quotes the line.
const QUOTES_DATA = /^(Conversion Error:|Invalid Input Error: (?:Could not parse string|Malformed JSON))/;
// The quoted data: after "string", "value", "format:" (a field format) or "Input:" (JSON); a quoted specifier or type is SQL, and stays.
const QUOTED = /(\b(?:string|value|format:|Input:) )('(?:[^']|'')*'|"(?:[^"\\]|\\.)*")/g;
const ORIGINAL_LINE = /^Original Line: .*$/gm;

/**
 * An engine error's message as Sluice shows it (errors, run history, logs, lineage events): a
 * DuckDB conversion or parse error keeps its first line with the quoted value replaced by
 * `[value not shown]` (a quoted specifier or type stays), and a CSV error its text without the `Original Line:`, since the engine
 * quotes the data value that failed, which may be classified; any other message is kept whole
 * (it names SQL and files, not data).
 *
 * @example
 * engineMessage("Conversion Error: Could not convert string 'a@x.com' to INT32"); // "Conversion Error: Could not convert string [value not shown] to INT32"
 */
export function engineMessage(message: string): string {
  if (QUOTES_DATA.test(message)) return message.split('\n', 1)[0]!.replace(QUOTED, `$1${VALUE_NOT_SHOWN}`);
  return message.replace(ORIGINAL_LINE, `Original Line: ${VALUE_NOT_SHOWN}`);
}

/** Whether `sql` writes `path`: the target of a `COPY ... TO '<path>'`; any other file it names, it reads. */
function copiesTo(sql: string, path: string): boolean {
  return new RegExp(`\\bTO\\s+${literal(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'i').test(sql);
}

/**
 * The AdapterError of a failed engine call: the message per {@link engineMessage}, the statement in
 * `details.sql`, and as cause an error carrying the same shown message (the engine's own error,
 * whose message and stack may quote a value, is not kept). A file the file system refused to the
 * engine (`Cannot open file "<path>": Read-only file system`) is a Node-style refusal in between
 * (`refusalFromText`; a read unless the statement copies to that path), so the CLI names it as
 * it names every refusal.
 */
export function engineError(engine: string, error: unknown, sql: string): AdapterError {
  const raw = error instanceof Error ? error.message : String(error);
  const shown = engineMessage(raw);
  if (shown === raw) return new AdapterError('ADAPTER_FAILED', `${engine}: ${raw}`, { cause: refusalFromText(raw, error, (path) => copiesTo(sql, path)) ?? error, details: { sql } });
  const cause = new Error(shown);
  cause.name = error instanceof Error ? error.name : 'Error';
  return new AdapterError('ADAPTER_FAILED', `${engine}: ${shown}`, { cause, details: { sql } });
}
