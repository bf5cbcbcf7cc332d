import { expect, test } from 'vitest';
import type { EntityState } from '../../../processing/entity-state.js';
import { HOT_STATE_OVERHEAD_BYTES, HotStates } from './hot-states.js';

const state = (horizon: number): EntityState => ({ horizon, base: [], ts: new Float64Array(0), columns: [] });

test('kept states are used only while the stored stamp is the one this handle wrote last', () => {
  const hot = new HotStates(1024 * 1024);
  hot.begin(1, undefined);
  hot.set(1, 'a', state(1), 100);
  const stamp = hot.stamp(1);
  hot.begin(1, stamp);
  expect(hot.get(1, 'a')?.horizon).toBe(1);
  // Another writer stored its own stamp (or this handle's last transaction did not commit).
  hot.begin(1, 'someone-else:1');
  expect(hot.get(1, 'a')).toBeUndefined();
  expect(hot.size()).toEqual({ states: 0, bytes: 0 });
  // A stamp is never reused, across handles either.
  expect(new HotStates(1).stamp(1)).not.toBe(hot.stamp(1));
});

test('the least recently used states go first once over budget; a generation is dropped alone', () => {
  const hot = new HotStates(3 * (HOT_STATE_OVERHEAD_BYTES + 10));
  hot.set(1, 'a', state(1), 10);
  hot.set(1, 'b', state(2), 10);
  hot.set(2, 'a', state(3), 10);
  expect(hot.get(1, 'a')?.horizon).toBe(1); // now the most recently used
  hot.set(2, 'b', state(4), 10);
  expect(hot.get(1, 'b')).toBeUndefined();
  expect([hot.get(1, 'a')?.horizon, hot.get(2, 'a')?.horizon, hot.get(2, 'b')?.horizon]).toEqual([1, 3, 4]);
  hot.set(2, 'b', state(5), 10); // replacing a state does not count it twice
  expect(hot.size().states).toBe(3);
  hot.drop(2);
  expect(hot.size()).toEqual({ states: 1, bytes: HOT_STATE_OVERHEAD_BYTES + 10 });
  expect(hot.get(1, 'a')?.horizon).toBe(1);
});

test('a budget of 0 keeps nothing', () => {
  const hot = new HotStates(0);
  hot.set(1, 'a', state(1), 10);
  expect(hot.get(1, 'a')).toBeUndefined();
});
