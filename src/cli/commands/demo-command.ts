import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { shownPath } from '../../config/project-dir.js';
import { runDemo, type DemoReport } from '../../demo/run-demo.js';
import { createServer } from '../../serving/http/server.js';
import { integerIn, port } from '../options.js';
import { table } from '../output.js';
import { closeAfter, untilSignal } from '../interrupt.js';
import { listen } from './serve-command.js';
import type { CommandContext } from './command-context.js';

function describe(report: DemoReport): string {
  const c = report.consistency;
  const total = Object.entries(report.timingsMs).filter(([k]) => k !== 'generate').reduce((s, [, v]) => s + v, 0);
  return [
    '',
    'Sluice demo: fraud features, embedded (DuckDB + SQLite + LMDB), no servers',
    '',
    table(['count', 'value'], Object.entries(report.counts)),
    '',
    table(['step', 'ms'], [...Object.entries(report.timingsMs), ['pipeline total (excl. generate)', total]]),
    '',
    `training dataset ${report.datasetId} (${report.counts.datasetRows} rows); a fraud-labelled row:`,
    JSON.stringify(report.sampleRow, (_k, v) => (v instanceof Date ? v.toISOString() : v), 1).replace(/\n\s*/g, ' '),
    '',
    c.mismatches.length === 0
      ? `online == offline: all ${c.values} values identical for ${c.entities} sampled customers at ${c.asOf}`
      : `online != offline: ${c.mismatches.length} of ${c.values} values differ, e.g. ${JSON.stringify(c.mismatches.slice(0, 3))}`,
    '',
    `project: ${report.dir} (sluice.config.ts, the generated files in data/, Sluice's stores in .sluice/)`,
    `training dataset: ${report.datasetPath} (manifest beside it: ${basename(report.datasetPath)}.manifest.json)`,
    'explore it:',
    ...explore(`${invocation()} --project ${shownPath(report.dir)}`),
  ].join('\n');
}

function explore(prefix: string): string[] {
  const lines = [
    ['dlq', 'the rejected records with their reasons'],
    ['status', 'freshness, firing conditions, last runs'],
    ['list views', 'the feature views'],
    ['get --entity customer_id=c000001 --service fraud_v1', 'online features of one customer'],
  ].map(([command, what]) => [`${prefix} ${command}`, what] as const);
  const width = Math.max(...lines.map(([command]) => command.length));
  return lines.map(([command, what]) => `  ${command.padEnd(width)}  # ${what}`);
}

/** The command that runs this CLI from the current directory: `sluice` on the PATH, `npx sluice` in its checkout, else node and the script. */
function invocation(): string {
  const script = process.argv[1] ?? 'sluice';
  if (basename(script) === 'sluice') return 'sluice';
  return dirname(resolve(script)) === resolve('bin') ? 'npx sluice' : `node ${script}`;
}

/** `demo`: the main job on a synthetic fraud data set, then serving until Ctrl-C. */
export function registerDemoCommand(program: Command, run: CommandContext): void {
  program
    .command('demo')
    .option('--once', 'exit after the report instead of serving')
    .option('--dir <dir>', 'where the demo project and its data go', '.sluice-demo')
    .option('--port <port>', 'port to serve on (0 to 65535)', port, 6566)
    .option('--transactions <n>', 'transactions to generate', integerIn(1, 1_000_000_000), 1_000_000)
    .option('--customers <n>', 'customers to generate', integerIn(1, 100_000_000), 10_000)
    .description('run the whole platform on a synthetic fraud data set, then serve it')
    .action((options: { once?: boolean; dir: string; port: number; transactions: number; customers: number }) =>
      run.withOutput(async (out) => {
        const { report, platform, runtime } = await runDemo({ dir: options.dir, transactions: options.transactions, customers: options.customers, log: (l) => out.info(l) });
        try {
          out.result(report, () => describe(report));
          if (report.consistency.mismatches.length > 0) process.exitCode = 1;
          if (options.once) return;
          const app = await createServer(platform, { logLevel: 'info', stream: runtime.processor });
          const address = await listen(app, '127.0.0.1', options.port);
          out.info(`\nauth is off: no keys or access rules; listening on loopback only\nserving on ${address}; try:\n  curl -s ${address}/v1/features/online -H 'content-type: application/json' -d '{"service":"fraud_v1","entities":{"customer_id":["c000001","c000042"]}}'\n  curl -s ${address}/v1/push/transactions -H 'content-type: application/json' -d '{"events":[{"txn_id":"t-now","customer_id":"c000001","amount":42.5,"merchant":"m1","ts":"'$(date -u +%FT%T.000Z)'"}]}'\nCtrl-C to stop`);
          await closeAfter(untilSignal(), () => app.close());
        } finally {
          await runtime.close();
          await platform.close();
        }
      }),
    );
}
