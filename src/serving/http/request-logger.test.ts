import { describe, expect, test } from 'vitest';
import { createLogger } from '../../observability/log.js';
import { requestLogger } from './request-logger.js';

type Line = Record<string, unknown>;

function logger(level: 'warn' | 'debug') {
  const lines: Line[] = [];
  const log = createLogger({ level, stream: { write: (l) => lines.push(JSON.parse(l) as Line) } });
  return { log, lines };
}

describe('requestLogger', () => {
  test('lines carry the bindings as a pino child\'s do; lines below the level are dropped', () => {
    const { log, lines } = logger('warn');
    const request = requestLogger(log, { requestId: 'r1' }, {});
    request.info({ a: 1 }, 'dropped');
    request.debug('dropped');
    expect(lines).toEqual([]);
    expect(request.level).toBe('warn');
    request.warn({ a: 1 }, 'kept');
    request.error(new Error('boom'), 'failed');
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, requestId: 'r1', service: 'sluice', a: 1, msg: 'kept' }),
      expect.objectContaining({ level: 50, requestId: 'r1', msg: 'failed', err: expect.objectContaining({ message: 'boom' }) }),
    ]);
    const child = log.child({ requestId: 'r1' });
    child.warn({ a: 1 }, 'kept');
    expect(lines[2]).toEqual({ ...lines[0], time: lines[2]!.time });
  });

  test('a child of it and a changed level behave as on a pino child', () => {
    const { log, lines } = logger('warn');
    const request = requestLogger(log, { requestId: 'r2' }, {});
    request.child({ step: 'x' }).warn('from a child');
    expect(lines[0]).toMatchObject({ requestId: 'r2', step: 'x', msg: 'from a child' });
    request.level = 'debug';
    request.debug('now on');
    expect(lines[1]).toMatchObject({ level: 20, requestId: 'r2', msg: 'now on' });
    expect(log.level).toBe('warn');
  });

  test('a route\'s own level gets a plain pino child at that level', () => {
    const { log, lines } = logger('warn');
    const request = requestLogger(log, { requestId: 'r3' }, { level: 'debug' });
    request.debug('on for this route');
    expect(lines).toEqual([expect.objectContaining({ level: 20, requestId: 'r3' })]);
  });
});
