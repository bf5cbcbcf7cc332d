import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe } from 'vitest';

/**
 * Server suites (`*.server.test.ts`) test adapters against a real server binary the test starts
 * itself. `SLUICE_SERVER_TESTS` decides whether they run:
 * - `1`: they run, and a missing binary fails them (CI installs the servers: `.ci/run`);
 * - `0`: they are skipped;
 * - unset: they run when the binary is found, else they are skipped, saying why.
 */
export function findServerBinary(name: string, candidates: readonly string[]): string | undefined {
  const found = [...candidates].find((path) => existsSync(path));
  if (found !== undefined) return found;
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** `describe` for a suite that needs `binary` (see `findServerBinary`), skipped with the reason printed when it cannot run. */
export function describeWithServer(title: string, binary: { name: string; path: string | undefined; install: string }, body: (path: string) => void): void {
  const setting = process.env.SLUICE_SERVER_TESTS;
  const reason =
    setting === '0'
      ? 'SLUICE_SERVER_TESTS=0'
      : binary.path === undefined && setting !== '1'
        ? `${binary.name} not found (${binary.install}, or set SLUICE_SERVER_TESTS=1 to make its absence a failure)`
        : undefined;
  if (reason !== undefined) {
    console.warn(`skipping server suite "${title}": ${reason}`);
    describe.skip(`${title} (skipped: ${reason})`, () => body(''));
    return;
  }
  if (binary.path === undefined) throw new Error(`server suite "${title}" needs ${binary.name} (SLUICE_SERVER_TESTS=1): ${binary.install}`);
  const path = binary.path;
  describe(title, () => body(path));
}

/** A free loopback TCP port (free when asked: a server started on it right away gets it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
