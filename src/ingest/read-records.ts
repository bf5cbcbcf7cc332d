import { createReadStream } from 'node:fs';
import { describeHeader, headerNamesColumns } from './describe-header.js';
import { ValidationError } from '../errors.js';
import { invalidUtf8Finder, invalidUtf8Reason } from './scan-file.js';
import { casedOnly } from './column-case.js';

/** Records read per batch: memory holds one batch at a time, whatever the size of the file. */
export const BATCH_ROWS = 16_384;

/** A record longer than this is refused with the whole file (for CSV, most likely an unclosed quote). */
export const MAX_RECORD_BYTES = 64 * 2 ** 20;

/**
 * A batch of input records, column by column: `lines[i]` is the 1-based line where record `i`
 * starts, `raws[i]` its text (without the line break), `problems[i]` why it cannot be read
 * (null when it can), and for CSV `fields[i]` its fields as a JSON array when they contain
 * quotes (null: split `raws[i]` at commas).
 */
export interface RecordBatch {
  readonly lines: number[];
  readonly raws: string[];
  readonly problems: (string | null)[];
  readonly fields: (string | null)[];
}

const emptyBatch = (): RecordBatch => ({ lines: [], raws: [], problems: [], fields: [] });

function malformed(path: string, what: string): ValidationError {
  return new ValidationError('VALIDATION_FAILED', `${path}: malformed ${what}; nothing was ingested, fix the file and ingest it again`);
}

/**
 * Splits a file into records, streaming over its bytes: a record ends at a line break (`\n` or
 * `\r\n`); with `quoted` (CSV), not at one inside double quotes. Blank records are skipped.
 * A UTF-8 byte order mark at the start of the file (Excel's "CSV UTF-8", Windows PowerShell) is
 * not part of the first record, for every format: kept, it would make a JSON line malformed and
 * hide a quoted CSV header. Yields `(line, text, problem)` batches; the problem is invalid
 * UTF-8, placed by `invalidUtf8`.
 */
async function* splitRecords(path: string, quoted: boolean, invalidUtf8: readonly number[], take: (batch: RecordBatch, line: number, text: string, problem: string | null) => void): AsyncGenerator<RecordBatch> {
  const invalidIn = invalidUtf8Finder(invalidUtf8);
  let batch = emptyBatch();
  let carry = Buffer.alloc(0);
  let carryOffset = 0;
  let line = 1;
  let inner = 0;
  let scanned = 0;
  let inQuotes = false;
  let fileStart = true;
  const emit = (bytes: Buffer, start: number, end: number): void => {
    const stop = end > start && bytes[end - 1] === 0x0d ? end - 1 : end;
    const text = bytes.toString('utf8', start, stop);
    const bad = invalidIn(carryOffset + start, carryOffset + stop);
    if (text.trim() !== '') take(batch, line, text, bad === undefined ? null : invalidUtf8Reason(bad));
    line += inner + 1;
    inner = 0;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const bytes = carry.length === 0 ? (chunk as Buffer) : Buffer.concat([carry, chunk as Buffer]);
    let start = 0;
    if (fileStart) {
      fileStart = false;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
    }
    let from = scanned;
    // The next quote, searched once per quote (not once per line: most chunks have none).
    let quote = quoted ? bytes.indexOf(0x22, from) : -1;
    for (let nl = bytes.indexOf(0x0a, from); nl >= 0; nl = bytes.indexOf(0x0a, from)) {
      for (; quote >= 0 && quote < nl; quote = bytes.indexOf(0x22, quote + 1)) inQuotes = !inQuotes;
      from = nl + 1;
      if (inQuotes) {
        inner++;
        continue;
      }
      emit(bytes, start, nl);
      start = nl + 1;
    }
    for (; quote >= 0; quote = bytes.indexOf(0x22, quote + 1)) inQuotes = !inQuotes;
    carryOffset += start;
    carry = Buffer.from(bytes.subarray(start));
    scanned = carry.length;
    if (carry.length > MAX_RECORD_BYTES) {
      throw malformed(path, quoted ? `CSV (the record at line ${line} is longer than ${MAX_RECORD_BYTES / 2 ** 20} MiB: an unclosed quote?)` : `JSONL (line ${line} is longer than ${MAX_RECORD_BYTES / 2 ** 20} MiB)`);
    }
    if (batch.lines.length >= BATCH_ROWS) {
      yield batch;
      batch = emptyBatch();
    }
  }
  if (inQuotes) throw malformed(path, `CSV (the quote opened in the record at line ${line} is never closed)`);
  if (carry.length > 0) emit(carry, 0, carry.length);
  if (batch.lines.length > 0) yield batch;
}

