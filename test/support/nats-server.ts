import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findServerBinary, freePort } from './server-suites.js';

export { freePort } from './server-suites.js';

export const NATS_SERVER_BINARY = {
  name: 'nats-server',
  path: findServerBinary('nats-server', [process.env.NATS_SERVER_BIN ?? '', '/usr/sbin/nats-server', '/usr/bin/nats-server'].filter((p) => p !== '')),
  install: 'apt-get install nats-server',
};

/** A real `nats-server -js` on a loopback port with a throwaway store. */
export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly store: string;
  /** Ends the server process, keeping its store (start another on the same port and store to restart it). */
  halt(): Promise<void>;
  /** Ends the server process and removes its store. */
  stop(): Promise<void>;
}

export async function startNatsServer(binary: string, options: { port?: number; store?: string } = {}): Promise<NatsServer> {
  const chosen = options.port ?? (await freePort());
  const store = options.store ?? mkdtempSync(join(tmpdir(), 'sluice-nats-'));
  const child: ChildProcess = spawn(binary, ['-js', '-a', '127.0.0.1', '-p', String(chosen), '-sd', store], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server is ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`nats-server exited (${code}) before it was ready:\n${output}`)));
    child.once('error', reject);
  });
  async function halt(): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  return {
    url: `nats://127.0.0.1:${chosen}`,
    port: chosen,
    store,
    halt,
    async stop() {
      await halt();
      rmSync(store, { recursive: true, force: true });
    },
  };
}
