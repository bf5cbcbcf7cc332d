import { expect, test } from 'vitest';
import { entityKeyColumns } from './entity-key-columns.js';

const request = (entities: Record<string, unknown>) => ({ features: ['v:f'], entities }) as unknown as Parameters<typeof entityKeyColumns>[0];

test('entity keys: the join keys are taken; a key the features do not take is refused; a key set to undefined counts as absent', () => {
  expect(entityKeyColumns(request({ customer_id: ['c1', 'c2'] }), ['customer_id'])).toEqual([['c1', 'c2']]);
  expect(() => entityKeyColumns(request({ customer_id: ['c1'], custmer_id: ['c1'] }), ['customer_id'])).toThrow(/entity key "custmer_id" is not a join key/);
  // A library caller's object with an optional key left undefined: not a key given.
  expect(entityKeyColumns(request({ customer_id: ['c1'], account_id: undefined }), ['customer_id'])).toEqual([['c1']]);
  expect(() => entityKeyColumns(request({ customer_id: undefined }), ['customer_id'])).toThrow(/no entity key "customer_id"/);
});
