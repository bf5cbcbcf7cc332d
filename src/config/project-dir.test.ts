import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { projectDirectory, shownPath } from './project-dir.js';

test('a missing project directory is named as the user can type it: relative inside the current directory, else absolute', () => {
  const outside = join(tmpdir(), 'sluice-no-such-project', 'deeper');
  expect(() => projectDirectory(outside)).toThrow(`project directory ${outside} does not exist; pass --project DIR with an existing project, or create one with "sluice init ${outside}"`);
  expect(() => projectDirectory('no-such-project-here')).toThrow('project directory no-such-project-here does not exist');
  expect(shownPath(process.cwd())).toBe('.');
  expect(shownPath(join(process.cwd(), 'a', 'b'))).toBe(join('a', 'b'));
});
