import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileProject } from '../../src/definitions/index.js';
import { openPlatform } from '../../src/platform.js';
/** A platform in a fresh temporary directory with a fixed, settable clock. */
export async function tempPlatform(spec, now = 0, options = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-test-'));
    const clock = { now };
    const platform = openPlatform({ projectDir: dir, now: () => clock.now, threads: options.threads ?? 1 });
    const project = compileProject(spec);
    await platform.metadata.recordRegistry(project);
    return {
        platform, project, dir, clock,
        dispose: async () => {
            await platform.close();
            rmSync(dir, { recursive: true, force: true });
        },
    };
}
//# sourceMappingURL=temp-platform.js.map