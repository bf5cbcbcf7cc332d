import { resolve } from 'node:path';
import type { ColumnType, Project } from '../../definitions/index.js';
import { facet, RUN_EVENT_SCHEMA_URL, rowCountMetrics, schemaFacet, SLUICE_PRODUCER, type Facet } from './openlineage-facets.js';
import { qualityFacets } from '../../quality/quality-facets.js';
import { composedTransformation, lineageGraph, requestInputId, tableNodeId, type ColumnEdge, type ColumnTransformation, type LineageGraph, type LineageNode } from './lineage-graph.js';

export type RunEventType = 'START' | 'COMPLETE' | 'FAIL';

/** An OpenLineage RunEvent (spec 2-0-2), as sent. */
export interface RunEvent {
  readonly eventType: RunEventType;
  readonly eventTime: string;
  readonly producer: string;
  readonly schemaURL: string;
  readonly run: { readonly runId: string; readonly facets?: Record<string, Facet> };
  readonly job: { readonly namespace: string; readonly name: string; readonly facets?: Record<string, Facet> };
  readonly inputs: readonly LineageDataset[];
  readonly outputs: readonly LineageDataset[];
}

export interface LineageDataset {
  readonly namespace: string;
  readonly name: string;
  readonly facets?: Record<string, Facet>;
  readonly inputFacets?: Record<string, Facet>;
  readonly outputFacets?: Record<string, Facet>;
}

/** One transition of one tracked run (see `trackRun`): what the event is built from. */
export interface RunTransition {
  readonly eventType: RunEventType;
  readonly runId: string;
  readonly job: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly stats?: Readonly<Record<string, unknown>>;
  readonly error?: Error;
  readonly at: number;
  readonly project?: Project;
}

/**
 * The one home of the datasets' namespaces, all from the configured one (`OPENLINEAGE_NAMESPACE`,
 * `<ns>`): lake tables (`<ns>.lake`, named by source), online tables (`<ns>.online`, named by
 * view), the models datasets are built for (`<ns>.model`, named by model). Datasets outside Sluice
 * keep the OpenLineage naming spec's namespaces, so other tools' events on them meet Sluice's:
 * local files (`file`, absolute path) and Postgres tables (`postgres`).
 *
 * @example
 * datasetNamespaces('shop').model; // 'shop.model'
 */
export function datasetNamespaces(namespace: string) {
  return { lake: `${namespace}.lake`, online: `${namespace}.online`, model: `${namespace}.model`, file: 'file', postgres: 'postgres' };
}

type Stats = Readonly<Record<string, unknown>>;

/** Where a run's check results are: its stats (COMPLETE), or the details of the error that failed it (a blocked batch). */
function checkedStats(t: RunTransition): Stats {
  if (t.eventType === 'FAIL') return ((t.error as { details?: Stats } | undefined)?.details) ?? {};
  return t.stats ?? {};
}
const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : undefined);

