import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { quotedFields, readCsvBatches, readJsonlBatches, type CsvHeader, type RecordBatch } from './read-records.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function read(name: string, content: string | Buffer, columns: string[] = ['a', 'b']): Promise<{ header?: CsvHeader; rows: Array<[number, string, string | null, string | null]> }> {
  const path = join(dir, name);
  writeFileSync(path, content);
  let header: CsvHeader | undefined;
  const batches: AsyncIterable<RecordBatch> = name.endsWith('.csv') ? readCsvBatches(path, columns, [], (h) => (header = h)) : readJsonlBatches(path, []);
  const rows: Array<[number, string, string | null, string | null]> = [];
  for await (const b of batches) b.lines.forEach((line, i) => rows.push([line, b.raws[i]!, b.problems[i]!, b.fields[i]!]));
  return { ...(header ? { header } : {}), rows };
}

describe('CSV records (RFC 4180)', () => {
  test('quoted fields: commas, escaped quotes, line breaks; a quote mid-field is malformed', () => {
    expect(quotedFields('"x,""y""",z,""')).toEqual(['x,"y"', 'z', '']);
    expect(quotedFields('a,"b\nc"')).toEqual(['a', 'b\nc']);
    expect(quotedFields(',"",')).toEqual(['', '', '']);
    expect(quotedFields('a"b,c')).toBeUndefined();
    expect(quotedFields('"a"b,c')).toBeUndefined();
  });

  test('records keep the line they start on across quoted line breaks, CRLF, blank lines and a BOM', async () => {
    const { header, rows } = await read('r.csv', '\uFEFFb,x,a\r\n1,2,3\r\n\r\n"multi\r\nline",5,"q""6"\r\n7,8,9\r\n10,"a"b,11\n12,13');
    expect(header).toEqual({ names: ['b', 'x', 'a'], positions: [2, 0], width: 3 });
    expect(rows).toEqual([
      [2, '1,2,3', null, null],
      [4, '"multi\r\nline",5,"q""6"', null, '["multi\\r\\nline","5","q\\"6"]'],
      [6, '7,8,9', null, null],
      [7, '10,"a"b,11', 'malformed CSV: a quote must open and close a whole field', null],
      [8, '12,13', null, null],
    ]);
  });

  test('a byte order mark starts the file, not the first field: a quoted header after it is read as quoted', async () => {
    const { header, rows } = await read('bq.csv', '\uFEFF"b","x","a"\r\n"1",2,3\r\n');
    expect(header).toEqual({ names: ['b', 'x', 'a'], positions: [2, 0], width: 3 });
    expect(rows).toEqual([[2, '"1",2,3', null, '["1","2","3"]']]);
  });

  test('an unclosed quote fails the whole file', async () => {
    await expect(read('u.csv', 'a,b\n1,"2\n3,4\n')).rejects.toThrow(/malformed CSV \(the quote opened in the record at line 2 is never closed\); nothing was ingested/);
  });

  test('JSONL: one record per line, blank lines skipped, line numbers kept', async () => {
    const { rows } = await read('j.jsonl', '{"a": 1}\n\n  \r\n{"a": "x,\\"y"}\r\n{"a": 3}');
    expect(rows.map(([line, raw]) => [line, raw])).toEqual([[1, '{"a": 1}'], [4, '{"a": "x,\\"y"}'], [5, '{"a": 3}']]);
  });

  test('JSONL: a byte order mark at the start of the file is not part of the first record (it would make it malformed JSON)', async () => {
    const { rows } = await read('b.jsonl', '\uFEFF{"a": 1}\r\n{"a": 2}\n');
    expect(rows).toEqual([[1, '{"a": 1}', null, null], [2, '{"a": 2}', null, null]]);
  });
});
