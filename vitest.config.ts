import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest's default (cores - 1) runs the files one at a time on a 2-core machine, where most
    // end-to-end files wait on the CLI processes they start: two at a time ran the suite in 451 s
    // against 709 s one at a time (Node 20, server suites included, on an otherwise idle machine).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    globalSetup: ['test/support/build-once.ts'],
    setupFiles: ['test/support/text-columns-equal.ts'],
  },
});
