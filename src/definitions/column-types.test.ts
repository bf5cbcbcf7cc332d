import { expect, test } from 'vitest';
import { aColumnType } from './column-types.js';

test('a type name takes the article its first letter asks for, capitals too', () => {
  expect(['int64', 'float64', 'string', 'ISO time', 'undefined', 'object', 'bool', 'int64[3]'].map(aColumnType))
    .toEqual(['an int64', 'a float64', 'a string', 'an ISO time', 'an undefined', 'an object', 'a bool', 'an int64[3]']);
});