/** The job's inputs and outputs, with what its stats say about them (on COMPLETE). */
function jobDatasets(project: Project, graph: LineageGraph, namespace: string, t: RunTransition): { name: string; inputs: LineageDataset[]; outputs: LineageDataset[] } {
  const ns = datasetNamespaces(namespace);
  const stats: Stats = t.stats ?? {};
  const done = t.eventType === 'COMPLETE';
  const table = (name: string, inputFacets?: Record<string, Facet>): LineageDataset => ({
    namespace: ns.lake, name, facets: { schema: schemaFacet(graph.nodes.get(tableNodeId(project, name))?.columns ?? {}) }, ...(inputFacets ? { inputFacets } : {}),
  });
  const written = (rows: unknown) => (done && num(rows) !== undefined ? { outputFacets: { outputStatistics: facet('outputStatistics', { rowCount: num(rows) }) } } : {});
  const lineage = (node: string, inputs: ReadonlySet<string>) => columnLineage(graph, node, inputs, namespace);
  // A view's online table, named as materialize names it: its join keys, then its features, each from the source's columns.
  const onlineTable = (v: Project['featureViews'][number]): LineageDataset => ({
    namespace: ns.online, name: v.name,
    facets: { schema: schemaFacet({ ...Object.fromEntries(v.joinKeys.map((k) => [k, v.columnTypes[k] ?? 'unknown'])), ...graph.nodes.get(`view:${v.name}`)!.columns }), ...lineage(`view:${v.name}`, new Set([tableNodeId(project, v.source)])) },
  });
  // The online tables a run applied its committed rows to (`online` in its stats: an ingest's, see `LoadedRows.online`).
  const appliedOnline = () => (done && Array.isArray(stats.online) ? project.featureViews.filter((v) => (stats.online as unknown[]).includes(v.name)).map(onlineTable) : []);
  const p = t.params;
  switch (t.job) {
    case 'ingest': {
      const source = String(p.source);
      const accepted = num(stats.accepted) ?? 0, rejected = num(stats.rejected) ?? 0, duplicates = num(stats.duplicates) ?? 0;
      const base = [{ assertion: 'rows_valid', success: rejected === 0 }, { assertion: 'event_ids_unique', success: duplicates === 0 }];
      const checked = done ? qualityFacets(checkedStats(t), 'input', { accepted, rejected, duplicates }, base) : qualityFacets(checkedStats(t), 'input');
      const quality = done && stats.skipped !== true
        ? { inputFacets: {
          dataQualityMetrics: rowCountMetrics(accepted + rejected + duplicates, { accepted, rejected, duplicates }),
          dataQualityAssertions: facet('dataQualityAssertions', { assertions: base }),
          ...checked,
        } }
        : Object.keys(checked).length > 0 ? { inputFacets: checked } : {};
      // A Postgres ingest names its table (`postgres:public.payments`) or query, never the connection.
      const input = typeof p.from === 'string' && p.from.startsWith('postgres:') ? { namespace: ns.postgres, name: p.from.slice('postgres:'.length) } : { namespace: ns.file, name: resolve(String(p.file)) };
      return { name: `ingest.${source}`, inputs: [{ ...input, ...quality }], outputs: [{ ...table(source), ...written(stats.accepted) }, ...appliedOnline()] };
    }
    case 'materialize': {
      const names = (p.views as string[] | undefined) ?? [];
      const results = new Map(((stats.views as { view: string; entities: number; events: number }[] | undefined) ?? []).map((v) => [v.view, v]));
      const views = project.featureViews.filter((v) => names.includes(v.name));
      const sources = [...new Set(views.map((v) => v.source))];
      const events = (source: string) => views.filter((v) => v.source === source).map((v) => results.get(v.name)?.events).find((n) => n !== undefined);
      return {
        name: views.length === project.featureViews.length ? 'materialize' : `materialize.${names.join(',')}`,
        inputs: sources.map((s) => table(s, done && events(s) !== undefined ? { dataQualityMetrics: rowCountMetrics(events(s)!) } : undefined)),
        outputs: views.map((v) => ({ ...onlineTable(v), ...written(results.get(v.name)?.entities) })),
      };
    }
    case 'dataset_build': {
      const columns = (p.features as string[] | undefined) ?? [];
      const views = project.featureViews.filter((v) => columns.some((c) => c.startsWith(`${v.name}__`)) || project.requestViews.some((r) => r.inputs.includes(v.name) && columns.some((c) => c.startsWith(`${r.name}__`))));
      const sources = [...new Set(views.map((v) => v.source))];
      const out = String(p.out);
      const built = lineageGraph(project, [{ id: 'built', path: out, features: columns }]);
      const dataset = built.nodes.get('dataset:built')!;
      // The spine file: its columns lead the built file's (known once built), and a request view's request fields are its columns.
      const spine = { namespace: ns.file, name: resolve(String(p.spine)) };
      const spineColumns = (done && typeof stats.spineColumns === 'object' && stats.spineColumns !== null ? stats.spineColumns : {}) as Record<string, ColumnType>;
      const requestInputs = project.requestViews.filter((r) => columns.some((c) => c.startsWith(`${r.name}__`))).map((r) => requestInputId(r.name));
      const read = new Map<string, { namespace: string; name: string }>([...sources.map((s) => [tableNodeId(project, s), { namespace: ns.lake, name: s }] as const), ...requestInputs.map((id) => [id, spine] as const)]);
      const passed = Object.keys(spineColumns).map((column) => [column, [{ ...spine, field: column, transformations: [{ type: 'DIRECT', subtype: 'IDENTITY' }] }]] as const);
      return {
        // Named by its output's absolute path (the file dataset's name): unique per file and stable, where the file name alone made a/train.parquet and b/train.parquet one job.
        name: `dataset_build.${resolve(out)}`,
        inputs: [{ ...spine, ...(Object.keys(spineColumns).length > 0 ? { facets: { schema: schemaFacet(spineColumns) } } : {}) }, ...sources.map((s) => table(s))],
        outputs: [{
          namespace: ns.file, name: resolve(out),
          facets: { schema: schemaFacet({ ...spineColumns, ...dataset.columns }), ...columnLineage(built, 'dataset:built', read, namespace, Object.fromEntries(passed)) },
          ...written(stats.rows),
        }, ...(done && typeof p.model === 'string' ? [modelOutput(ns, p.model, resolve(out), dataset.columns)] : [])],
      };
    }
    case 'transform': {
      const name = String(p.transform);
      const inputs = Object.keys((p.inputs as Record<string, unknown> | undefined) ?? {});
      // The checks read the result before it commits: their metrics are a dataset facet of the table they check.
      const checked = qualityFacets(checkedStats(t), 'dataset');
      return { name: `transform.${name}`, inputs: inputs.map((i) => table(i)), outputs: [{ ...table(name), facets: { ...table(name).facets, ...lineage(tableNodeId(project, name), new Set(inputs.map((i) => tableNodeId(project, i)))), ...checked }, ...written(stats.rows) }] };
    }
    case 'drift':
    case 'skew': {
      // What they compare: the serving log (of a service, or all) against a training dataset (drift) or the lake tables its views read (skew); they write only to the metadata store.
      const log = typeof p.servingLog === 'string' ? [{ namespace: ns.file, name: resolve(p.servingLog) }] : [];
      if (t.job === 'drift') return { name: 'drift', inputs: [...(typeof p.datasetPath === 'string' ? [{ namespace: ns.file, name: resolve(p.datasetPath) }] : []), ...log], outputs: [] };
      const services = project.featureServices.filter((f) => p.service === undefined || f.name === p.service);
      const viewNames = new Set(services.flatMap((f) => f.features.flatMap((r) => [r.view, ...(project.requestViews.find((v) => v.name === r.view)?.inputs ?? [])])));
      const sources = [...new Set(project.featureViews.filter((v) => viewNames.has(v.name)).map((v) => v.source))];
      return { name: 'skew', inputs: [...log, ...sources.map((s) => table(s))], outputs: [] };
    }
    default:
      return { name: t.job, inputs: [], outputs: [] };
  }
}

