import { parseDuration } from '../time/index.js';
import { aColumnType, isListType, LAST_N_TYPES, listOf } from './column-types.js';
import { compileChecks } from './compile-checks.js';
import { compileCompliance } from './compile-compliance.js';
import { compileRowTransforms, valueReads } from './compile-row-transforms.js';
import { compileRequestView } from './compile-request-view.js';
import { compileFreshness, compileRetention, compileSource } from './compile-source.js';
import { compileDrift, compileServingLog } from './compile-drift.js';
import { compileTransforms } from './compile-transforms.js';
import { compileAlerts } from './compile-alerts.js';
import { checkSchedulePrincipals, compileSchedules } from './compile-schedules.js';
import { compileDatasets } from './compile-datasets.js';
import { compileMasking } from './compile-masking.js';
import type { MaskSpec } from './masking-types.js';
import { compileWindow } from './compile-window.js';
import { compileAccess } from './compile-access.js';
import { contentHash, viewValueHash } from './hash.js';
import { featureColumn } from './resolve-features.js';
import { didYouMean } from './suggest.js';
import {
  type ColumnType,
  type DatasetSpec,
  type Entity,
  type EntitySpec,
  type Feature,
  type FeatureRef,
  type FeatureService,
  type FeatureServiceSpec,
  type FeatureSpec,
  type FeatureView,
  type FeatureViewSpec,
  type Project,
  type ProjectSpec,
  type RequestView,
  type RequestViewSpec,
  type ScheduleSpec,
  type Source,
  type SourceSpec,
  type SqlTransformSpec,
  type WebhookAlertSpec,
  CDC_OP,
} from './types.js';
import { checkNotReserved, checkDurationText, checkName, checkRecord, definitionList, fail, noCollisions, own, uniqueNames } from './validate-names.js';

const NUMERIC: readonly ColumnType[] = ['int64', 'float64'];
const ORDERED: readonly ColumnType[] = ['int64', 'float64', 'timestamp', 'string'];

function compileFeature(view: FeatureViewSpec, source: Source, name: string, spec: FeatureSpec): Feature {
  checkName(`feature view "${view.name}": feature`, name);
  const where = `feature view "${view.name}", feature "${name}"`;
  if (spec?.kind !== 'feature') fail(`${where}: not a feature; build it with count(), sum(), avg(), min(), max(), last(), lastN(), countDistinct() or field()`);
  let valueType: ColumnType = 'int64';
  if (spec.column !== undefined) {
    if (typeof spec.column !== 'string') fail(`${where}: column must be a column name string, not ${JSON.stringify(spec.column)}`);
    const type = own(source.schema, spec.column);
    if (type === undefined) {
      fail(`${where}: column "${spec.column}" is not in source "${source.name}"${didYouMean(spec.column, Object.keys(source.schema))}`);
    }
    if (isListType(type) && !['field', 'last', 'count'].includes(spec.fn)) {
      fail(`${where}: ${spec.fn}() cannot take the ${type} column "${spec.column}"; vectors and lists are served with field() or last() (count() counts rows where one is present)`);
    }
    if ((spec.fn === 'sum' || spec.fn === 'avg') && !NUMERIC.includes(type)) {
      fail(`${where}: ${spec.fn}() needs a numeric column, but "${spec.column}" is ${type}; use count() or countDistinct()`);
    }
    if ((spec.fn === 'min' || spec.fn === 'max') && !ORDERED.includes(type)) {
      fail(`${where}: ${spec.fn}() cannot order ${aColumnType(type)} column "${spec.column}"`);
    }
    if (spec.fn === 'lastN') {
      if (!LAST_N_TYPES.includes(type as never)) fail(`${where}: lastN() collects ${LAST_N_TYPES.join(', ')} values, but "${spec.column}" is ${type}`);
      if (!Number.isSafeInteger(spec.n) || spec.n! < 1 || spec.n! > 10_000) fail(`${where}: lastN() needs a count n that is a whole number from 1 to 10000, not ${JSON.stringify(spec.n)}; e.g. lastN("${spec.column}", 10, { window: "1h" })`);
    }
    valueType = spec.fn === 'count' || spec.fn === 'countDistinct' ? 'int64' : spec.fn === 'sum' || spec.fn === 'avg' ? 'float64' : spec.fn === 'lastN' ? listOf(type)! : type;
  } else if (spec.fn !== 'count') {
    fail(`${where}: ${spec.fn}() needs a column`);
  }
  return {
    name,
    fn: spec.fn,
    ...(spec.column === undefined ? {} : { column: spec.column }),
    ...compileWindow(where, spec),
    ...(spec.fn === 'lastN' ? { n: spec.n } : {}),
    valueType,
  };
}

