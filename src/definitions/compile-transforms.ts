import { isListType } from './column-types.js';
import { DefinitionError } from '../errors.js';
import { compileSource } from './compile-source.js';
import { contentHash } from './hash.js';
import { didYouMean } from './suggest.js';
import type { Project, Source, SourceSpec, SqlTransformSpec, Transform } from './types.js';
import { checkRecord, fail } from './validate-names.js';

/** The output table of a transform, as a source of kind `transform` (columns and event time checked as a batch source's are). */
function transformSource(spec: SqlTransformSpec): Source {
  let base: Source;
  try {
    base = compileSource({ kind: 'batchSource', name: spec.name, schema: spec.schema, timestamp: spec.timestamp, ...(spec.checks === undefined ? {} : { checks: spec.checks }) });
  } catch (error) {
    // The rules are a source's; the message names the transform.
    if (error instanceof DefinitionError) fail(error.message.replace(`source "${spec.name}"`, `transform "${spec.name}"`));
    throw error;
  }
  const body = { name: spec.name, kind: 'transform' as const, schema: base.schema, timestamp: base.timestamp };
  return { ...body, ...(spec.description === undefined ? {} : { description: spec.description }), ...(base.checks === undefined ? {} : { checks: base.checks }), hash: contentHash(body) };
}

function compileTransform(spec: SqlTransformSpec, names: ReadonlySet<string>): Transform {
  const where = `transform "${spec.name}"`;
  if (typeof spec.sql !== 'string' || spec.sql.trim() === '') fail(`${where}: sql must be a SELECT query over its inputs`);
  if (!Array.isArray(spec.inputs) || spec.inputs.length === 0) fail(`${where}: it has no inputs; list the sources or transforms its SQL reads, e.g. inputs: [transactions]`);
  checkRecord(spec.schema, `${where}: schema must be an object of column name to type, e.g. { amount: 'float64' }`);
  if (spec.incremental !== undefined && typeof spec.incremental !== 'boolean') fail(`${where}: incremental must be true or false`);
  const list = Object.entries(spec.schema).find(([, type]) => typeof type === 'string' && isListType(type));
  if (list !== undefined) fail(`${where}: column "${list[0]}" is ${list[1]}; a transform's output has scalar columns (string, int64, float64, bool, timestamp)`);
  const inputs: string[] = [];
  for (const input of spec.inputs as readonly (SourceSpec | SqlTransformSpec)[]) {
    const name = (input as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') fail(`${where}: inputs must be sources or transforms (the objects), not ${JSON.stringify(input)}`);
    if (!names.has(name)) {
      fail(`${where}: input "${name}" is not in the project; add it to defineProject({ ${input.kind === 'sqlTransform' ? 'transforms' : 'sources'}: [...] })${didYouMean(name, names)}`);
    }
    if (inputs.some((i) => i.toLowerCase() === name.toLowerCase())) fail(`${where}: input "${name}" is listed twice; list each input once`);
    inputs.push(name);
  }
  const body = { name: spec.name, inputs, sql: spec.sql, timestamp: spec.timestamp, schema: { ...spec.schema }, ...(spec.incremental === true ? { incremental: true as const } : {}) };
  return { ...body, ...(spec.description === undefined ? {} : { description: spec.description }), hash: contentHash(body) };
}

/** The transforms' graph has no cycle: one found is named by its path (`a -> b -> a`). */
function checkAcyclic(transforms: ReadonlyMap<string, Transform>): void {
  const done = new Set<string>();
  const visit = (name: string, path: readonly string[]): void => {
    if (done.has(name)) return;
    if (path.includes(name)) {
      const cycle = [...path.slice(path.indexOf(name)), name];
      fail(`transforms form a cycle: ${cycle.join(' -> ')}; a transform cannot read its own output, directly or through others`, { cycle });
    }
    for (const input of transforms.get(name)?.inputs ?? []) if (transforms.has(input)) visit(input, [...path, name]);
    done.add(name);
  };
  for (const name of transforms.keys()) visit(name, []);
}

/**
 * Validates a project's SQL transforms: inputs that are in the project (sources or transforms,
 * by name), no cycle, and an output schema that follows a source's rules. Returns the compiled
 * transforms and their output tables as sources of kind `transform`, which feature views,
 * materialize and datasets read like any source. Names share the namespace of sources (the
 * caller checks they are unique).
 *
 * @example
 * const { transforms, sources } = compileTransforms(specs, new Set(['crm_accounts']));
 */
export function compileTransforms(specs: readonly SqlTransformSpec[], sourceNames: ReadonlySet<string>): { transforms: Transform[]; sources: Source[] } {
  const names = new Set([...sourceNames, ...specs.map((s) => s.name)]);
  const sources = specs.map(transformSource);
  const transforms = specs.map((s) => compileTransform(s, names));
  checkAcyclic(new Map(transforms.map((t) => [t.name, t])));
  return { transforms, sources };
}

/**
 * Transforms in dependency order (inputs first): all of them, or `names` with the transforms
 * they read through other transforms left out (each runs on its inputs' current snapshots).
 *
 * @example
 * for (const t of transformOrder(project)) await runTransform(platform, project, t.name);
 */
export function transformOrder(project: Project, names?: readonly string[]): Transform[] {
  const all = new Map((project.transforms ?? []).map((t) => [t.name, t]));
  const wanted = new Set(names ?? all.keys());
  const ordered: Transform[] = [];
  const placed = new Set<string>();
  const place = (t: Transform): void => {
    if (placed.has(t.name)) return;
    placed.add(t.name);
    for (const input of t.inputs) {
      const upstream = all.get(input);
      if (upstream) place(upstream);
    }
    if (wanted.has(t.name)) ordered.push(t);
  };
  for (const t of all.values()) place(t);
  return ordered;
}
