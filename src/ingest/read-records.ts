import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { ValidationError } from '../errors.js';

/** A parsed input record: its text values in `columns` order (null: absent), with where it came from. */
export interface TextRecord {
  readonly line: number;
  readonly raw: string;
  readonly values: (string | null)[];
}

/** A record that could not be parsed at all. */
export interface MalformedRecord {
  readonly line: number;
  readonly raw: string;
  readonly reason: string;
}

export interface ParsedFile {
  readonly records: TextRecord[];
  readonly malformed: MalformedRecord[];
}

function jsonText(value: unknown): string | null | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * Reads newline-delimited JSON: one object per line. A line that is not a JSON object, or that
 * holds a nested value in a schema column, is malformed (never dropped). Blank lines are skipped.
 */
export async function readJsonl(path: string, columns: readonly string[]): Promise<ParsedFile> {
  const records: TextRecord[] = [];
  const malformed: MalformedRecord[] = [];
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      malformed.push({ line, raw: text, reason: `malformed JSON: ${(error as Error).message}` });
      continue;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      malformed.push({ line, raw: text, reason: 'not a JSON object' });
      continue;
    }
    const object = parsed as Record<string, unknown>;
    const values: (string | null)[] = [];
    let nested: string | undefined;
    for (const column of columns) {
      const value = jsonText(object[column]);
      if (value === undefined) nested = column;
      values.push(value ?? null);
    }
    if (nested !== undefined) malformed.push({ line, raw: text, reason: `column "${nested}": nested JSON value where a scalar is expected` });
    else records.push({ line, raw: text, values });
  }
  return { records, malformed };
}

/**
 * Reads CSV (RFC 4180) with a header row. Every schema column must be in the header; extra
 * columns are ignored. A row with the wrong number of fields is malformed. Empty fields are null.
 * A file the parser cannot follow (an unclosed quote) fails as a whole.
 */
export async function readCsv(path: string, columns: readonly string[]): Promise<ParsedFile> {
  const records: TextRecord[] = [];
  const malformed: MalformedRecord[] = [];
  const parser = createReadStream(path).pipe(
    parse({ relax_column_count: true, raw: true, info: true, skip_empty_lines: true, bom: true }),
  );
  let positions: number[] | undefined;
  let width = 0;
  try {
    for await (const { record, raw, info } of parser as AsyncIterable<{ record: string[]; raw: string; info: { lines: number } }>) {
      const rawText = raw.replace(/\r?\n$/, '');
      if (positions === undefined) {
        const header = record.map((h) => h.trim());
        const missing = columns.filter((c) => !header.includes(c));
        if (missing.length > 0) {
          throw new ValidationError('VALIDATION_FAILED', `${path}: the CSV header lacks column(s) ${missing.map((m) => `"${m}"`).join(', ')} of the source schema (header: ${header.join(', ')})`);
        }
        positions = columns.map((c) => header.indexOf(c));
        width = header.length;
        continue;
      }
      if (record.length !== width) {
        malformed.push({ line: info.lines, raw: rawText, reason: `expected ${width} fields, found ${record.length}` });
        continue;
      }
      records.push({ line: info.lines, raw: rawText, values: positions.map((p) => (record[p] === '' ? null : record[p]!)) });
    }
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    // A broken quote leaves the parser unable to tell where later rows start: fail the whole file
    // rather than commit part of it.
    throw new ValidationError('VALIDATION_FAILED', `${path}: malformed CSV (${(error as Error).message}); nothing was ingested, fix the file and ingest it again`, { cause: error });
  }
  return { records, malformed };
}
