import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { ValidationError } from '../errors.js';
import { invalidUtf8Finder, invalidUtf8Reason } from './scan-file.js';

/** Records read per batch: memory holds one batch at a time, whatever the size of the file. */
export const BATCH_ROWS = 16_384;

/**
 * A batch of input records, column by column: `lines[i]` is the 1-based line where record `i`
 * starts, `raws[i]` its text, `problems[i]` why it could not be read (null when it could), and
 * `values[c][i]` the text of schema column `c` (null: absent or empty).
 */
export interface RecordBatch {
  readonly lines: number[];
  readonly raws: string[];
  readonly problems: (string | null)[];
  readonly values: (string | null)[][];
}

const emptyBatch = (columns: number): RecordBatch => ({ lines: [], raws: [], problems: [], values: Array.from({ length: columns }, () => []) });

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * Reads newline-delimited JSON as lines, in batches: the JSON itself is parsed set-based in
 * DuckDB (see `loadRaw`), which keeps every digit of a number. Blank lines are skipped; a line
 * with invalid UTF-8 gets a problem. `values` stays empty.
 */
export async function* readJsonlBatches(path: string, invalidUtf8: readonly number[]): AsyncGenerator<RecordBatch> {
  const invalidIn = invalidUtf8Finder(invalidUtf8);
  let batch = emptyBatch(0);
  let line = 0;
  let carry = Buffer.alloc(0);
  let carryStart = 0;
  const take = (bytes: Buffer, start: number, end: number, offset: number): void => {
    line++;
    let stop = end;
    if (stop > start && bytes[stop - 1] === 0x0d) stop--;
    const raw = bytes.toString('utf8', start, stop);
    if (raw.trim() === '') return;
    const bad = invalidIn(offset + start, offset + stop);
    batch.lines.push(line);
    batch.raws.push(raw);
    batch.problems.push(bad === undefined ? null : invalidUtf8Reason(bad));
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const bytes = carry.length === 0 ? (chunk as Buffer) : Buffer.concat([carry, chunk as Buffer]);
    let start = 0;
    for (let nl = bytes.indexOf(0x0a); nl >= 0; nl = bytes.indexOf(0x0a, start)) {
      take(bytes, start, nl, carryStart);
      start = nl + 1;
    }
    carryStart += start;
    carry = Buffer.from(bytes.subarray(start));
    if (batch.lines.length >= BATCH_ROWS) {
      yield batch;
      batch = emptyBatch(0);
    }
  }
  if (carry.length > 0) take(carry, 0, carry.length, carryStart);
  if (batch.lines.length > 0) yield batch;
}

/**
 * Reads CSV (RFC 4180) with a header row, in batches. Every schema column must be in the
 * header; extra columns are ignored. A row with the wrong number of fields, or with invalid
 * UTF-8, gets a problem. Empty fields are null; blank lines are skipped. A file the parser
 * cannot follow (an unclosed quote) fails as a whole.
 */
export async function* readCsvBatches(path: string, columns: readonly string[], invalidUtf8: readonly number[]): AsyncGenerator<RecordBatch> {
  // Byte positions cost the parser time: ask for them only when there is invalid UTF-8 to place.
  const placeBytes = invalidUtf8.length > 0;
  const invalidIn = invalidUtf8Finder(invalidUtf8);
  const parser = createReadStream(path, { highWaterMark: 1 << 20 }).pipe(
    parse({ relax_column_count: true, raw: true, info: placeBytes, skip_empty_lines: false, bom: true }),
  );
  let positions: number[] | undefined;
  let width = 0;
  let line = 1;
  let byte = 0;
  let batch = emptyBatch(columns.length);
  try {
    for await (const { record, raw, info } of parser as AsyncIterable<{ record: string[]; raw: string; info?: { bytes: number } }>) {
      const start = line;
      // A record ends at a newline; more newlines can only be inside its (quoted) fields.
      line += 1 + (raw.includes('"') ? record.reduce((n, field) => n + countNewlines(field), 0) : 0);
      const bad = placeBytes ? invalidIn(byte, info!.bytes) : undefined;
      if (placeBytes) byte = info!.bytes;
      if (record.length === 1 && record[0] === '' && raw.trim() === '') continue;
      const rawText = raw.replace(/\r?\n$|\r$/, '');
      if (positions === undefined) {
        const header = record.map((h) => h.trim());
        const missing = columns.filter((c) => !header.includes(c));
        if (bad !== undefined) throw new ValidationError('VALIDATION_FAILED', `${path}: the CSV header has ${invalidUtf8Reason(bad)}`);
        if (missing.length > 0) {
          throw new ValidationError('VALIDATION_FAILED', `${path}: the CSV header lacks column(s) ${missing.map((m) => `"${m}"`).join(', ')} of the source schema (header: ${header.join(', ')})`);
        }
        positions = columns.map((c) => header.indexOf(c));
        width = header.length;
        continue;
      }
      const problem = bad !== undefined ? invalidUtf8Reason(bad) : record.length !== width ? `expected ${width} fields, found ${record.length}` : null;
      batch.lines.push(start);
      batch.raws.push(rawText);
      batch.problems.push(problem);
      positions.forEach((p, c) => batch.values[c]!.push(problem !== null || record[p] === '' ? null : record[p]!));
      if (batch.lines.length >= BATCH_ROWS) {
        yield batch;
        batch = emptyBatch(columns.length);
      }
    }
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    // A broken quote leaves the parser unable to tell where later rows start: fail the whole file
    // rather than commit part of it.
    throw new ValidationError('VALIDATION_FAILED', `${path}: malformed CSV (${(error as Error).message}); nothing was ingested, fix the file and ingest it again`, { cause: error });
  }
  if (batch.lines.length > 0) yield batch;
}
