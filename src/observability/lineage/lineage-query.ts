import { didYouMean } from '../../definitions/index.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { ColumnTransformation, LineageGraph, LineageNode } from './lineage-graph.js';

/** What `sluice lineage NODE` names: a node (`source:transactions`) or one of its columns (`source:transactions.amount`). */
export interface LineageTarget {
  readonly node: LineageNode;
  readonly column?: string;
}

/** One node or column reached from the target, in depth-first order; `from` is what it was reached from. */
export interface LineageStep {
  readonly id: string;
  readonly kind: LineageNode['kind'];
  readonly column?: string;
  readonly depth: number;
  readonly from: string;
  readonly transformation?: ColumnTransformation;
}

const KINDS = ['source', 'transform', 'view', 'input', 'request', 'service', 'dataset', 'model'];

/**
 * Resolves `kind:name[.column]`, or a bare `name[.column]` when one node has that name. A dataset
 * is named by its id or its path (as recorded, or as `resolvePath` resolves a relative one: the CLI
 * resolves it from where the command runs, as `--out` was); a column by its output name (`spend__total_usd` in a service).
 *
 * @example
 * resolveLineageTarget(graph, 'source:transactions.amount'); // { node: <source transactions>, column: 'amount' }
 */
export function resolveLineageTarget(graph: LineageGraph, spec: string, resolvePath?: (path: string) => string): LineageTarget {
  const colon = spec.indexOf(':');
  const kind = colon > 0 && KINDS.includes(spec.slice(0, colon)) ? spec.slice(0, colon) : undefined;
  const rest = kind ? spec.slice(colon + 1) : spec;
  const nodes = [...graph.nodes.values()].filter((n) => kind === undefined || n.kind === kind);
  // A dataset's path as written (relative to where the command runs, as `--out` was) also names it.
  const named = (name: string) => nodes.filter((n) => n.name === name || (n.path !== undefined && (n.path === name || n.path === resolvePath?.(name))));
  // The longest prefix that names a node wins, so names and paths with dots still resolve.
  for (let end = rest.length; end > 0; end = rest.lastIndexOf('.', end - 1)) {
    const all = named(rest.slice(0, end));
    // A bare request view's name names the view, not its request fields (`input:<name>`).
    const found = kind === undefined && all.some((n) => n.kind !== 'input') ? all.filter((n) => n.kind !== 'input') : all;
    if (found.length > 1) throw new ValidationError('VALIDATION_FAILED', `"${rest.slice(0, end)}" names ${found.map((n) => n.id).join(' and ')}; write one of them`);
    const node = found[0];
    if (!node) continue;
    const column = end < rest.length ? rest.slice(end + 1) : undefined;
    if (column !== undefined && !(column in node.columns)) throw new NotFoundError('NOT_FOUND', `${node.id} has no column "${column}"${didYouMean(column, Object.keys(node.columns))}; its columns: ${Object.keys(node.columns).join(', ')}`);
    return { node, ...(column === undefined ? {} : { column }) };
  }
  throw new NotFoundError('NOT_FOUND', `no lineage node "${spec}"${didYouMean(rest, nodes.map((n) => n.name))}; name one as kind:name[.column], kind one of ${KINDS.join(', ')}`);
}

/**
 * The nodes (or, for a column, the columns) the target feeds (`downstream`: impact analysis, what
 * breaks if it changes) or is fed by (`upstream`), depth first, each once.
 */
export function traceLineage(graph: LineageGraph, target: LineageTarget, direction: 'upstream' | 'downstream'): LineageStep[] {
  const steps: LineageStep[] = [];
  const seen = new Set<string>();
  const down = direction === 'downstream';
  const kindOf = (id: string) => graph.nodes.get(id)?.kind ?? 'source';
  if (target.column === undefined) {
    const visit = (id: string, depth: number) => {
      for (const edge of graph.edges) {
        const [at, next] = down ? [edge.from, edge.to] : [edge.to, edge.from];
        if (at !== id || seen.has(next)) continue;
        seen.add(next);
        steps.push({ id: next, kind: kindOf(next), depth, from: id });
        visit(next, depth + 1);
      }
    };
    seen.add(target.node.id);
    visit(target.node.id, 1);
    return steps;
  }
  const key = (node: string, column: string) => `${node}.${column}`;
  const visit = (node: string, column: string, depth: number) => {
    for (const edge of graph.columnEdges) {
      const [at, next] = down ? [edge.from, edge.to] : [edge.to, edge.from];
      if (at.node !== node || at.column !== column || seen.has(key(next.node, next.column))) continue;
      seen.add(key(next.node, next.column));
      steps.push({ id: next.node, kind: kindOf(next.node), column: next.column, depth, from: key(node, column), transformation: edge.transformation });
      visit(next.node, next.column, depth + 1);
    }
  };
  seen.add(key(target.node.id, target.column));
  visit(target.node.id, target.column, 1);
  return steps;
}

/** The steps as an indented tree, one line each. */
export function describeSteps(steps: readonly LineageStep[]): string[] {
  return steps.map((s) => `${'  '.repeat(s.depth)}${s.id}${s.column === undefined ? '' : `.${s.column}`}${s.transformation ? `  (${transformationLabel(s.transformation)})` : ''}`);
}

/** `transformation`, `aggregation`, `indirect: filter`, `transformation, unresolved`: how a step is reached, as `sluice lineage` prints it. */
function transformationLabel(t: ColumnTransformation): string {
  const subtype = t.subtype.toLowerCase().replace('_', ' ');
  return `${t.type === 'INDIRECT' ? `indirect: ${subtype}` : subtype}${t.unresolved === true ? ', unresolved' : ''}`;
}