function compileEntity(spec: EntitySpec): Entity {
  const where = `entity "${spec.name}"`;
  if (spec.joinKey !== undefined && spec.joinKeys !== undefined) fail(`${where}: give joinKey or joinKeys, not both`);
  const keys: unknown = spec.joinKeys ?? (spec.joinKey === undefined ? undefined : [spec.joinKey]);
  if (!Array.isArray(keys) || keys.length === 0) fail(`${where}: it needs a join key: joinKey: "user_id", or joinKeys: ["user_id", "merchant_id"] for a composite key`);
  for (const key of keys) checkName(`${where}: join key`, key);
  const joinKeys = [...(keys as string[])];
  const twice = joinKeys.find((k, i) => joinKeys.indexOf(k) !== i);
  if (twice !== undefined) fail(`${where}: join key "${twice}" is listed twice; list each key column once`);
  noCollisions('join keys', joinKeys, `${where}: `);
  // A single key hashes as it always has, so existing entities keep their hash.
  const hashed = joinKeys.length === 1 ? { joinKey: joinKeys[0] } : { joinKeys };
  return { name: spec.name, joinKeys, description: spec.description, hash: contentHash({ name: spec.name, ...hashed, description: spec.description }) };
}

function compileView(spec: FeatureViewSpec, entities: Map<string, Entity>, sources: Map<string, Source>): FeatureView {
  const entity = entities.get(spec.entity?.name);
  if (!entity) fail(`feature view "${spec.name}": entity "${spec.entity?.name}" is not in the project's entities${didYouMean(String(spec.entity?.name), entities.keys())}`);
  const source = sources.get(spec.source?.name);
  if (!source) fail(`feature view "${spec.name}": ${spec.source?.kind === 'sqlTransform' ? 'transform' : 'source'} "${spec.source?.name}" is not in the project's ${spec.source?.kind === 'sqlTransform' ? 'transforms' : 'sources'}${didYouMean(String(spec.source?.name), sources.keys())}`);
  if (source.kind === 'cdc') {
    if (entity.joinKeys.length !== 1 || entity.joinKeys[0] !== source.key) {
      fail(`feature view "${spec.name}": CDC source "${source.name}" is a table keyed by "${source.key}"; its views need an entity whose join key is "${source.key}" (entity "${entity.name}" has ${entity.joinKeys.join(', ')})`);
    }
    const other = Object.entries(spec.features ?? {}).find(([, f]) => f?.fn !== 'field');
    if (other !== undefined) fail(`feature view "${spec.name}", feature "${other[0]}": a CDC source is a versioned table; its views use field() (the row's value at t)`);
  }
  for (const key of entity.joinKeys) {
    const keyType = own(source.schema, key);
    if (keyType === undefined) fail(`feature view "${spec.name}": source "${source.name}" has no column "${key}", ${entity.joinKeys.length === 1 ? 'the' : 'a'} join key of entity "${entity.name}"${didYouMean(key, Object.keys(source.schema))}`);
    if (keyType !== 'string' && keyType !== 'int64') fail(`feature view "${spec.name}": join key "${key}" is ${keyType}; it must be string or int64`);
  }
  let ttlMs: number | undefined;
  if (spec.ttl !== undefined) {
    checkDurationText(`feature view "${spec.name}"`, 'ttl', spec.ttl, '30d');
    ttlMs = parseDuration(spec.ttl);
    if (ttlMs === undefined) fail(`feature view "${spec.name}": ttl "${spec.ttl}" is not a duration; write e.g. "30d"`);
  }
  checkRecord(spec.features, `feature view "${spec.name}": features must be an object of feature name to feature, e.g. { txn_count_1h: count({ window: '1h' }) }`);
  const names = Object.keys(spec.features);
  if (names.length === 0) fail(`feature view "${spec.name}": it has no features`);
  const row = compileRowTransforms(spec, source);
  const input = { ...source, schema: row.schema };
  const features = names.map((name) => compileFeature(spec, input, name, own(spec.features, name)!));
  noCollisions('features', names, `feature view "${spec.name}": `);
  const body = {
    name: spec.name,
    entity: entity.name,
    joinKeys: entity.joinKeys,
    source: source.name,
    ...(spec.ttl === undefined ? {} : { ttl: spec.ttl, ttlMs }),
    features,
    columnTypes: Object.fromEntries([...entity.joinKeys, ...features.flatMap((f) => (f.column === undefined ? [] : [f.column])), ...(source.kind === 'cdc' ? [CDC_OP] : [])].map((c) => [c, row.schema[c]!])),
    ...(source.kind === 'cdc' ? { changeOp: CDC_OP } : {}),
    ...(row.filter === undefined ? {} : { filter: row.filter }),
    ...(row.derived === undefined ? {} : { derived: row.derived }),
    description: spec.description,
  };
  // The freshness SLA and checks are outside the value hash: declaring them rematerializes nothing.
  // Checks see the rows materialize writes: a single join key and the features.
  const checks = compileChecks({ where: `feature view "${spec.name}"`, schema: { ...Object.fromEntries(entity.joinKeys.length === 1 ? [[entity.joinKeys[0]!, row.schema[entity.joinKeys[0]!]!]] : []), ...Object.fromEntries(features.map((f) => [f.name, f.valueType])) } }, spec.checks);
  return { ...body, ...compileFreshness(`feature view "${spec.name}"`, spec.freshness), ...compileDrift(`feature view "${spec.name}"`, spec.drift, names), ...(checks.length > 0 ? { checks } : {}), ...compileRetention(`feature view "${spec.name}"`, spec.retention), hash: viewValueHash(body, source, valueReads(row, features.flatMap((f) => (f.column === undefined ? [] : [f.column])))) };
}

