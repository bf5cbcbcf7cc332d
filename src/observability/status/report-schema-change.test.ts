import { expect, test } from 'vitest';
import { ValidationError } from '../../errors.js';
import type { Source } from '../../definitions/index.js';
import { schemaChangeOf } from './report-schema-change.js';

const source: Source = { name: 's', schema: { id: 'string', amount: 'float64', n: 'int64', ts: 'timestamp' }, timestamp: 'ts', hash: 'h' };

test('a refused file names the columns it lacks; another error says nothing about the schema', () => {
  expect(schemaChangeOf(source, { error: new ValidationError('VALIDATION_FAILED', 'lacks', { details: { missingColumns: ['amount'] } }) })).toEqual({ missing: ['amount'], retyped: [] });
  expect(schemaChangeOf(source, { error: new Error('disk full') })).toBeUndefined();
});

test('a column is retyped only when no row was kept and every row failed its type check', () => {
  const reasons = ['column "amount": "abc" is not a float64', 'column "amount": "x" is not a float64; column "n": "1.5" is not an int64 (write a whole number in decimal digits)'];
  expect(schemaChangeOf(source, { accepted: 0, reasons })).toEqual({ missing: [], retyped: ['amount'] });
  expect(schemaChangeOf(source, { accepted: 0, reasons: ['column "n": "99999999999999999999" is outside the int64 range (-2^63 to 2^63-1)'] })).toEqual({ missing: [], retyped: ['n'] });
  expect(schemaChangeOf(source, { accepted: 1, reasons })).toEqual({ missing: [], retyped: [] });
  expect(schemaChangeOf(source, { accepted: 0, reasons: ['column "ts": the event timestamp is missing'] })).toEqual({ missing: [], retyped: [] });
});
