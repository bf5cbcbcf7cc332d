import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, defineProject, env, postgresTable, type PostgresTableSpec } from '../../../definitions/index.js';
import { decodeMark, encodeMark, postgresTableConfig } from './postgres-table-config.js';

const schema = { id: 'int64', note: 'string', ok: 'bool', at: 'timestamp' } as const;
const compile = (connector: Partial<PostgresTableSpec>, eventId?: string) =>
  compileProject(defineProject({ name: 'p', entities: [], featureViews: [], sources: [batchSource({ name: 's', schema, timestamp: 'at', ...(eventId ? { eventId } : {}), connector: postgresTable({ connection: env('DB'), table: 'public.t', cursor: 'at', ...connector }) })] })).sources[0]!;

describe('postgresTable definitions', () => {
  test('the key defaults to the eventId; the connector stays out of the hash and keeps env() a reference', () => {
    const source = compile({}, 'id');
    expect(source.connector).toEqual({ kind: 'postgresTable', connection: { kind: 'env', name: 'DB' }, table: 'public.t', cursor: 'at', key: 'id' });
    const plain = compileProject(defineProject({ name: 'p', entities: [], featureViews: [], sources: [batchSource({ name: 's', schema, timestamp: 'at', eventId: 'id' })] })).sources[0]!;
    expect(source.hash).toBe(plain.hash);
  });

  test.each([
    [{ query: 'SELECT 1' }, 'needs exactly one of table ("public.payments") or query'],
    [{ table: undefined }, 'needs exactly one of table'],
    [{ cursor: 'when' }, 'cursor column "when" is not in the source\'s schema'],
    [{ cursor: 'ok' }, 'cursor column "ok" has type "bool"'],
    [{ key: undefined }, 'give key: "<column>" (or the source\'s eventId)'],
    [{ key: 'at' }, 'key column "at" has type "timestamp"; it must be string or int64'],
    [{ key: 'id', pageSize: 0 }, 'pageSize 0 must be a whole number from 1 to 1000000'],
  ] as Array<[Partial<PostgresTableSpec>, string]>)('refuses %j', (connector, message) => {
    expect(() => compile(connector)).toThrow(message);
  });

  test('the config reads the connection from the environment only when an ingest starts, and quotes the table', () => {
    const source = compile({ key: 'note', table: 'Sales.Payments' });
    expect(() => postgresTableConfig(source, {})).toThrow('reads environment variable DB, which is not set');
    expect(postgresTableConfig(source, { DB: 'postgres://u:pw@h/db' })).toMatchObject({ connection: 'postgres://u:pw@h/db', relation: '"Sales"."Payments"', origin: 'postgres:Sales.Payments', key: 'note', pageSize: 10_000 });
    const query = compile({ key: 'id', table: undefined, query: ' SELECT * FROM t ; ' });
    expect(postgresTableConfig(query, { DB: 'x' })).toMatchObject({ relation: '(SELECT * FROM t)', origin: 'postgres:query' });
  });

  test('a mark round-trips, and a source without the connector is told to give a file', () => {
    const mark = { cursor: '2025-01-01 00:00:00.123456+00', key: 'a"b' };
    expect(decodeMark(encodeMark(mark))).toEqual(mark);
    expect(decodeMark(undefined)).toBeUndefined();
    const plain = compileProject(defineProject({ name: 'p', entities: [], featureViews: [], sources: [batchSource({ name: 's', schema, timestamp: 'at' })] })).sources[0]!;
    expect(() => postgresTableConfig(plain)).toThrow('sluice ingest s --file PATH');
  });
});

test('an ingest from Postgres names its table (not the connection) as its OpenLineage input', async () => {
  const { runEvent } = await import('../../../observability/lineage/index.js');
  const project = compileProject(defineProject({ name: 'p', entities: [], featureViews: [], sources: [batchSource({ name: 's', schema, timestamp: 'at', eventId: 'id', connector: postgresTable({ connection: env('DB'), table: 'public.t', cursor: 'at' }) })] }));
  const event = runEvent({ eventType: 'COMPLETE', runId: '0190f7a0-0000-7000-8000-000000000000', job: 'ingest', params: { source: 's', from: 'postgres:public.t' }, stats: { accepted: 2, rejected: 0 }, at: 0, project }, 'sluice');
  expect(event.inputs).toMatchObject([{ namespace: 'postgres', name: 'public.t' }]);
});
