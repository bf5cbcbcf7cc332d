import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const DIST = join(import.meta.dirname, '..', '..', 'dist');

export interface Child {
  readonly pid: number;
  /** Kills the child with SIGKILL (no cleanup runs in it) and waits until it is gone. */
  kill(): Promise<void>;
}

/**
 * Runs an ES module in a real child process. `script` is the body of an async function with
 * `dist(path)` (imports a module of the built platform) and `ready()` (tells the parent it got
 * where the test needs it). Resolves once the child called `ready()`.
 */
export async function startChild(script: string): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-child-'));
  const file = join(dir, 'child.mjs');
  writeFileSync(file, [
    `const dist = (p) => import(new URL(p, ${JSON.stringify(`${pathToFileURL(DIST).href}/`)}).href);`,
    `const ready = () => process.stdout.write('ready\\n');`,
    // Stays alive until killed, even when the script awaits a promise that never settles.
    'setInterval(() => {}, 1 << 30);',
    `await (async () => { ${script} })();`,
  ].join('\n'));
  const child: ChildProcess = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before it was ready: ${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    pid: child.pid!,
    async kill() {
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
