import { NotFoundError } from '../errors.js';
import { resolveFeatures } from './resolve-features.js';
import type { Dataset, DatasetSpec, Project } from './types.js';
import { checkProjectPath } from './project-path.js';
import { checkName, fail, noCollisions, uniqueNames } from './validate-names.js';

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SPINE_FORMATS = ['.csv', '.jsonl', '.parquet'];
const OUT_FORMATS = ['.parquet', '.csv', '.jsonl'];

/**
 * What is wrong with a model name (undefined: nothing). The one rule for model names, used by
 * declared datasets and `sluice dataset build --model`: letters, digits, `.`, `_` and `-`,
 * starting with a letter or digit, at most 128 characters (`fraud-v3`, `churn.2026_01`).
 *
 * @example
 * modelNameProblem('fraud-v3'); // undefined
 */
export function modelNameProblem(name: unknown): string | undefined {
  if (typeof name === 'string' && MODEL_NAME.test(name)) return undefined;
  return `model name ${JSON.stringify(name)} is not valid: use letters, digits, ".", "_" and "-", starting with a letter or digit (at most 128 characters), e.g. "fraud-v3"`;
}

function relativeFile(where: string, option: string, value: unknown, extensions: readonly string[], example: string): string {
  if (typeof value !== 'string' || value.trim() === '') fail(`${where}: ${option} must be a file path relative to the project directory, e.g. "${example}"`);
  const dot = value.lastIndexOf('.');
  const ext = dot < 0 ? '' : value.slice(dot).toLowerCase();
  if (!extensions.includes(ext)) fail(`${where}: ${option} "${value}" must end in ${extensions.join(', ')}, e.g. "${example}"`);
  checkProjectPath(where, option, value, example);
  return value;
}

function compileDataset(spec: DatasetSpec, project: Project): Dataset {
  if (spec?.kind !== 'dataset') fail('datasets: each entry must be built with dataset({ name, service, spine, out })');
  checkName('dataset', spec.name);
  const where = `dataset "${spec.name}"`;
  const service = spec.service === undefined ? undefined : typeof spec.service === 'string' ? spec.service : (spec.service as { name?: unknown })?.name;
  if ((service === undefined) === (spec.features === undefined)) fail(`${where}: give exactly one of service: "fraud_v1" (or the service object) or features: ["view:feature", ...]`);
  if (service !== undefined && typeof service !== 'string') fail(`${where}: service must be a feature service or its name, not ${JSON.stringify(spec.service)}`);
  if (spec.features !== undefined && (!Array.isArray(spec.features) || spec.features.some((f) => typeof f !== 'string'))) fail(`${where}: features must be a list of "view:feature" strings`);
  try {
    resolveFeatures(project, service !== undefined ? { service } : { features: spec.features! });
  } catch (error) {
    if (error instanceof NotFoundError) fail(`${where}: ${error.message}`);
    throw error;
  }
  const spine = relativeFile(where, 'spine', spec.spine, SPINE_FORMATS, 'data/spine.csv');
  const out = relativeFile(where, 'out', spec.out, OUT_FORMATS, 'datasets/train.parquet');
  const timestampColumn = spec.timestampColumn ?? 'ts';
  if (typeof timestampColumn !== 'string' || timestampColumn === '') fail(`${where}: timestampColumn must be the spine's timestamp column name, not ${JSON.stringify(spec.timestampColumn)}`);
  if (spec.model !== undefined) {
    const problem = modelNameProblem(spec.model);
    if (problem) fail(`${where}: ${problem}`);
  }
  if (spec.asKnown !== undefined && typeof spec.asKnown !== 'boolean') fail(`${where}: asKnown must be true or false, not ${JSON.stringify(spec.asKnown)}`);
  return {
    name: spec.name,
    ...(service !== undefined ? { service } : { features: [...spec.features!] }),
    spine, out, timestampColumn,
    ...(spec.model === undefined ? {} : { model: spec.model }),
    ...(spec.asKnown ? { asKnown: true as const } : {}),
  };
}

/**
 * Validates a project's declared datasets against its features: names, exactly one of a
 * service or features (each known, with a did-you-mean), spine and output paths with a
 * supported format, a valid model name; no two write the same file. Datasets change no value,
 * so no hash.
 *
 * @example
 * compileDatasets([dataset({ name: 'train', service: 'fraud_v1', spine: 'data/spine.csv', out: 'datasets/train.parquet' })], project);
 */
export function compileDatasets(specs: readonly DatasetSpec[], project: Project): Dataset[] {
  uniqueNames('dataset', 'datasets', specs);
  const datasets = specs.map((s) => compileDataset(s, project));
  noCollisions('dataset outputs', datasets.map((d) => d.out.replace(/^\.\//, '')));
  return datasets;
}

/**
 * Declares a training dataset the project builds as the job `dataset:<name>`: the features of a
 * service (or a list of `view:feature`) at each row of a spine file, written to `out` (paths
 * relative to the project directory). `model` names the model it trains, for lineage.
 *
 * @example
 * dataset({ name: 'train', service: fraudV1, spine: 'data/spine.csv', out: 'datasets/train.parquet', model: 'fraud-v3' });
 */
export function dataset(options: Omit<DatasetSpec, 'kind'>): DatasetSpec {
  return Object.freeze({ kind: 'dataset', ...options });
}
