import { type ProjectSpec, type Project } from '../../src/definitions/index.js';
import { type Platform } from '../../src/platform.js';
/** A platform in a fresh temporary directory with a fixed, settable clock. */
export declare function tempPlatform(spec: ProjectSpec, now?: number, options?: {
    threads?: number;
}): Promise<{
    platform: Platform;
    project: Project;
    dir: string;
    clock: {
        now: number;
    };
    dispose: () => Promise<void>;
}>;
