import { afterEach, beforeEach } from 'vitest';
import type { ProjectSpec } from '../../src/definitions/index.js';
import { startStreamRuntime, type StreamRuntime } from '../../src/streaming/stream-runtime.js';
import { tempPlatform } from './temp-platform.js';

/** What {@link streamPlatformEach} opens for each test: the platform and its stream runtime. */
export interface StreamPlatform {
  readonly env: Awaited<ReturnType<typeof tempPlatform>>;
  readonly runtime: StreamRuntime;
}

/**
 * Opens, before each test of the file, a temporary platform of `spec` at clock `now` with a
 * stream runtime (committing only when asked), and closes both after it.
 *
 * @example
 * const each = streamPlatformEach(spec, T0);
 * test('...', async () => { await each.current.runtime.processor.append('payments', { texts }, 'push'); });
 */
export function streamPlatformEach(spec: ProjectSpec, now: number): { readonly current: StreamPlatform } {
  let current: StreamPlatform | undefined;
  beforeEach(async () => {
    const env = await tempPlatform(spec, now);
    current = { env, runtime: await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 }) };
  });
  afterEach(async () => {
    await current?.runtime.close();
    await current?.env.dispose();
    current = undefined;
  });
  return {
    get current() {
      if (current === undefined) throw new Error('streamPlatformEach: no test is running');
      return current;
    },
  };
}
