import { NotFoundError } from '../errors.js';
import { didYouMean } from './suggest.js';
import type { Feature, FeatureRef, FeatureView, Project, RequestFeature, RequestView } from './types.js';

/** The output column of a feature: `<view>__<feature>`. */
export function featureColumn(ref: FeatureRef): string {
  return `${ref.view}__${ref.feature}`;
}

/** Features of one view that a request asks for, in request order. */
export interface ViewSelection {
  readonly view: FeatureView;
  readonly features: readonly Feature[];
}

/** Features of one request view that a request asks for, in request order. */
export interface RequestSelection {
  readonly view: RequestView;
  readonly features: readonly RequestFeature[];
  /** Per input view (in the request view's order), its index in `byView`, whose selection then holds every feature of that view. */
  readonly inputs: readonly number[];
}

export interface ResolvedFeatures {
  readonly refs: readonly FeatureRef[];
  readonly columns: readonly string[];
  /** The feature views to read: those asked for, then the inputs of request views (with all their features). */
  readonly byView: readonly ViewSelection[];
  /** The request views asked for. */
  readonly requests: readonly RequestSelection[];
  /** The join key columns every selected view shares, in key order (a request is for one entity). */
  readonly joinKeys: readonly string[];
}

// The one wording of a name the registry lacks; the did-you-mean picks among `known`.
const unknownService = (project: Project, name: string, known: readonly string[], visible: (feature: string) => boolean) => {
  const view = viewNamed(project, name, visible);
  return new NotFoundError('UNKNOWN_SERVICE', `feature service "${name}" is not in the registry${view ? `: ${view} (--features, or "features" in a request)` : didYouMean(name, known)}`);
};
const unknownView = (ref: FeatureRef, known: readonly string[]) => new NotFoundError('UNKNOWN_FEATURE', `feature "${ref.view}:${ref.feature}": view "${ref.view}" is not in the registry${didYouMean(ref.view, known)}`);
const unknownFeatureOf = (ref: FeatureRef, known: readonly string[]) => new NotFoundError('UNKNOWN_FEATURE', `feature "${ref.view}:${ref.feature}": view "${ref.view}" has no feature "${ref.feature}"${didYouMean(ref.feature, known)}`);

/**
 * The error {@link resolveFeatures} gives for the first service, view or feature of `request` that
 * the project lacks (404 `UNKNOWN_SERVICE` / `UNKNOWN_FEATURE`), or undefined when all exist; its
 * did-you-mean names only what `visible` says the caller may see (a feature `view:feature`; a
 * service when all its features are), so it never lists names a caller may not read.
 *
 * @example
 * unknownFeatureError(project, { features: ['stat:n'] }, (f) => readable(f)); // view "stat" is not in the registry (did you mean "stats"?)
 */
export function unknownFeatureError(project: Project, request: { service?: string | undefined; features?: readonly string[] | undefined }, visible: (feature: string) => boolean = () => true): NotFoundError | undefined {
  const shown = (view: { name: string; features: readonly { name: string }[] }) => view.features.map((f) => f.name).filter((f) => visible(`${view.name}:${f}`));
  if (request.service !== undefined) {
    if (project.featureServices.some((s) => s.name === request.service)) return undefined;
    return unknownService(project, request.service, project.featureServices.filter((s) => s.features.every((f) => visible(`${f.view}:${f.feature}`))).map((s) => s.name), visible);
  }
  const views: readonly (FeatureView | RequestView)[] = [...project.featureViews, ...(project.requestViews ?? [])];
  for (const text of request.features ?? []) {
    let ref: FeatureRef;
    try {
      ref = featureRef(project, String(text), visible);
    } catch (error) {
      if (error instanceof NotFoundError) return error;
      throw error;
    }
    const { view, feature } = ref;
    const found = views.find((v) => v.name === view);
    if (!found) return unknownView({ view, feature }, views.filter((v) => shown(v).length > 0).map((v) => v.name));
    if (!found.features.some((f) => f.name === feature)) return unknownFeatureOf({ view, feature }, shown(found));
  }
  return undefined;
}

/**
 * A requested `"view:feature"` as its view and feature; refused as written when it is not one
 * (no ":" or several), with the fix: the view's features when it names a view, the name meant
 * when it is an output column (`view__feature`).
 */
/**
 * When `name` is a view with features the caller may read (`visible`): `"<name>" is a view; name
 * its features as "<name>:<feature>", ...` (a view given where a feature or a service was asked).
 */
function viewNamed(project: Project, name: string, visible: (feature: string) => boolean): string | undefined {
  const view = [...project.featureViews, ...(project.requestViews ?? [])].find((v) => v.name === name);
  const shown = view?.features.filter((f) => visible(`${name}:${f.name}`)) ?? [];
  return shown.length > 0 ? `"${name}" is a view; name its features as ${shown.map((f) => `"${name}:${f.name}"`).join(', ')}` : undefined;
}

