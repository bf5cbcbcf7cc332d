import { featureColumn, isDirectSubtype, strongerSubtype, type ColumnType, type DirectSubtype, type FeatureView, type LineageTransformation, type Project, type Transform } from '../../definitions/index.js';
import type { DatasetRecord } from '../../storage/metadata/metadata-store.js';
import { columnReferences } from './column-references.js';

/** `input`: the fields a request view's requests carry (`input:<request view>`; in a dataset build, the spine's columns of those names). */
export type LineageNodeKind = 'source' | 'transform' | 'view' | 'input' | 'request' | 'service' | 'dataset' | 'model';

/** A table-like thing data flows through; its id is `<kind>:<name>` (a dataset's name is its id). */
export interface LineageNode {
  readonly id: string;
  readonly kind: LineageNodeKind;
  readonly name: string;
  /** Output columns and their types, in order (a dataset lists its feature columns). */
  readonly columns: Readonly<Record<string, ColumnType | 'unknown'>>;
  /** Where a dataset was written. */
  readonly path?: string;
}

/**
 * How an output column comes from an input column, in OpenLineage's terms (`LineageTransformation`):
 * DIRECT (IDENTITY, TRANSFORMATION, AGGREGATION) or INDIRECT (JOIN, GROUP_BY, FILTER, SORT, WINDOW,
 * CONDITIONAL); `unresolved` where the definitions cannot tell which columns are read.
 */
export type ColumnTransformation = LineageTransformation;

export interface ColumnEdge {
  readonly from: { readonly node: string; readonly column: string };
  readonly to: { readonly node: string; readonly column: string };
  readonly transformation: ColumnTransformation;
  /** The input column decides which rows the node outputs (a transform's filter, join, grouping): an edge to each of its columns, dataset-level in OpenLineage. */
  readonly decidesRows?: true;
}

/**
 * The transformation along a path of column edges (input side first): DIRECT only if every hop is
 * DIRECT, with the strongest hop's subtype (IDENTITY < TRANSFORMATION < AGGREGATION); INDIRECT if
 * any hop is, with the subtype of the INDIRECT hop nearest the output (how the output finally
 * depends on it); unresolved if any hop is.
 *
 * @example
 * composedTransformation([{ type: 'DIRECT', subtype: 'IDENTITY' }, { type: 'DIRECT', subtype: 'AGGREGATION' }]); // { type: 'DIRECT', subtype: 'AGGREGATION' }
 */
export function composedTransformation(path: readonly ColumnTransformation[]): ColumnTransformation {
  const unresolved = path.some((t) => t.unresolved === true) ? { unresolved: true as const } : {};
  const indirect = path.filter((t) => t.type === 'INDIRECT').at(-1);
  if (indirect !== undefined) return { type: 'INDIRECT', subtype: indirect.subtype, ...unresolved };
  const subtype = path.reduce<DirectSubtype>((s, t) => (isDirectSubtype(t.subtype) ? strongerSubtype(s, t.subtype) : s), 'IDENTITY');
  return { type: 'DIRECT', subtype, ...unresolved };
}

/** Where the definitions cannot tell which of the columns an output reads (a request view's function, a transform without a parse): each a candidate. */
const UNRESOLVED: ColumnTransformation = { type: 'DIRECT', subtype: 'TRANSFORMATION', unresolved: true };

/** Sources -> transforms -> feature views (and request fields) -> request views -> feature services -> datasets -> models. */
export interface LineageGraph {
  readonly nodes: ReadonlyMap<string, LineageNode>;
  /** Table-level edges, `from` feeds `to`. */
  readonly edges: readonly { readonly from: string; readonly to: string }[];
  readonly columnEdges: readonly ColumnEdge[];
}

/** The node id of a request view's request fields (`input:<request view>`). */
export function requestInputId(requestView: string): string {
  return `input:${requestView}`;
}

/** The node id of a lake table: a source, or a transform's output table. */
export function tableNodeId(project: Project, name: string): string {
  return project.sources.find((s) => s.name === name)?.kind === 'transform' ? `transform:${name}` : `source:${name}`;
}

const FEATURE_SUBTYPE = { field: 'IDENTITY', last: 'IDENTITY' } as const;

