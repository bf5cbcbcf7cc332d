// The harness the server comparisons share (`bench/serving-log.js`, `bench/auth.js`): options,
// the commit measured, one bench store built once, a `sluice serve` per mode over a copy of it,
// medians, and stopping the servers (each flushes what it buffers on SIGTERM) before the store is removed.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../../dist/config/load-project.js';
import { ingestFile } from '../../dist/ingest/ingest-file.js';
import { materialize } from '../../dist/processing/materialize.js';
import { openPlatform } from '../../dist/platform.js';
import { BENCH_CONFIG } from '../bench-project.js';
import { generateBenchData } from '../generate.js';
import { startChild } from '../serving.js';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** `--name N` options of the command line, numbers, with their defaults. */
export function benchOptions(defaults) {
  const args = process.argv.slice(2);
  return Object.fromEntries(Object.entries(defaults).map(([name, fallback]) => {
    const i = args.indexOf(`--${name}`);
    return [name, i < 0 ? fallback : Number(args[i + 1])];
  }));
}

/** The commit measured, and whether tracked files differ from it. */
export function benchCommit() {
  const git = (...a) => execFileSync('git', a, { cwd: benchDir, encoding: 'utf8' }).trim();
  return { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
}

export const log = (line) => process.stderr.write(`${line}\n`);
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** `n` customer keys of the bench data, spread over the `entities` customers. */
export const benchKeys = (n, offset, entities) => Array.from({ length: n }, (_, i) => `c${String((offset + i * 7919) % entities).padStart(7, '0')}`);

/**
 * Runs `run({ dir, startServer })` over a fresh bench store (the 50-feature project, `events`
 * transactions of `entities` customers, ingested and materialized) in a temporary directory.
 * `startServer(mode, { port, config, args })` copies the store to `<dir>/<mode.name>` (so each
 * server writes its own logs), calls `mode.prepare?.(modeDir)`, and starts `sluice serve` on it.
 * Servers are stopped (SIGTERM, waited for) and the directory removed whatever happens.
 */
export async function withBenchServers({ prefix, events, entities }, run) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const servers = [];
  try {
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'sluice.config.ts'), BENCH_CONFIG);
    const project = await loadProject(dir);
    const platform = openPlatform({ projectDir: dir });
    await platform.metadata.recordRegistry(project);
    const end = Math.floor(Date.now() / 60_000) * 60_000;
    const files = await generateBenchData(await platform.engine(), { dir: join(dir, 'data'), events, entities, spineRows: 1, end });
    await ingestFile(platform, project, 'transactions', files.transactions);
    await ingestFile(platform, project, 'customers', files.customers);
    log('materializing...');
    await materialize(platform, project);
    await platform.close();
    const startServer = async (mode, { port, config = BENCH_CONFIG, args = [] }) => {
      mode.dir = join(dir, mode.name);
      cpSync(join(dir, '.sluice'), join(mode.dir, '.sluice'), { recursive: true });
      writeFileSync(join(mode.dir, 'sluice.config.ts'), config);
      await mode.prepare?.(mode.dir);
      mode.url = `http://127.0.0.1:${port}/v1/features/online`;
      mode.server = await startChild([join(benchDir, '..', 'bin', 'sluice.js'), 'serve', '--project', mode.dir, '--port', String(port), '--log-level', 'warn', ...args], 'serving on');
      servers.push(mode.server);
      return mode.server;
    };
    return await run({ dir, startServer });
  } finally {
    await Promise.all(servers.map(stopServer));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Stops a server with SIGTERM and waits for it to exit (it flushes its buffers first). */
export function stopServer(server) {
  return new Promise((resolve) => {
    if (server.exitCode !== null || server.signalCode !== null) return resolve();
    server.once('exit', resolve);
    server.kill('SIGTERM');
  });
}
