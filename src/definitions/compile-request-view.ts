import { ConflictError } from '../errors.js';
import { contentHash } from './hash.js';
import { didYouMean } from './suggest.js';
import { COLUMN_TYPES, type ColumnType, type FeatureView, type Project, type ProjectSpec, type RequestFeature, type RequestFeatureFunction, type RequestView, type RequestViewSpec, type ScalarType } from './types.js';
import { checkName, checkNotReserved, checkRecord, fail, noCollisions, own } from './validate-names.js';

/** The key of the request's values in a request view function's argument: no input view may be named so. */
export const REQUEST_INPUT = 'request';

/** The content hash of a request feature's function: its source text, as the loaded project file defines it. */
export function functionSourceHash(fn: RequestFeatureFunction): string {
  return contentHash(fn.toString());
}

function checkType(where: string, type: unknown): ColumnType {
  if (!COLUMN_TYPES.includes(type as ScalarType)) fail(`${where}: type ${JSON.stringify(type)} is not a column type; use one of ${COLUMN_TYPES.join(', ')}`);
  return type as ColumnType;
}

/**
 * Validates a request view against the project's compiled feature views: its inputs are views
 * of the project sharing one entity, its request fields and features are named and typed, and
 * every feature has a function and a declared type. The functions stay out of the result: only
 * their source hashes are kept.
 */
export function compileRequestView(spec: RequestViewSpec, views: ReadonlyMap<string, FeatureView>): RequestView {
  const where = `request view "${spec.name}"`;
  checkRecord(spec.request, `${where}: request must be an object of field name to type, e.g. { amount: 'float64' }`);
  const request: Record<string, ColumnType> = {};
  for (const [field, type] of Object.entries(spec.request)) {
    checkName(`${where}: request field`, field);
    checkNotReserved(`${where}: request field`, field);
    request[field] = checkType(`${where}, request field "${field}"`, type);
  }
  noCollisions('request fields', Object.keys(request), `${where}: `);
  if (!Array.isArray(spec.inputs) || spec.inputs.length === 0) fail(`${where}: inputs must list at least one feature view, e.g. inputs: [txnStats]`);
  const inputs = spec.inputs.map((input, i) => {
    const view = views.get((input as { name?: string } | undefined)?.name ?? '');
    if (input?.kind !== 'featureView' || !view) fail(`${where}: inputs[${i}] is not one of the project's featureViews${didYouMean(String(input?.name), views.keys())}; add it to featureViews`);
    if (view.name === REQUEST_INPUT) fail(`${where}: input view "${REQUEST_INPUT}" has the name the function's argument uses for the request's values; rename the view`);
    return view;
  });
  noCollisions('inputs', inputs.map((v) => v.name), `${where}: `);
  const joinKeys = inputs[0]!.joinKeys;
  const other = inputs.find((v) => v.joinKeys.join('+') !== joinKeys.join('+'));
  if (other) fail(`${where}: inputs "${inputs[0]!.name}" (keys ${joinKeys.join('+')}) and "${other.name}" (keys ${other.joinKeys.join('+')}) describe different entities; a request view's inputs share one entity`);
  const clash = Object.keys(request).find((f) => joinKeys.some((k) => k.toLowerCase() === f.toLowerCase()));
  if (clash) fail(`${where}: request field "${clash}" is a join key of its entity; rename the field`);
  checkRecord(spec.features, `${where}: features must be an object of feature name to function, e.g. { ratio: ({ request, txn_stats }) => ... }`);
  checkRecord(spec.types, `${where}: types must be an object of feature name to type, e.g. { ratio: 'float64' }`);
  const names = Object.keys(spec.features);
  if (names.length === 0) fail(`${where}: it has no features`);
  noCollisions('features', names, `${where}: `);
  const features = names.map((name): RequestFeature => {
    checkName(`${where}: feature`, name);
    const fn = own(spec.features, name);
    if (typeof fn !== 'function') fail(`${where}, feature "${name}": not a function; write it as ({ request, ${inputs[0]!.name} }) => ...`);
    const type = own(spec.types, name);
    if (type === undefined) fail(`${where}, feature "${name}": it has no type; add it to types, e.g. types: { ${name}: 'float64' }`);
    return { name, valueType: checkType(`${where}, feature "${name}"`, type), sourceHash: functionSourceHash(fn) };
  });
  const untyped = Object.keys(spec.types).find((name) => !names.includes(name));
  if (untyped) fail(`${where}: types names "${untyped}", which is not one of its features${didYouMean(untyped, names)}`);
  const body = { name: spec.name, request, inputs: inputs.map((v) => v.name), joinKeys, features, description: spec.description };
  return { ...body, hash: contentHash({ ...body, description: undefined }) };
}

/** Per request view, its feature functions in the order of its compiled `features`. */
export type RequestFunctions = ReadonlyMap<string, readonly RequestFeatureFunction[]>;

/**
 * The functions of the applied project's request views, taken from the loaded project file
 * (`spec`), each checked against the source hash the registry recorded. Throws a ConflictError
 * naming the view, the feature and the fix when the file's function is not the applied one
 * (edited without `sluice apply`): serving or training with another function would give
 * values the registry does not describe.
 *
 * @example
 * const functions = bindRequestFunctions(await loadProjectSpec(dir), registry.project);
 */
export function bindRequestFunctions(spec: ProjectSpec, project: Project): RequestFunctions {
  const functions = new Map<string, readonly RequestFeatureFunction[]>();
  for (const view of project.requestViews ?? []) {
    const loaded = (spec.requestViews ?? []).find((r) => r.name === view.name);
    if (!loaded) throw new ConflictError('CONFLICT', `request view "${view.name}" is applied but not in sluice.config.ts; restore it, or run "sluice apply" to remove it`);
    functions.set(view.name, view.features.map((feature) => {
      const fn = own(loaded.features, feature.name);
      if (typeof fn !== 'function' || functionSourceHash(fn) !== feature.sourceHash) {
        throw new ConflictError('CONFLICT', `request view "${view.name}", feature "${feature.name}": its function in sluice.config.ts differs from the applied definition; run "sluice apply" to apply the new one (or restore the applied version)`);
      }
      return fn;
    }));
  }
  return functions;
}