/**
 * The column edges into a feature view's features from its source's columns: a feature reads its
 * column (through a derived column, the source columns the expression reads); the filter's
 * columns decide which rows every feature sees.
 */
export function viewColumnEdges(project: Project, view: FeatureView): ColumnEdge[] {
  const sourceId = tableNodeId(project, view.source);
  const source = project.sources.find((s) => s.name === view.source);
  const sourceColumns = Object.keys(source?.schema ?? {});
  const filterColumns = view.filter === undefined ? [] : columnReferences(view.filter, sourceColumns);
  const to = (feature: string) => ({ node: `view:${view.name}`, column: feature });
  return view.features.flatMap((feature) => {
    const derived = feature.column === undefined ? undefined : view.derived?.[feature.column];
    const read = feature.column === undefined ? [] : derived ? columnReferences(derived.sql, sourceColumns) : [feature.column];
    const subtype = derived ? 'TRANSFORMATION' : (FEATURE_SUBTYPE as Record<string, 'IDENTITY'>)[feature.fn] ?? 'AGGREGATION';
    return [
      ...read.map((column) => ({ from: { node: sourceId, column }, to: to(feature.name), transformation: { type: 'DIRECT', subtype } as const })),
      ...filterColumns.map((column) => ({ from: { node: sourceId, column }, to: to(feature.name), transformation: { type: 'INDIRECT', subtype: 'FILTER' } as const })),
    ];
  });
}

/**
 * A SQL transform's column edges, from the parse of its SQL stored with the project
 * (`Transform.columnInputs`, `Transform.rowInputs`, read from DuckDB's parse tree): each output
 * gets its own edges as the parse typed them (DIRECT ones listed first, so a trace names them
 * so), and the columns that decide which rows count (filters, joins, groupings, sorts) an
 * INDIRECT edge to every output (`decidesRows`). Without a parse (SQL DuckDB does not serialize, a
 * project applied before it was stored), every input column is an unresolved candidate of every
 * output, as the classification assumes: impact analysis never misses a dependent.
 */
function transformColumnEdges(project: Project, transform: Transform, id: string): ColumnEdge[] {
  const outputs = Object.keys(transform.schema);
  const parsed = transform.columnInputs;
  const exact = parsed !== undefined && transform.rowInputs !== undefined && outputs.every((o) => parsed[o] !== undefined);
  const edge = (ref: string, out: string, transformation: ColumnTransformation, decidesRows = false): ColumnEdge => {
    const dot = ref.indexOf('.');
    return { from: { node: tableNodeId(project, ref.slice(0, dot)), column: ref.slice(dot + 1) }, to: { node: id, column: out }, transformation, ...(decidesRows ? { decidesRows: true as const } : {}) };
  };
  const how = (e: ColumnTransformation): ColumnTransformation => ({ type: e.type, subtype: e.subtype, ...(e.unresolved === true ? { unresolved: true as const } : {}) });
  if (!exact) {
    const everyInput = transform.inputs.flatMap((input) => Object.keys(project.sources.find((s) => s.name === input)?.schema ?? {}).map((c) => `${input}.${c}`));
    return everyInput.flatMap((ref) => outputs.map((out) => edge(ref, out, UNRESOLVED)));
  }
  return [
    ...outputs.flatMap((out) => parsed[out]!.map((e) => edge(e.input, out, how(e)))),
    ...transform.rowInputs!.flatMap((e) => outputs.map((out) => edge(e.input, out, how(e), true))),
  ];
}

/**
 * Builds the lineage graph from the definitions and the recorded datasets. Column edges are
 * exact where the definitions say them (features, derived columns, filters, services, datasets)
 * and SQL transforms' parsed lineage; unresolved candidates where they cannot tell (request views'
 * functions, a transform's SQL without a parse, what its parse cannot follow). A dataset built for a model
 * (`model` on its record) feeds the node `model:<name>`, whose columns are the feature columns
 * of every dataset built for it.
 *
 * @example
 * const graph = lineageGraph(await platform.project(), await platform.metadata.listDatasets(1000));
 */
