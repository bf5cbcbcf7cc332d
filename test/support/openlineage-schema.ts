import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';

const addFormats = ((formats as unknown as { default?: typeof formats }).default ?? formats) as unknown as (ajv: Ajv2020) => void;

const SPEC = join(import.meta.dirname, '..', '..', '..', 'shared', 'openlineage', 'spec');
const RUN_EVENT = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';

/**
 * Validates OpenLineage events against the official JSON Schemas (offline, Ajv in 2020-12 mode):
 * the event against `RunEvent`, and each standard facet against the schema its `_schemaURL`
 * names (the event schema alone checks only that a facet is a facet), and that each dataset facet
 * is on its side: a `DatasetFacet` in `facets`, an `InputDatasetFacet` in `inputFacets`, an
 * `OutputDatasetFacet` in `outputFacets`. Returns the errors, empty when valid.
 */
export function openLineageValidator(specDir = process.env.OPENLINEAGE_SPEC_DIR ?? SPEC): (event: unknown) => string[] {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const load = (file: string) => ajv.addSchema(JSON.parse(readFileSync(file, 'utf8')) as object);
  load(join(specDir, 'OpenLineage.json'));
  for (const file of readdirSync(join(specDir, 'facets'))) load(join(specDir, 'facets', file));
  const check = (ref: string, value: unknown, where: string): string[] => {
    const validate = ajv.getSchema(ref);
    if (!validate) return [`${where}: no schema ${ref}`];
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${where}${e.instancePath} ${e.message} (${ref})`);
  };
  // Which side a standard facet belongs to: the base its schema extends (`InputDatasetFacet` only in an input's `inputFacets`, ...).
  const base = (url: string) => ((ajv.getSchema(url)?.schema as { allOf?: { $ref?: string }[] } | undefined)?.allOf ?? []).map((a) => a.$ref?.split('/$defs/')[1]).find((b) => b !== undefined);
  const PLACE: Readonly<Record<string, string>> = { facets: 'DatasetFacet', inputFacets: 'InputDatasetFacet', outputFacets: 'OutputDatasetFacet' };
  return (event) => {
    const errors = check(RUN_EVENT, event, 'event');
    const facets = (owner: Record<string, unknown> | undefined, key: string, where: string) => {
      for (const [name, value] of Object.entries((owner?.[key] ?? {}) as Record<string, { _schemaURL?: string }>)) {
        const url = value._schemaURL ?? '';
        if (!url.startsWith('https://openlineage.io/spec/facets/')) {
          errors.push(`${where}.${key}.${name}: not a standard facet (${url})`);
          continue;
        }
        errors.push(...check(url, value, `${where}.${key}.${name}`));
        const expected = where === 'run' || where === 'job' ? undefined : PLACE[key];
        const actual = base(url);
        if (expected !== undefined && actual !== undefined && actual !== expected) errors.push(`${where}.${key}.${name}: a ${actual} (${url}) where only a ${expected} belongs`);
      }
    };
    const e = event as Record<string, Record<string, unknown> & { inputs?: Record<string, unknown>[]; outputs?: Record<string, unknown>[] }>;
    facets(e.run, 'facets', 'run');
    facets(e.job, 'facets', 'job');
    for (const [i, d] of ((e.inputs ?? []) as unknown as Record<string, unknown>[]).entries()) for (const k of ['facets', 'inputFacets']) facets(d, k, `inputs[${i}]`);
    for (const [i, d] of ((e.outputs ?? []) as unknown as Record<string, unknown>[]).entries()) for (const k of ['facets', 'outputFacets']) facets(d, k, `outputs[${i}]`);
    return errors;
  };
}