/** The model a dataset was built for, as an output (namespace `<ns>.model`): its input columns, each the dataset file's column of that name. */
function modelOutput(ns: ReturnType<typeof datasetNamespaces>, model: string, file: string, columns: LineageNode['columns']): LineageDataset {
  const fields = Object.fromEntries(Object.keys(columns).map((column) => [column, { inputFields: [{ namespace: ns.file, name: file, field: column, transformations: [{ type: 'DIRECT', subtype: 'IDENTITY' }] }] }]));
  return { namespace: ns.model, name: model, facets: { schema: schemaFacet(columns), columnLineage: facet('columnLineage', { fields }) } };
}

const graphs = new WeakMap<Project, LineageGraph>();
/** The definitions' graph (no datasets), built once per project object: a job's START and COMPLETE share it. */
function projectGraph(project: Project): LineageGraph {
  let graph = graphs.get(project);
  if (!graph) graphs.set(project, (graph = lineageGraph(project)));
  return graph;
}

const indexed = new WeakMap<LineageGraph, Map<string, ColumnEdge[]>>();
/** The column edges into each column (`node\0column`), indexed once per graph. */
function edgesInto(graph: LineageGraph): Map<string, ColumnEdge[]> {
  let into = indexed.get(graph);
  if (!into) {
    into = new Map();
    for (const edge of graph.columnEdges) {
      const key = `${edge.to.node}\u0000${edge.to.column}`;
      into.set(key, [...(into.get(key) ?? []), edge]);
    }
    indexed.set(graph, into);
  }
  return into;
}

/** What an unresolved input field's transformation says (OpenLineage has no subtype for it). */
const UNRESOLVED_DESCRIPTION = 'unresolved: a candidate; the definitions do not tell which of these columns the value is computed from';

type Reached = Map<string, { from: ColumnEdge['from']; transformations: Map<string, ColumnTransformation> }>;

/**
 * The `columnLineage` facet of an output: each column's input columns among the job's inputs,
 * found by walking the graph's column edges back along every path, each path's transformation
 * composed (`composedTransformation`: a path through an INDIRECT hop is INDIRECT); an input
 * column that decides which rows the output has (`decidesRows`: a transform's filters, joins,
 * groupings) goes to `dataset`. An unresolved candidate says so in its `description`. An input
 * node is the lake table of its name unless `inputNodes` maps it to the dataset it is (a request
 * view's request fields: the spine file); `given` are columns whose input fields the job knows
 * (a spine's columns, copied into the built file).
 */
