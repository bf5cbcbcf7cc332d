import { fail } from './validate-names.js';

/**
 * The load-time rule for a path written in the definitions (a batch source's `path` glob, a
 * dataset's `spine` and `out`): relative to the project directory and staying inside it. Refused:
 * an absolute path (`/etc/...`, `C:\...`, `\\server\...`), a `..` segment (`../../etc/*`), a NUL
 * byte, a `~` home directory. Symlinks that lead out are refused where the files are opened
 * (`confineToProject`), since only the file system knows them.
 *
 * @example
 * checkProjectPath('source "payments"', 'path', 'data/payments/*.csv', 'data/payments/*.csv');
 */
export function checkProjectPath(where: string, option: string, path: string, example: string): void {
  const why = /\0/.test(path) ? 'holds a NUL byte'
    : /^([/\\]|[A-Za-z]:)/.test(path) ? 'is absolute'
    : /^~/.test(path) ? 'starts with ~ (a home directory)'
    : path.split(/[/\\]/).includes('..') ? 'has a ".." segment, which leads out of the project directory'
    : undefined;
  if (why !== undefined) {
    fail(`${where}: ${option} ${JSON.stringify(path)} ${why}; paths in definitions are relative to the project directory and stay inside it, e.g. "${example}" (for a file elsewhere, pass it on the command line: sluice ingest SOURCE --file PATH)`);
  }
}
