import { resolve } from 'node:path';
import type { Command } from 'commander';
import { authorizeCliStatus } from '../../compliance/access/cli-principal.js';
import { describeSteps, lineageGraph, resolveLineageTarget, traceLineage } from '../../observability/lineage/index.js';
import { UsageError } from '../exit.js';
import type { CommandContext } from './command-context.js';

/** Recorded datasets the graph includes (newest first). */
const DATASET_LIMIT = 10_000;

/** `lineage NODE [--upstream|--downstream]`: the lineage graph around a node or a column, and impact analysis. */
export function registerLineageCommand(program: Command, run: CommandContext): void {
  program
    .command('lineage')
    .argument('<node>', 'kind:name or kind:name.column (kinds: source, transform, view, request, service, dataset, model), e.g. source:transactions.amount')
    .option('--upstream', 'only what it is computed from')
    .option('--downstream', 'only what depends on it (impact analysis: what breaks if it changes)')
    .description('lineage: sources -> transforms -> feature views -> feature services -> datasets -> models, by table or by column')
    .action((spec: string, options: { upstream?: boolean; downstream?: boolean }) =>
      run.withPlatform(async ({ platform, out }) => {
        if (options.upstream && options.downstream) throw new UsageError('give --upstream or --downstream, or neither for both');
        await authorizeCliStatus(platform);
        const graph = lineageGraph(await platform.project(), await platform.metadata.listDatasets(DATASET_LIMIT));
        const target = resolveLineageTarget(graph, spec, (path) => resolve(path));
        const name = `${target.node.id}${target.column === undefined ? '' : `.${target.column}`}`;
        const upstream = options.downstream ? undefined : traceLineage(graph, target, 'upstream');
        const downstream = options.upstream ? undefined : traceLineage(graph, target, 'downstream');
        const affected = downstream && [...new Set(downstream.map((s) => s.id))];
        out.result(
          { node: { id: target.node.id, kind: target.node.kind, name: target.node.name, ...(target.column === undefined ? {} : { column: target.column }), columns: target.node.columns, ...(target.node.path ? { path: target.node.path } : {}) }, ...(upstream ? { upstream } : {}), ...(downstream ? { downstream, affected } : {}) },
          () => [
            name,
            ...(upstream ? ['upstream:', ...(upstream.length === 0 ? ['  (nothing)'] : describeSteps(upstream))] : []),
            ...(downstream ? ['downstream:', ...(downstream.length === 0 ? ['  (nothing)'] : describeSteps(downstream))] : []),
            ...(affected && affected.length > 0 && target.column !== undefined ? [`a change to ${name} affects ${affected.length} node(s): ${affected.join(', ')}`] : []),
          ].join('\n'),
        );
      }),
    );
}