function compileService(spec: FeatureServiceSpec, views: Map<string, { readonly name: string; readonly features: readonly { readonly name: string }[] }>): FeatureService {
  const refs: FeatureRef[] = [];
  for (const entry of spec.features ?? []) {
    if (typeof entry === 'string') {
      const [viewName = '', featureName = ''] = entry.split(':');
      const view = views.get(viewName);
      if (!view) fail(`feature service "${spec.name}": "${entry}" names view "${viewName}", which is not in the project${didYouMean(viewName, views.keys())}`);
      if (!view.features.some((f) => f.name === featureName)) {
        fail(`feature service "${spec.name}": view "${viewName}" has no feature "${featureName}"${didYouMean(featureName, view.features.map((f) => f.name))}`);
      }
      refs.push({ view: viewName, feature: featureName });
    } else {
      const view = views.get(entry?.name);
      if (!view) fail(`feature service "${spec.name}": view "${entry?.name}" is not in the project's ${entry?.kind === 'requestView' ? 'requestViews' : 'featureViews'}; add it there`);
      for (const f of view.features) refs.push({ view: view.name, feature: f.name });
    }
  }
  if (refs.length === 0) fail(`feature service "${spec.name}": it lists no features`);
  const body = { name: spec.name, features: refs, description: spec.description };
  return { ...body, ...compileServingLog(`feature service "${spec.name}"`, spec.log), hash: contentHash(body) };
}

