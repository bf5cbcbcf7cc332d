import { statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * A path as the user can type it from the current directory: relative when inside it, else
 * absolute (never `../../..` up to the root and down again).
 *
 * @example
 * shownPath('/home/me/proj/data'); // 'data' in /home/me/proj, '/home/me/proj/data' in /tmp
 */
export function shownPath(path: string): string {
  const inside = relative(process.cwd(), resolve(path));
  if (inside === '') return '.';
  return inside.startsWith('..') || isAbsolute(inside) ? resolve(path) : inside;
}

/**
 * Checks that a project directory is usable: an existing directory, or (with `mayCreate`) a path
 * that does not exist yet. Returns the absolute path; throws a ConfigError naming the fix.
 *
 * @example
 * const dir = projectDirectory(options.project); // throws for a file or a missing directory
 */
export function projectDirectory(path: string, options: { mayCreate?: boolean } = {}): string {
  const dir = resolve(path);
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (stat === undefined) {
    if (options.mayCreate) return dir;
    throw new ConfigError('PROJECT_NOT_FOUND', `project directory ${shownPath(dir)} does not exist; pass --project DIR with an existing project, or create one with "sluice init ${shownPath(dir)}"`);
  }
  if (!stat.isDirectory()) {
    throw new ConfigError('PROJECT_NOT_FOUND', `${shownPath(dir)} is a file, not a directory; pass a directory (the one that holds sluice.config.ts)`);
  }
  return dir;
}
