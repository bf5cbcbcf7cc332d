import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ownProcessStart, ownProcessTag, processOfTag, processStart, processStillRuns } from './process-identity.js';

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

test.runIf(canTellStarts)('a tag carries the boot and pid namespace it was made in: read back anywhere, it names the same start as a lease would', () => {
  const tag = ownProcessTag();
  expect(tag).toMatch(/^\d+\.\d+\.\d+\.[0-9a-f]+$/);
  expect(processOfTag(tag)).toEqual({ pid: process.pid, started: ownProcessStart() });
  expect(processStillRuns(processOfTag(tag)!)).toBe(true);
  // A holder recorded in another pid namespace: its pid says nothing here, so it is held (as a lease is).
  const [pid, ticks, , boot] = tag.split('.');
  const other = processOfTag(`${pid}.${ticks}.1.${boot}`)!;
  expect(other.started).toMatch(/:1$/);
  expect(processStillRuns(other)).toBe(true);
  expect(processStillRuns(processOfTag(`${2 ** 22 + 1}.${ticks}.1.${boot}`)!)).toBe(true);
  // Older tags still parse, as of this boot and namespace: a bare pid, and pid.ticks.
  expect(processOfTag(String(process.pid))).toEqual({ pid: process.pid });
  expect(processOfTag(`${pid}.${ticks}`)).toEqual({ pid: process.pid, started: ownProcessStart() });
  expect(processStillRuns(processOfTag(`${2 ** 22 + 1}.${ticks}`)!)).toBe(false);
  expect(processOfTag('12.x')).toBeUndefined();
});

const canUnshare = canTellStarts && process.getuid?.() === 0 && spawnSync('unshare', ['-p', '-f', '--mount-proc', 'true']).status === 0;

test.runIf(canUnshare)('a process in another pid namespace takes a live holder\'s tag for live (gc would otherwise delete its files)', () => {
  const module = join(import.meta.dirname, '..', '..', 'dist', 'orchestration', 'process-identity.js');
  const script = `import(${JSON.stringify(module)}).then((m) => console.log(JSON.stringify({ pid: process.pid, runs: m.processStillRuns(m.processOfTag(process.argv[1])) })))`;
  const child = spawnSync('unshare', ['-p', '-f', '--mount-proc', process.execPath, '-e', script, ownProcessTag()], { encoding: 'utf8' });
  expect(child.status, child.stderr).toBe(0);
  const seen = JSON.parse(child.stdout) as { pid: number; runs: boolean };
  expect(seen.pid).not.toBe(process.pid);
  expect(seen.runs).toBe(true);
});

test.runIf(canTellStarts)('a holder recorded in another boot is gone, whatever its pid namespace (a reboot ends every process)', () => {
  const [pid, ticks, namespace] = ownProcessTag().split('.');
  const oldBoot = '00000000000040008000000000000000';
  for (const ns of [namespace, '1']) {
    const holder = processOfTag(`${pid}.${ticks}.${ns}.${oldBoot}`)!;
    expect(holder.started).toMatch(/^00000000-0000-4000-8000-000000000000:/);
    expect(processStillRuns(holder)).toBe(false);
  }
});
