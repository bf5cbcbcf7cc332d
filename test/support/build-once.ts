import { execFileSync } from 'node:child_process';

/** Vitest global setup: the CLI tests run the built `sluice` bin, so build it from the current source first. */
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