/**
 * Reads newline-delimited JSON as lines, in batches: the JSON itself is parsed set-based in
 * DuckDB (see `loadRaw`), which keeps every digit of a number. Blank lines are skipped.
 */
export function readJsonlBatches(path: string, invalidUtf8: readonly number[]): AsyncGenerator<RecordBatch> {
  return splitRecords(path, false, invalidUtf8, (batch, line, text, problem) => {
    batch.lines.push(line);
    batch.raws.push(text);
    batch.problems.push(problem);
    batch.fields.push(null);
  });
}

/**
 * The fields of a CSV record that contains quotes (RFC 4180: a quoted field is a whole field,
 * `""` inside it is one quote), or undefined when a quote opens or closes mid-field.
 */
export function quotedFields(record: string): string[] | undefined {
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    if (record[at] === '"') {
      let value = '';
      let from = at + 1;
      for (;;) {
        const quote = record.indexOf('"', from);
        if (quote < 0) return undefined;
        value += record.slice(from, quote);
        if (record[quote + 1] !== '"') {
          at = quote + 1;
          break;
        }
        value += '"';
        from = quote + 2;
      }
      fields.push(value);
      if (at === record.length) return fields;
      if (record[at] !== ',') return undefined;
    } else {
      const comma = record.indexOf(',', at);
      const value = record.slice(at, comma < 0 ? undefined : comma);
      if (value.includes('"')) return undefined;
      fields.push(value);
      if (comma < 0) return fields;
      at = comma;
    }
    at++;
  }
}

/** The header of a CSV file: where each schema column is (0-based), and how many fields a record has. */
export interface CsvHeader {
  readonly positions: readonly number[];
  readonly width: number;
  /** The header's column names, in file order (what a `schema` check compares). */
  readonly names?: readonly string[];
}

/**
 * Every schema column is in the header exactly once, by its exact name (fields are taken by
 * position of that name: `amount` beside `AMOUNT` is the column, `AMOUNT` an extra one); a column
 * only in another case is named in the message (the rule of `column-case.ts`).
 */
function checkCsvHeader(path: string, header: readonly string[], columns: readonly string[]): void {
  for (const column of columns) {
    const named = header.filter((h) => h === column);
    if (named.length > 1) {
      throw new ValidationError('VALIDATION_FAILED', `${path}: the CSV header names column "${column}" ${named.length} times (${named.map((n) => `"${n}"`).join(', ')}); which field holds it is ambiguous: remove or rename the others`, { details: { duplicateColumn: column } });
    }
  }
  const missing = columns.filter((c) => !header.includes(c));
  if (missing.length === 0) return;
  // A first line naming no column may be a data row: described, its values never quoted (describeHeader).
  if (!headerNamesColumns(header, columns)) throw new ValidationError('VALIDATION_FAILED', `${path}: ${describeHeader(header, columns)}`, { details: { missingColumns: missing, fields: header.length } });
  const cased = missing.flatMap((m) => casedOnly(header, m));
  const hint = cased.length === 0 ? '' : `; ${cased.map((c) => `"${c}"`).join(', ')} ${cased.length === 1 ? 'differs' : 'differ'} only in case: header names must match the schema exactly`;
  throw new ValidationError('VALIDATION_FAILED', `${path}: the CSV header lacks column(s) ${missing.map((m) => `"${m}"`).join(', ')} of the source schema (${describeHeader(header, columns)}${hint})`, { details: { missingColumns: missing } });
}

/**
 * Reads CSV (RFC 4180) with a header row, in batches. Every schema column must be in the
 * header, once; extra columns are ignored. The fields are split set-based in DuckDB (`fields` carries
 * them only for records with quotes). A file the reader cannot follow (an unclosed quote) fails
 * as a whole. `onHeader` is called once, before the first batch.
 */
export async function* readCsvBatches(path: string, columns: readonly string[], invalidUtf8: readonly number[], onHeader: (header: CsvHeader) => void): AsyncGenerator<RecordBatch> {
  let header: string[] | undefined;
  const records = splitRecords(path, true, invalidUtf8, (batch, line, text, problem) => {
    const quoted = text.includes('"') ? quotedFields(text) : null;
    if (header === undefined) {
      if (problem !== null) throw new ValidationError('VALIDATION_FAILED', `${path}: the CSV header has ${problem}`);
      header = (quoted ?? text.split(',')).map((h) => h.trim());
      checkCsvHeader(path, header, columns);
      onHeader({ positions: columns.map((c) => header!.indexOf(c)), width: header.length, names: header });
      return;
    }
    batch.lines.push(line);
    batch.raws.push(text);
    batch.problems.push(problem ?? (quoted === undefined ? 'malformed CSV: a quote must open and close a whole field' : null));
    batch.fields.push(quoted ? JSON.stringify(quoted) : null);
  });
  yield* records;
}
