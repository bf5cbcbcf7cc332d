import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compileProject, defineProject, rowCount, streamSource, unique } from '../definitions/index.js';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import { checkWholeGroup } from './stream-checks.js';

let engine: SqlEngine;
beforeAll(async () => {
  engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
});
afterAll(async () => {
  await engine.close();
});

const SPAN = 2 ** 32;
const project = (checks: Parameters<typeof streamSource>[0]['checks']) =>
  compileProject(defineProject({ name: 'p', entities: [], sources: [streamSource({ name: 's', schema: { id: 'string', ts: 'timestamp' }, timestamp: 'ts', checks })], featureViews: [] }));
/** A group's checked table: request p's rows at `_line` p * SPAN + i. */
const group = async (requests: string[][]) => {
  const rows = requests.flatMap((ids, p) => ids.map((id, i) => `(${p * SPAN + i}::DOUBLE, '', '${id}', '2024-01-01T00:00:00Z')`));
  await engine.run(`CREATE OR REPLACE TEMP TABLE g (_line DOUBLE, _reason VARCHAR, id VARCHAR, ts VARCHAR); INSERT INTO g VALUES ${rows.join(', ')}`);
};
const reasons = async () => (await engine.all<{ r: string }>(`SELECT _reason AS r FROM g ORDER BY _line`)).map((x) => x.r);

describe('checkWholeGroup: each request of a group judged on its own rows', () => {
  test('a group can pass a rowCount minimum that one of its requests fails: only that request is rejected', async () => {
    const p = project([rowCount({ min: 2, severity: 'error' })]);
    await group([['a', 'b', 'c'], ['d']]);
    const verdict = await checkWholeGroup(engine, p, p.sources[0]!, 'g', Date.parse('2024-01-02T00:00:00Z'), { count: 2, span: SPAN });
    expect(await reasons()).toEqual(['', '', '', 'check row_count: rows >= 2: the batch has 1 rows']);
    expect(verdict!.results[0]).toMatchObject({ passed: false, totalRows: 4 });
  });

  test('a key repeated across two requests is no failure of either (ids across requests are the event id\'s business); within one it is', async () => {
    const p = project([unique('id', { severity: 'error' })]);
    await group([['a', 'b'], ['a', 'c'], ['d', 'd']]);
    await checkWholeGroup(engine, p, p.sources[0]!, 'g', 0, { count: 3, span: SPAN });
    expect(await reasons()).toEqual(['', '', '', '', 'check id_unique: (id) is unique: 2 of 2 rows fail', 'check id_unique: (id) is unique: 2 of 2 rows fail']);
  });
});
