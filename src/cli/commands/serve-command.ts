import type { Command } from 'commander';
import { createServer } from '../../serving/http/server.js';
import type { CommandContext } from './command-context.js';

/** `serve`: the online feature server, until SIGINT or SIGTERM. */
export function registerServeCommand(program: Command, run: CommandContext): void {
  program
    .command('serve')
    .option('--port <port>', 'port', (v) => Number.parseInt(v, 10), 6566)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .description('serve online features over HTTP')
    .action((options: { port: number; host: string }) =>
      run.withPlatform(async ({ platform, out }) => {
        const app = await createServer(platform);
        const address = await app.listen({ port: options.port, host: options.host });
        out.result({ listening: address }, () => `serving on ${address} (Ctrl-C to stop)`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await app.close();
      }),
    );
}
