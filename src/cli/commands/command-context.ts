import type { Command } from 'commander';
import { projectDirectory } from '../../config/project-dir.js';
import { openPlatform, type Platform, type PlatformOptions } from '../../platform.js';
import { drainAlertsAtExit } from '../../observability/alerts/index.js';
import { reportError } from '../exit.js';
import { startTracing } from '../../observability/tracing.js';
import { createOutput, type Output } from '../output.js';

export interface RunArgs {
  readonly platform: Platform;
  readonly out: Output;
  readonly projectDir: string;
}

/** How commands run: global options, output, the platform, and the one error path. */
export interface CommandContext {
  withOutput(body: (out: Output) => Promise<void>): Promise<void>;
  /** `options`: platform options a command sets for itself (e.g. the online store's flush schedule). */
  withPlatform(body: (args: RunArgs) => Promise<void>, options?: Pick<PlatformOptions, 'onlineFlushEveryMs'>): Promise<void>;
}

export function commandContext(program: Command): CommandContext {
  const options = () => program.opts<{ project: string; json: boolean }>();
  const fail = (error: unknown) => {
    process.exitCode = reportError(error, options().json === true);
  };
  return {
    async withOutput(body) {
      try {
        await body(createOutput(options().json === true));
      } catch (error) {
        fail(error);
      }
    },
    async withPlatform(body, platformOptions = {}) {
      const out = createOutput(options().json === true);
      let platform: Platform | undefined;
      // Off (nothing loaded) unless OTEL_* variables configure an OTLP endpoint; flushed before exit.
      const tracing = await startTracing(process.env).catch((error: unknown) => {
        process.stderr.write(`warning: traces are not exported (${(error as Error).message}); check the OTEL_EXPORTER_OTLP_* settings\n`);
        return undefined;
      });
      try {
        const projectDir = projectDirectory(options().project);
        platform = openPlatform({ projectDir, ...platformOptions });
        await body({ platform, out, projectDir });
      } catch (error) {
        fail(error);
      } finally {
        // Best effort, bounded: a job that failed (or found a problem) alerts without a server running.
        if (platform) await drainAlertsAtExit(platform.metadata, { log: (_level, message) => process.stderr.write(`alerts: ${message}\n`) });
        await platform?.close();
        await tracing?.shutdown();
      }
    },
  };
}
