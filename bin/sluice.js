#!/usr/bin/env node
// The `sluice` command: runs the compiled CLI. `npm ci` builds it (the `prepare` script).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('sluice is not built: run "npm run build" in the sluice package first\n');
  process.exit(1);
}
await import(main.href);
