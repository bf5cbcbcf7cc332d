import { statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

const shown = (dir: string): string => relative(process.cwd(), dir) || '.';

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
    throw new ConfigError('PROJECT_NOT_FOUND', `project directory ${shown(dir)} does not exist; pass --project DIR with an existing project, or create one with "sluice init ${shown(dir)}"`);
  }
  if (!stat.isDirectory()) {
    throw new ConfigError('PROJECT_NOT_FOUND', `${shown(dir)} is a file, not a directory; pass a directory (the one that holds sluice.config.ts)`);
  }
  return dir;
}
