import { describe, expect, test } from 'vitest';
import { ConfigError, SluiceError } from '../../../errors.js';
import type { AppendOutcome, ConnectorSink, UpstreamDetails } from '../connector.js';
import { appendWhenAccepted } from './append-when-accepted.js';
import { changeAt, changeEvents } from './change-events.js';

/** A sink that records what it is handed and answers with `answer` (or throws what it gives). */
function sink(answer: () => AppendOutcome) {
  const calls: { events: readonly string[]; position?: string; upstream?: UpstreamDetails }[] = [];
  const s: ConnectorSink = {
    position: () => Promise.resolve(undefined),
    append: (events, position, upstream) => {
      calls.push({ events, ...(position === undefined ? {} : { position }), ...(upstream === undefined ? {} : { upstream }) });
      return Promise.resolve().then(answer);
    },
  };
  return { sink: s, calls };
}

const at = changeAt(0x16b3748n, 'public.accounts');

describe('CDC events name their LSN and table', () => {
  test('changeAt: a change by its record\'s LSN, a snapshot row by the snapshot\'s consistent point', () => {
    expect(at).toBe('LSN 0/16B3748 of table public.accounts');
    expect(changeAt('0/16b3000', 'public.accounts', 'snapshot')).toBe('the snapshot at LSN 0/16B3000 of table public.accounts');
  });

  test('both events of an update that changes the key are held at its LSN', () => {
    const update = { tag: 'update', relation: undefined, key: null, old: { id: '1', tier: 'a' }, new: { id: '2', tier: 'a' } } as never;
    const { events } = changeEvents(['id', 'tier'], 'id', update, '2024-03-01T12:00:00.000Z', at);
    expect(events.map((e) => [JSON.parse(e.text)._op, e.at])).toEqual([['delete', at], ['insert', at]]);
  });

  test('the sink is handed where each event is held: a refused one is dead-lettered naming its LSN', async () => {
    const { sink: s, calls } = sink(() => ({ accepted: 1, duplicates: 0, rejected: [] }));
    await appendWhenAccepted(s, { events: ['{"id":"1"}'], at: [at], what: `the change at ${at}` }, 'lsn:0/16B3800', () => false);
    expect(calls).toEqual([{ events: ['{"id":"1"}'], position: 'lsn:0/16B3800', upstream: { at: [at] } }]);
  });

  test('an append that fails names the batch\'s LSNs and table, keeping the error\'s class and code', async () => {
    const batch = { events: ['{}', '{}'], at: [at, at], what: 'the changes at LSN 0/16B3748 to 0/16B37A0 of table public.accounts' };
    const plain = sink(() => {
      throw new Error('the log is full');
    });
    await expect(appendWhenAccepted(plain.sink, batch, 'lsn:0/1', () => false)).rejects.toThrow('cannot append the changes at LSN 0/16B3748 to 0/16B37A0 of table public.accounts (2 events): the log is full');
    const config = sink(() => {
      throw new ConfigError('CONFIG_INVALID', 'source "accounts" is not defined');
    });
    const error = await appendWhenAccepted(config.sink, batch, 'lsn:0/1', () => false).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^cannot append the changes at LSN 0\/16B3748 to 0\/16B37A0 of table public\.accounts \(2 events\): source "accounts" is not defined$/) });
  });

  test('refused as OVERLOADED, it waits and appends again; stopped meanwhile, it throws naming the batch', async () => {
    let n = 0;
    const busy = sink(() => {
      if (n++ < 2) throw new SluiceError('OVERLOADED', 'behind');
      return { accepted: 1, duplicates: 0, rejected: [] };
    });
    await appendWhenAccepted(busy.sink, { events: ['{}'], at: [at], what: `the change at ${at}` }, 'lsn:0/1', () => false, 1);
    expect(busy.calls).toHaveLength(3);
    const always = sink(() => {
      throw new SluiceError('OVERLOADED', 'behind');
    });
    await expect(appendWhenAccepted(always.sink, { events: ['{}'], at: [at], what: `the change at ${at}` }, 'lsn:0/1', () => true, 1)).rejects.toMatchObject({ code: 'OVERLOADED', message: `cannot append the change at ${at} (1 event): behind` });
  });
});
