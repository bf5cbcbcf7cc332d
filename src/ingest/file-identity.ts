import { dirname, relative, resolve, sep } from 'node:path';

/**
 * What names an input file across ingests, so a re-run of it (a backfill's `--rerun`) finds its
 * earlier ingests even after its bytes changed: its path relative to the project directory (the
 * data directory's parent), with `/` separators. Moving the project with its data directory keeps
 * it; a file renamed or moved is another file.
 *
 * @example
 * fileIdentity('/srv/shop/.sluice', '/srv/shop/data/payments/2026-01-01.csv'); // 'data/payments/2026-01-01.csv'
 */
export function fileIdentity(dataDir: string, path: string): string {
  return relative(dirname(resolve(dataDir)), resolve(path)).split(sep).join('/');
}
