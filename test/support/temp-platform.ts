import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileProject, type ProjectSpec, type Project } from '../../src/definitions/index.js';
import { withParsedLineage } from '../../src/config/parse-transform-lineage.js';
import { openPlatform, type Platform } from '../../src/platform.js';

/** A platform in a fresh temporary directory with a fixed, settable clock. */
export async function tempPlatform(spec: ProjectSpec, now = 0, options: { threads?: number } = {}): Promise<{ platform: Platform; project: Project; dir: string; clock: { now: number }; dispose: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-test-'));
  const clock = { now };
  const platform = openPlatform({ projectDir: dir, now: () => clock.now, threads: options.threads ?? 1, projectSpec: spec });
  // As `sluice apply` records it: SQL transforms' column lineage read from DuckDB's parser.
  const project = await withParsedLineage(compileProject(spec));
  await platform.metadata.recordRegistry(project);
  return {
    platform, project, dir, clock,
    dispose: async () => {
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