function columnLineage(graph: LineageGraph, node: string, inputNodes: ReadonlySet<string> | ReadonlyMap<string, { namespace: string; name: string }>, namespace: string, given: Record<string, readonly Record<string, unknown>[]> = {}): Record<string, Facet> {
  const into = edgesInto(graph);
  const ns = datasetNamespaces(namespace);
  // A node read by the job is a lake table of its name unless the job says which dataset it is.
  const inputs: ReadonlyMap<string, { namespace: string; name: string } | undefined> = inputNodes instanceof Map ? inputNodes : new Map([...inputNodes].map((n) => [n, undefined]));
  const reach = (reached: Reached, from: ColumnEdge['from'], t: ColumnTransformation) => {
    const key = `${from.node}\u0000${from.column}`;
    const entry = reached.get(key) ?? { from, transformations: new Map<string, ColumnTransformation>() };
    entry.transformations.set(`${t.type}/${t.subtype}/${t.unresolved === true}`, t);
    reached.set(key, entry);
  };
  const inputFields = (reached: Reached) => [...reached.values()].map(({ from, transformations }) => ({
    ...(inputs.get(from.node) ?? { namespace: ns.lake, name: graph.nodes.get(from.node)?.name ?? from.node }), field: from.column,
    transformations: [...transformations.values()].map((t) => ({ type: t.type, subtype: t.subtype, ...(t.unresolved === true ? { description: UNRESOLVED_DESCRIPTION } : {}) })),
  }));
  const dataset: Reached = new Map();
  // `path`: the hops walked so far, input side first; `ancestors`: the columns on it (no cycles).
  const walk = (at: string, column: string, path: readonly ColumnTransformation[], ancestors: ReadonlySet<string>, reached: Reached): void => {
    for (const edge of into.get(`${at}\u0000${column}`) ?? []) {
      const hops = [edge.transformation, ...path];
      if (inputs.has(edge.from.node)) reach(path.length === 0 && edge.decidesRows === true ? dataset : reached, edge.from, composedTransformation(hops));
      else {
        const key = `${edge.from.node}\u0000${edge.from.column}`;
        if (!ancestors.has(key)) walk(edge.from.node, edge.from.column, hops, new Set([...ancestors, key]), reached);
      }
    }
  };
  const fields: Record<string, { inputFields: readonly Record<string, unknown>[] }> = Object.fromEntries(Object.entries(given).map(([column, inputFields]) => [column, { inputFields }]));
  for (const column of Object.keys(graph.nodes.get(node)?.columns ?? {})) {
    const reached: Reached = new Map();
    walk(node, column, [], new Set(), reached);
    if (reached.size > 0) fields[column] = { inputFields: inputFields(reached) };
  }
  if (Object.keys(fields).length === 0 && dataset.size === 0) return {};
  return { columnLineage: facet('columnLineage', { fields, ...(dataset.size > 0 ? { dataset: inputFields(dataset) } : {}) }) };
}

/**
 * Builds the OpenLineage RunEvent of one run transition: the job (namespace + `<job>.<target>`),
 * its input and output datasets with schema and column lineage, and on COMPLETE the row counts it
 * read and wrote (and, for an ingest, its rejected rows); on FAIL the error.
 *
 * @example
 * const event = runEvent({ eventType: 'START', runId, job: 'ingest', params: { source: 'transactions', file }, at: Date.now(), project }, 'sluice');
 */
export function runEvent(t: RunTransition, namespace: string, graph?: LineageGraph): RunEvent {
  const datasets = t.project ? jobDatasets(t.project, graph ?? projectGraph(t.project), namespace, t) : { name: t.job, inputs: [], outputs: [] };
  const runFacets: Record<string, Facet> = {};
  if (t.eventType === 'FAIL' && t.error) runFacets.errorMessage = facet('errorMessage', { message: t.error.message, programmingLanguage: 'JavaScript', ...(t.error.stack ? { stackTrace: t.error.stack } : {}) });
  const jobFacets: Record<string, Facet> = { jobType: facet('jobType', { processingType: 'BATCH', integration: 'SLUICE', jobType: t.job.toUpperCase() }) };
  const transform = t.job === 'transform' ? t.project?.transforms?.find((x) => x.name === t.params.transform) : undefined;
  if (transform) jobFacets.sql = facet('sql', { query: transform.sql, dialect: 'duckdb' });
  return {
    eventType: t.eventType, eventTime: new Date(t.at).toISOString(), producer: SLUICE_PRODUCER, schemaURL: RUN_EVENT_SCHEMA_URL,
    run: { runId: t.runId, ...(Object.keys(runFacets).length > 0 ? { facets: runFacets } : {}) },
    job: { namespace, name: datasets.name, facets: jobFacets },
    inputs: datasets.inputs, outputs: datasets.outputs,
  };
}
