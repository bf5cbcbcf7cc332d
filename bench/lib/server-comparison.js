// The harness the server comparisons share (`bench/serving-log.js`, `bench/auth.js`): options,
// the commit measured, one bench store built once, a `sluice serve` per mode over a copy of it,
// medians, and stopping the servers (each flushes what it buffers on SIGTERM) before the store is removed.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
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

/**
 * The two builds an in-process A/B bench loads (this checkout and `--baseline CHECKOUT`, each with its
 * own `dist/`), and a scratch directory (`prefix`) holding the bench project's config; remove it after.
 */
export function abBuilds(prefix) {
  const at = process.argv.indexOf('--baseline');
  if (at < 0) throw new Error('--baseline CHECKOUT is required');
  const root = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(root, 'sluice.config.ts'), BENCH_CONFIG);
  return { checkouts: { this: resolve(benchDir, '..'), baseline: resolve(process.argv[at + 1]) }, root };
}

/** The commit measured (of this checkout, or of `checkout`), and whether tracked files differ from it. */
export function benchCommit(checkout = benchDir) {
  try {
    const git = (...a) => execFileSync('git', ['-C', checkout, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
  } catch {
    // A copy of a build (not a checkout) may say what it was built from in a COMMIT file.
    return { sha: existsSync(join(checkout, 'COMMIT')) ? readFileSync(join(checkout, 'COMMIT'), 'utf8').trim() : 'not a git checkout', dirty: null };
  }
}

/**
 * On a machine of 2 CPUs or more, pins this process (the load generator: autocannon runs in it)
 * to CPU 0 and returns the CPU list the servers are to be pinned to (`'1'`), so that load
 * generator and server do not take turns on one CPU; undefined (nothing pinned) with `--no-pin`,
 * on one CPU, or without `taskset`.
 */
export function pinnedCpus() {
  if (process.argv.includes('--no-pin') || availableParallelism() < 2) return undefined;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
    return '1';
  } catch {
    return undefined;
  }
}

/** Bytes of the serving log files a server of `projectDir` has written so far. */
export const logBytes = (projectDir) => {
  let bytes = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else bytes += statSync(join(d, e.name)).size;
    }
  };
  try { walk(join(projectDir, '.sluice', 'serving-log')); } catch { /* no log yet */ }
  return bytes;
};

/** Rows a bench server's serving log has dropped so far (buffer full or failed write), all services, from its /metrics. */
export const droppedRows = async (server) => {
  const text = await (await globalThis.fetch(server.url.replace('/v1/features/online', '/metrics'))).text();
  return [...text.matchAll(/^sluice_serving_log_dropped_rows_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
};

export const log = (line) => process.stderr.write(`${line}\n`);
/** The median; of an even count, the mean of the two middle values (not the upper one: a ratio of two
 * such medians would otherwise compare different rounds' values). */
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
};
/** `n` customer keys of the bench data, spread over the `entities` customers. */
export const benchKeys = (n, offset, entities) => Array.from({ length: n }, (_, i) => `c${String((offset + i * 7919) % entities).padStart(7, '0')}`);

/**
 * Runs `run({ dir, startServer })` over a fresh bench store (the 50-feature project, or `config`'s, `events`
 * transactions of `entities` customers, ingested and materialized) in a temporary directory.
 * `startServer(mode, { port, config, args, checkout, cpus })` copies the store to `<dir>/<mode.name>`
 * (so each server writes its own logs), calls `mode.prepare?.(modeDir)`, and starts `sluice serve`
 * on it: this checkout's, or `checkout`'s (a directory with `bin/sluice.js` and a built `dist/`),
 * pinned to `cpus` when given (see `pinnedCpus`).
 * Servers are stopped (SIGTERM, waited for) and the directory removed whatever happens.
 */
export async function withBenchServers({ prefix, events, entities, config: storeConfig = BENCH_CONFIG }, run) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const servers = [];
  try {
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'sluice.config.ts'), storeConfig);
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
    const startServer = async (mode, { port, config = storeConfig, args = [], checkout = join(benchDir, '..'), cpus }) => {
      mode.dir = join(dir, mode.name);
      cpSync(join(dir, '.sluice'), join(mode.dir, '.sluice'), { recursive: true });
      writeFileSync(join(mode.dir, 'sluice.config.ts'), config);
      await mode.prepare?.(mode.dir);
      mode.url = `http://127.0.0.1:${port}/v1/features/online`;
      mode.server = await startChild([join(checkout, 'bin', 'sluice.js'), 'serve', '--project', mode.dir, '--port', String(port), '--log-level', 'warn', ...args], 'serving on', { cpus });
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
