import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { processStart, processStillRuns } from './process-identity.js';

const canTellStarts = processStart(process.pid) !== undefined;

/** The state letter of `/proc/<pid>/stat` (field 3), or undefined once the process is reaped. */
const stateOf = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return undefined;
  }
};

test('this process and a live child still run; a pid no process has does not', () => {
  expect(processStillRuns({ pid: process.pid })).toBe(true);
  expect(processStillRuns({ pid: process.pid, started: processStart(process.pid) })).toBe(true);
  // Above the Linux pid limit (2^22): no such process.
  expect(processStillRuns({ pid: 2 ** 22 + 1 })).toBe(false);
});

test.runIf(canTellStarts)('a process killed and not yet reaped (a zombie) no longer runs, with or without its recorded start', async () => {
  // The shell starts `sleep` in the background and becomes another `sleep` (exec), which never
  // reaps its child: the killed background sleep stays a zombie while its parent lives.
  const parent = spawn('sh', ['-c', 'sleep 60 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
    const started = processStart(pid)!;
    expect(started).toBeDefined();
    expect(processStillRuns({ pid, started })).toBe(true);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 500 && stateOf(pid) !== 'Z'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stateOf(pid)).toBe('Z');
    expect(processStillRuns({ pid, started })).toBe(false);
    expect(processStillRuns({ pid })).toBe(false);
  } finally {
    parent.kill('SIGKILL');
  }
});
