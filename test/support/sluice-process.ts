import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** A start that takes longer is stuck (on this loaded machine a start takes a few seconds). */
const READY_MS = 90_000;
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'sluice.js');

/** A long-running `sluice` command (`serve`, `worker`) in a child process. */
export interface SluiceProcess {
  readonly pid: number;
  /** SIGKILL: nothing runs in the child any more; resolves once it is gone. */
  kill(): Promise<void>;
  /**
   * SIGTERM, or `signal` (SIGINT, as Ctrl-C sends): an orderly stop; resolves with its exit code
   * (128 + the signal's number after an orderly stop: 143, 130), or the signal that ended it.
   */
  stop(signal?: 'SIGTERM' | 'SIGINT'): Promise<number | string>;
  /** Resolves with its exit code (or signal) once it exits, of itself or stopped. */
  readonly exited: Promise<number | string>;
  stderr(): string;
  /** What it printed so far (with `--json`, its start line's JSON first). */
  stdout(): string;
}

/**
 * Starts the built `sluice` bin with `args` on project `dir` (`--json`), with `env` added to the
 * child's environment only; resolves once it printed its first result that is not an error (`serve`: listening,
 * `worker`: running), rejects with its stderr when it exits before.
 */
export async function startSluice(dir: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<SluiceProcess> {
  const child: ChildProcess = spawn(process.execPath, [BIN, '--project', dir, '--json', ...args], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      // A refused start prints its error as JSON too (then exits): that is not ready.
      if (stdout.includes('}') && !/^\s*\{\s*"error"/.test(stdout)) resolve();
    });
    void exited.then((code) => reject(new Error(`sluice ${args.join(' ')} exited (${code}) before it was ready:\n${stderr}${stdout}`)));
    setTimeout(() => reject(new Error(`sluice ${args.join(' ')} was not ready after ${READY_MS} ms (a stuck start):\n${stderr}`)), READY_MS).unref();
  });
  return {
    pid: child.pid!,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
    exited,
    stderr: () => stderr,
    stdout: () => stdout,
  };
}