export function lineageGraph(project: Project, datasets: readonly (Pick<DatasetRecord, 'id' | 'path' | 'features'> & Pick<Partial<DatasetRecord>, 'model'>)[] = []): LineageGraph {
  const nodes = new Map<string, LineageNode>();
  const edges: { from: string; to: string }[] = [];
  const columnEdges: ColumnEdge[] = [];
  const add = (node: LineageNode) => nodes.set(node.id, node);
  for (const source of project.sources) add({ id: tableNodeId(project, source.name), kind: source.kind === 'transform' ? 'transform' : 'source', name: source.name, columns: source.schema });
  for (const transform of project.transforms ?? []) {
    const id = tableNodeId(project, transform.name);
    for (const input of transform.inputs) edges.push({ from: tableNodeId(project, input), to: id });
    columnEdges.push(...transformColumnEdges(project, transform, id));
  }
  for (const view of project.featureViews) {
    add({ id: `view:${view.name}`, kind: 'view', name: view.name, columns: Object.fromEntries(view.features.map((f) => [f.name, f.valueType])) });
    edges.push({ from: tableNodeId(project, view.source), to: `view:${view.name}` });
    columnEdges.push(...viewColumnEdges(project, view));
  }
  for (const request of project.requestViews) {
    const id = `request:${request.name}`;
    add({ id, kind: 'request', name: request.name, columns: Object.fromEntries(request.features.map((f) => [f.name, f.valueType])) });
    // The function reads its request fields and its input views' features: each a candidate of each output.
    const fields = requestInputId(request.name);
    add({ id: fields, kind: 'input', name: request.name, columns: request.request });
    const read = [
      { node: fields, columns: Object.keys(request.request) },
      ...request.inputs.map((input) => ({ node: `view:${input}`, columns: (project.featureViews.find((v) => v.name === input)?.features ?? []).map((f) => f.name) })),
    ];
    for (const { node, columns } of read) {
      edges.push({ from: node, to: id });
      for (const column of columns) {
        for (const out of request.features) columnEdges.push({ from: { node, column }, to: { node: id, column: out.name }, transformation: UNRESOLVED });
      }
    }
  }
  const featureNode = (view: string) => (nodes.has(`view:${view}`) ? `view:${view}` : `request:${view}`);
  const consume = (id: string, refs: readonly { view: string; feature: string }[]) => {
    for (const view of new Set(refs.map((r) => r.view))) edges.push({ from: featureNode(view), to: id });
    for (const ref of refs) columnEdges.push({ from: { node: featureNode(ref.view), column: ref.feature }, to: { node: id, column: featureColumn(ref) }, transformation: { type: 'DIRECT', subtype: 'IDENTITY' } });
  };
  for (const service of project.featureServices) {
    const id = `service:${service.name}`;
    add({ id, kind: 'service', name: service.name, columns: Object.fromEntries(service.features.map((f) => [featureColumn(f), nodes.get(featureNode(f.view))?.columns[f.feature] ?? 'unknown'])) });
    consume(id, service.features);
  }
  for (const dataset of datasets) {
    const id = `dataset:${dataset.id}`;
    const refs = dataset.features.flatMap((column) => {
      const at = column.indexOf('__');
      return at <= 0 ? [] : [{ view: column.slice(0, at), feature: column.slice(at + 2) }];
    });
    add({ id, kind: 'dataset', name: dataset.id, path: dataset.path, columns: Object.fromEntries(refs.map((r) => [featureColumn(r), nodes.get(featureNode(r.view))?.columns[r.feature] ?? 'unknown'])) });
    consume(id, refs.filter((r) => nodes.has(featureNode(r.view))));
    if (dataset.model !== undefined) feedModel(nodes, edges, columnEdges, nodes.get(id)!, dataset.model);
  }
  return { nodes, edges, columnEdges };
}

/** A dataset feeds the model it was built for: the model's columns are its training inputs (identity edges). */
function feedModel(nodes: Map<string, LineageNode>, edges: { from: string; to: string }[], columnEdges: ColumnEdge[], dataset: LineageNode, model: string): void {
  const id = `model:${model}`;
  const before = nodes.get(id);
  nodes.set(id, { id, kind: 'model', name: model, columns: { ...before?.columns, ...dataset.columns } });
  edges.push({ from: dataset.id, to: id });
  for (const column of Object.keys(dataset.columns)) columnEdges.push({ from: { node: dataset.id, column }, to: { node: id, column }, transformation: { type: 'DIRECT', subtype: 'IDENTITY' } });
}