/** `<view>__<feature>` columns must be distinct, as DuckDB compares them (view `a_` feature `b`, view `a` feature `_b`). */
function checkOutputColumns(views: readonly { readonly name: string; readonly features: readonly { readonly name: string }[] }[]): void {
  const seen = new Map<string, string>();
  for (const view of views) {
    for (const feature of view.features) {
      const column = featureColumn({ view: view.name, feature: feature.name });
      const other = seen.get(column.toLowerCase());
      if (other !== undefined) fail(`features "${other}" and "${view.name}:${feature.name}" both give the output column "${column}"; rename one`);
      seen.set(column.toLowerCase(), `${view.name}:${feature.name}`);
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Validates a project spec and normalizes it into the plain, hashed {@link Project} that the
 * registry stores and every other layer reads. Throws a {@link DefinitionError} naming the
 * definition and the fix.
 */
export function compileProject(spec: ProjectSpec): Project {
  if (spec?.kind !== 'project') fail('the project file must `export default defineProject({...})`');
  checkName('project', spec.name);
  const entitySpecs = definitionList<EntitySpec>(spec.name, 'entities', spec.entities, 'entity');
  const sourceSpecs = definitionList<SourceSpec>(spec.name, 'sources', spec.sources, ['batchSource', 'streamSource', 'cdcSource']);
  const viewSpecs = definitionList<FeatureViewSpec>(spec.name, 'featureViews', spec.featureViews, 'featureView');
  const serviceSpecs = definitionList<FeatureServiceSpec>(spec.name, 'featureServices', spec.featureServices, 'featureService', true);
  const transformSpecs = definitionList<SqlTransformSpec>(spec.name, 'transforms', spec.transforms, 'sqlTransform', true);
  const requestSpecs = definitionList<RequestViewSpec>(spec.name, 'requestViews', spec.requestViews, 'requestView', true);
  const alerts = compileAlerts(definitionList<WebhookAlertSpec>(spec.name, 'alerts', spec.alerts, 'webhook', true));
  uniqueNames('entity', 'entities', entitySpecs);
  uniqueNames('source', 'sources', sourceSpecs);
  uniqueNames('source or transform', 'sources and transforms', [...sourceSpecs, ...transformSpecs]);
  uniqueNames('feature view', 'feature views', viewSpecs);
  for (const view of viewSpecs) checkNotReserved('feature view', view.name);
  // Request views name output columns as feature views do: one namespace for both.
  uniqueNames('feature or request view', 'feature and request views', [...viewSpecs, ...requestSpecs]);
  for (const view of requestSpecs) checkNotReserved('request view', view.name);
  uniqueNames('feature service', 'feature services', serviceSpecs);
  const entities = new Map<string, Entity>();
  for (const e of entitySpecs) entities.set(e.name, compileEntity(e));
  const sources = new Map(sourceSpecs.map((s) => [s.name, compileSource(s)] as const));
  const compiled = compileTransforms(transformSpecs, new Set(sources.keys()));
  for (const output of compiled.sources) sources.set(output.name, output);
  const views = new Map(viewSpecs.map((v) => [v.name, compileView(v, entities, sources)] as const));
  const requestViews: RequestView[] = requestSpecs.map((r) => compileRequestView(r, views));
  checkOutputColumns([...views.values(), ...requestViews]);
  const services = serviceSpecs.map((s) => compileService(s, new Map<string, FeatureView | RequestView>([...views, ...requestViews.map((r) => [r.name, r] as const)])));
  const body = {
    name: spec.name,
    entities: [...entities.values()],
    sources: [...sources.values()],
    featureViews: [...views.values()],
    featureServices: services,
    ...(compiled.transforms.length > 0 ? { transforms: compiled.transforms } : {}),
    // Only when there are some, so projects without request views keep their hash.
    ...(requestViews.length > 0 ? { requestViews } : {}),
    ...(alerts.length > 0 ? { alerts } : {}),
  };
  const hashed: Project = { requestViews, ...body, hash: contentHash(body) };
  // After the hash: datasets and schedules change no value. Only when there are some, so other projects keep their shape.
  const datasets = compileDatasets(definitionList<DatasetSpec>(spec.name, 'datasets', spec.datasets, 'dataset', true), hashed);
  const project: Project = datasets.length > 0 ? { ...hashed, datasets } : hashed;
  const schedules = compileSchedules(definitionList<ScheduleSpec>(spec.name, 'schedules', spec.schedules, 'schedule', true), project);
  const scheduled: Project = schedules.length > 0 ? { ...project, schedules } : project;
  const access = compileAccess(spec.access ?? [], scheduled);
  const governed: Project = access.length > 0 ? { ...scheduled, access } : scheduled;
  checkSchedulePrincipals(governed);
  // After the hash too: masking changes what a caller sees, never a stored value.
  const masking = compileMasking(definitionList<MaskSpec>(spec.name, 'masking', spec.masking, 'mask', true), new Map<string, FeatureView | RequestView>([...views, ...requestViews.map((r) => [r.name, r] as const)]));
  // Classification and residency change no value: added after every hash (absent when not declared).
  return deepFreeze(compileCompliance(spec, masking.length > 0 ? { ...governed, masking } : governed));
}

/**
 * Gathers a project's definitions. Validates them at once (so a mistake shows where it is made)
 * and returns the frozen spec; `sluice` commands compile it again from the registry.
 *
 * @example
 * export default defineProject({ name: 'fraud', entities: [customer], sources: [transactions],
 *   featureViews: [txnStats], featureServices: [featureService({ name: 'fraud_v1', features: [txnStats] })] });
 */
export function defineProject(spec: Omit<ProjectSpec, 'kind'>): ProjectSpec {
  const project: ProjectSpec = Object.freeze({ kind: 'project', ...spec });
  compileProject(project);
  return project;
}
