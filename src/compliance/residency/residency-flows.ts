import { resolveFeatures, type Project, type Transfer } from '../../definitions/index.js';

/**
 * Data of one source resting in a place of another region: a transform's table, the online
 * store (a view's online table) or a dataset's output, reached along `path`.
 */
export interface ResidencyFlow {
  /** The source the data comes from, and its region. */
  readonly source: string;
  readonly from: string;
  /** Where it comes to rest (`transform enriched`, `online store`, `dataset train`), and that place's region. */
  readonly place: string;
  readonly to: string;
  /** The whole path, each step named: `source payments (eu-west-1) -> transform enriched (eu-west-1) -> view txn_stats -> online store (us-east-1)`. */
  readonly path: string;
  /** The transfer policy that allows it; absent when none does (a violation). */
  readonly transfer?: Transfer;
}

/** Whether a region matches a policy's region: equal, or the policy names a prefix (`eu` matches `eu-west-1`). */
export function regionMatches(pattern: string, region: string): boolean {
  return region === pattern || region.startsWith(`${pattern}-`);
}

interface Step {
  readonly label: string;
  /** A place where data rests, with its region; undefined for a step that holds nothing (a view). */
  readonly region?: string;
  readonly place?: string;
}

/**
 * Every flow of a source's data into a place of another region, in a project that declares
 * regions (none otherwise): along transforms to their tables, along views to the online store,
 * and along views and request views to each declared dataset's output (`extra` adds datasets
 * built outside the declarations: their features and output region). Each flow names the
 * transfer policy that allows it, if one does: its `from` matches the source's region, its `to`
 * the place's, and it lists the source.
 *
 * @example
 * residencyFlows(project).filter((f) => f.transfer === undefined); // the violations
 */
export function residencyFlows(project: Project, extra: readonly { name: string; region: string; service?: string; features?: readonly string[] }[] = []): ResidencyFlow[] {
  if (project.region === undefined) return [];
  const sources = new Map(project.sources.map((s) => [s.name, s]));
  const regionOf = (table: string) => sources.get(table)?.region ?? project.region!;
  const storeRegion = project.onlineStore?.region ?? project.region;
  // The paths from each root source to each table, through transforms (inputs first).
  const paths = new Map<string, { root: string; steps: Step[] }[]>();
  const tableStep = (table: string): Step => {
    const transform = sources.get(table)?.kind === 'transform';
    return { label: `${transform ? 'transform' : 'source'} ${table} (${regionOf(table)})`, ...(transform ? { region: regionOf(table), place: `transform ${table}` } : {}) };
  };
  const pathsTo = (table: string): { root: string; steps: Step[] }[] => {
    const known = paths.get(table);
    if (known) return known;
    const transform = project.transforms?.find((t) => t.name === table);
    const found = transform === undefined
      ? [{ root: table, steps: [tableStep(table)] }]
      : transform.inputs.flatMap((input) => pathsTo(input).map((p) => ({ root: p.root, steps: [...p.steps, tableStep(table)] })));
    paths.set(table, found);
    return found;
  };
  const viewPaths = (view: string): { root: string; steps: Step[] }[] => {
    const fv = project.featureViews.find((v) => v.name === view);
    if (fv !== undefined) return pathsTo(fv.source).map((p) => ({ root: p.root, steps: [...p.steps, { label: `view ${view}` }] }));
    const request = project.requestViews.find((r) => r.name === view);
    return (request?.inputs ?? []).flatMap((input) => viewPaths(input).map((p) => ({ root: p.root, steps: [...p.steps, { label: `request view ${view}` }] })));
  };
  const routes: { root: string; steps: Step[] }[] = [];
  for (const table of sources.keys()) routes.push(...pathsTo(table));
  for (const view of project.featureViews) {
    for (const p of viewPaths(view.name)) routes.push({ root: p.root, steps: [...p.steps, { label: `online store (${storeRegion})`, region: storeRegion, place: 'online store' }] });
  }
  const datasets = [...(project.datasets ?? []).map((d) => ({ ...d, region: d.region ?? project.region! })), ...extra];
  for (const dataset of datasets) {
    const resolved = resolveFeatures(project, dataset.service !== undefined ? { service: dataset.service } : { features: dataset.features ?? [] });
    const views = [...new Set([...resolved.byView.map((v) => v.view.name), ...resolved.requests.map((r) => r.view.name)])];
    for (const view of views) for (const p of viewPaths(view)) routes.push({ root: p.root, steps: [...p.steps, { label: `dataset ${dataset.name} (${dataset.region})`, region: dataset.region, place: `dataset ${dataset.name}` }] });
  }
  const flows = new Map<string, ResidencyFlow>();
  for (const route of routes) {
    const from = regionOf(route.root);
    route.steps.forEach((step, i) => {
      const path = route.steps.slice(0, i + 1).map((s) => s.label).join(' -> ');
      if (step.region === undefined || step.region === from || flows.has(path)) return;
      const transfer = project.transfers?.find((t) => regionMatches(t.from, from) && regionMatches(t.to, step.region!) && t.sources.includes(route.root));
      flows.set(path, { source: route.root, from, place: step.place!, to: step.region, path, ...(transfer === undefined ? {} : { transfer }) });
    });
  }
  return [...flows.values()];
}
