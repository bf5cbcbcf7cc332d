#!/usr/bin/env node
import { Command, Option } from 'commander';
import { commandContext } from './commands/command-context.js';
import { registerDataCommands } from './commands/data-commands.js';
import { registerDemoCommand } from './commands/demo-command.js';
import { registerProjectCommands } from './commands/project-commands.js';
import { registerRegistryCommands } from './commands/registry-commands.js';
import { registerCompactCommand } from './commands/compact-command.js';
import { registerServeCommand } from './commands/serve-command.js';
import { registerStreamCommands } from './commands/real-time.js';
import { registerTransformCommands } from './commands/transform-commands.js';
import { registerLineageCommand } from './commands/lineage-command.js';
import { registerStatusCommands } from './commands/status-commands.js';
import { registerOrchestrationCommands } from './commands/orchestration-commands.js';
import { registerDriftCommand } from './commands/drift-command.js';
import { registerQualityCommands } from './commands/quality-commands.js';
import { registerRetentionCommands } from './commands/retention-commands.js';
import { registerSkewCommand } from './commands/skew-command.js';
import { registerClassificationCommands } from './commands/classification-commands.js';
import { registerKeysCommands } from './commands/keys-commands.js';
import { registerAuditCommands } from './commands/audit-commands.js';
import { registerErasureCommands } from './commands/erasure-commands.js';
import { EXIT_USAGE, reportError } from './exit.js';

const program = new Command('sluice')
  .description('Sluice: one set of TypeScript definitions for ingestion, a Parquet lake, training datasets and online serving')
  .option('--project <dir>', 'project directory (holds sluice.config.ts)', process.cwd())
  .addOption(new Option('--json', 'machine-readable output'))
  .showHelpAfterError()
  // Throw instead of exiting, so usage errors get exit code 2 in one place (subcommands inherit this).
  .exitOverride();

const run = commandContext(program);
registerProjectCommands(program, run);
registerDataCommands(program, run);
registerRegistryCommands(program, run);
registerCompactCommand(program, run);
registerServeCommand(program, run);
registerStreamCommands(program, run);
registerDemoCommand(program, run);
registerTransformCommands(program, run);
registerLineageCommand(program, run);
registerStatusCommands(program, run);
registerOrchestrationCommands(program, run);
registerDriftCommand(program, run);
registerQualityCommands(program, run);
registerRetentionCommands(program, run);
registerSkewCommand(program, run);
registerClassificationCommands(program, run);
registerKeysCommands(program, run);
registerAuditCommands(program, run);
registerErasureCommands(program, run);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const code = reportError(error, false);
  process.exitCode = code === 0 ? 0 : EXIT_USAGE;
}