function featureRef(project: Project, text: string, visible: (feature: string) => boolean = () => true): FeatureRef {
  const parts = text.split(':');
  if (parts.length === 2) return { view: parts[0]!, feature: parts[1]! };
  const named = parts.length === 1 ? viewNamed(project, text, visible) : undefined;
  if (named) {
    throw new NotFoundError('UNKNOWN_FEATURE', `feature "${text}" is not "view:feature": ${named}`);
  }
  const views: readonly (FeatureView | RequestView)[] = [...project.featureViews, ...(project.requestViews ?? [])];
  // Only features the caller may read are named (with access control on, `visible`).
  const shown = (view: FeatureView | RequestView) => view.features.filter((f) => visible(`${view.name}:${f.name}`));
  const column = parts.length === 1 ? views.flatMap((v) => shown(v).map((f) => ({ view: v.name, feature: f.name }))).find((r) => featureColumn(r) === text) : undefined;
  const hint = column ? `did you mean "${column.view}:${column.feature}"? "${text}" is its output column` : 'one ":" between a view and one of its features';
  throw new NotFoundError('UNKNOWN_FEATURE', `feature "${text}" is not "view:feature" (${hint})`);
}

/**
 * Resolves a feature service name or a list of `"view:feature"` strings against a project.
 * Throws `UNKNOWN_SERVICE` / `UNKNOWN_FEATURE` naming the fix.
 */
export function resolveFeatures(project: Project, request: { service?: string; features?: readonly string[] }): ResolvedFeatures {
  let refs: FeatureRef[];
  if (request.service !== undefined) {
    const service = project.featureServices.find((s) => s.name === request.service);
    if (!service) {
      throw unknownService(project, request.service, project.featureServices.map((s) => s.name), () => true);
    }
    refs = [...service.features];
  } else {
    refs = (request.features ?? []).map((text) => featureRef(project, String(text)));
  }
  // A feature asked for twice is answered once: one column per feature, in first-asked order.
  // (A set, not a search per ref: a request may name hundreds of thousands of features.)
  const seen = new Set<string>();
  refs = refs.filter((ref) => {
    const key = `${ref.view}:${ref.feature}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (refs.length === 0) throw new NotFoundError('UNKNOWN_FEATURE', 'no features requested: name a feature service or features as "view:feature"');
  const byView = new Map<string, { view: FeatureView; features: Feature[] }>();
  const byRequest = new Map<string, { view: RequestView; features: RequestFeature[] }>();
  const requestViews = project.requestViews ?? [];
  const select = (view: FeatureView, feature: Feature) => {
    const entry = byView.get(view.name) ?? { view, features: [] };
    if (!entry.features.includes(feature)) entry.features.push(feature);
    byView.set(view.name, entry);
  };
  for (const ref of refs) {
    const view = project.featureViews.find((v) => v.name === ref.view) ?? requestViews.find((v) => v.name === ref.view);
    if (!view) {
      throw unknownView(ref, [...project.featureViews, ...requestViews].map((v) => v.name));
    }
    const feature = (view.features as readonly (Feature | RequestFeature)[]).find((f) => f.name === ref.feature);
    if (!feature) {
      throw unknownFeatureOf(ref, view.features.map((f) => f.name));
    }
    if ('sourceHash' in feature) {
      const entry = byRequest.get(view.name) ?? { view: view as RequestView, features: [] };
      if (!entry.features.includes(feature)) entry.features.push(feature);
      byRequest.set(view.name, entry);
    } else select(view as FeatureView, feature);
  }
  // A request view's function reads every feature of its inputs.
  for (const { view } of byRequest.values()) {
    for (const input of view.inputs) {
      const inputView = project.featureViews.find((v) => v.name === input)!;
      for (const feature of inputView.features) select(inputView, feature);
    }
  }
  const views = [...byView.values()];
  const requests = [...byRequest.values()].map(({ view, features }) => ({ view, features, inputs: view.inputs.map((name) => views.findIndex((v) => v.view.name === name)) }));
  // Views share an entity key when their join keys are the same columns in the same order (the order of the key's parts).
  const joinKeys = new Map([...byView.values()].map((e) => [JSON.stringify(e.view.joinKeys), e.view.joinKeys]));
  if (joinKeys.size > 1) {
    throw new NotFoundError('UNKNOWN_FEATURE', `the requested features belong to different entities (join keys ${[...joinKeys.values()].map((k) => k.join('+')).join(', ')}); request one entity at a time`);
  }
  return { refs, columns: refs.map(featureColumn), byView: views, requests, joinKeys: [...joinKeys.values()][0]! };
}

