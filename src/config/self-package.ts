import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith('.ts');

/** The `sluice` package entry this process runs from (source in tests, dist when installed). */
export function selfEntry(): string {
  return resolve(here, '..', '..', fromSource ? 'index.ts' : 'index.js');
}

/** The type declarations of that entry: what `import ... from "sluice"` type-checks against. */
export function selfTypes(): string {
  return resolve(here, '..', '..', fromSource ? 'index.ts' : 'index.d.ts');
}

/** The root of the `sluice` package (holds `package.json`, `examples/`). */
export function selfRoot(): string {
  return resolve(here, '..', '..', '..');
}
