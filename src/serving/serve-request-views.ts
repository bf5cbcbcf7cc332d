import type { ColumnType, RequestFeatureFunction, RequestFunctions, RequestSelection } from '../definitions/index.js';
import { aColumnType } from '../definitions/index.js';
import { ConflictError, ValidationError } from '../errors.js';
import type { ValueStatus } from '../processing/evaluate-online.js';
import type { Scalar } from '../processing/entity-state.js';
import { callRequestFeature, inputBuilder, inputLayout, requestValue, type InputBuilder, type RequestOutcome } from '../processing/request-features.js';

/** One request view of a serving plan, resolved once: where its inputs are in the sink, where its features go. */
export interface RequestViewPlan {
  readonly name: string;
  readonly fields: readonly string[];
  readonly fieldTypes: readonly ColumnType[];
  /** Per input view: its index among the plan's views. */
  readonly inputViews: readonly number[];
  /** Sink positions of every input feature, in `inputLayout` order after the request fields. */
  readonly inputPositions: readonly number[];
  /** Per selected feature: its index in the view's `features` (and so in its functions), its type, its output position. */
  readonly featureIndex: readonly number[];
  readonly types: readonly ColumnType[];
  readonly positions: readonly number[];
  readonly build: InputBuilder;
  /** The flat argument values of one row (scratch: `build` copies them into the argument). */
  readonly scratch: Scalar[];
}

/**
 * Plans a request selection. `positionOf(v, f)` is the sink position of feature `f` of view `v`
 * (of the resolved `byView`), `output` the output position of each selected feature.
 */
export function planRequestView(selection: RequestSelection, inputFeatures: readonly (readonly string[])[], positionOf: (view: number, feature: string) => number, output: readonly number[]): RequestViewPlan {
  const { view } = selection;
  const layout = inputLayout(view, inputFeatures);
  const fields = Object.keys(view.request);
  return {
    name: view.name,
    fields,
    fieldTypes: fields.map((f) => view.request[f]!),
    inputViews: selection.inputs,
    inputPositions: selection.inputs.flatMap((v, i) => inputFeatures[i]!.map((f) => positionOf(v, f))),
    featureIndex: selection.features.map((f) => view.features.indexOf(f)),
    types: selection.features.map((f) => f.valueType),
    positions: output,
    build: inputBuilder(layout),
    scratch: new Array<Scalar>(layout.length),
  };
}

/** Per request view, its request fields' values (request order, converted; see `requestValue`), checked. */
export function requestColumns(request: Readonly<Record<string, unknown>> | undefined, plans: readonly RequestViewPlan[], n: number): (readonly Scalar[])[][] {
  const absent = (f: string) => request?.[f] === undefined || !Object.hasOwn(request, f);
  if (plans.some((p) => p.fields.some(absent))) {
    const missing = [...new Set(plans.flatMap((p) => p.fields.filter(absent)))];
    const needs = plans.filter((p) => p.fields.some((f) => missing.includes(f))).map((p) => `"${p.name}"`).join(', ');
    throw new ValidationError('BAD_REQUEST', `request has no request field ${missing.map((f) => `"${f}"`).join(', ')}, needed by request view ${needs}; send "request": {${missing.map((f) => `"${f}": [...]`).join(', ')}}, one value per entity`);
  }
  const columns: (readonly Scalar[])[][] = new Array(plans.length);
  for (let p = 0; p < plans.length; p++) {
    const plan = plans[p]!;
    const perField: Scalar[][] = (columns[p] = new Array(plan.fields.length));
    for (let i = 0; i < plan.fields.length; i++) {
      const field = plan.fields[i]!;
      const raw = request![field];
      if (!Array.isArray(raw) || raw.length !== n) {
        throw new ValidationError('BAD_REQUEST', `request.${field} must be an array of ${n} value(s), one per entity${Array.isArray(raw) ? ` (it has ${raw.length})` : ''}`);
      }
      const type = plan.fieldTypes[i]!;
      const values: Scalar[] = (perField[i] = new Array(n));
      for (let r = 0; r < n; r++) {
        const read = requestValue(raw[r], type);
        if (read === undefined) throw new ValidationError('BAD_REQUEST', `request.${field}[${r}] is ${JSON.stringify(raw[r]) ?? String(raw[r])}, not ${aColumnType(type)} (request view "${plan.name}")`);
        values[r] = read;
      }
    }
  }
  return columns;
}

const bound = new WeakMap<readonly RequestViewPlan[], { readonly from: RequestFunctions | undefined; readonly fns: readonly (readonly RequestFeatureFunction[])[] }>();

/** The functions of each planned view, in `featureIndex` order; a ConflictError naming the fix when they are not loaded. */
export function planFunctions(plans: readonly RequestViewPlan[], functions: RequestFunctions | undefined): readonly (readonly RequestFeatureFunction[])[] {
  // The same functions serve request after request: bind them once per plan.
  const cached = bound.get(plans);
  if (cached !== undefined && cached.from === functions) return cached.fns;
  const byPlan = plans.map((plan) => {
    const fns = functions?.get(plan.name);
    if (fns === undefined) throw new ConflictError('CONFLICT', `request view "${plan.name}": its functions are not loaded; serve the project with "sluice serve" from its directory (sluice.config.ts defines them)`);
    return plan.featureIndex.map((i) => fns[i]!);
  });
  bound.set(plans, { from: functions, fns: byPlan });
  return byPlan;
}

const RANK: Partial<Record<ValueStatus, number>> = { NOT_FOUND: 1, STALE: 2, NOT_MATERIALIZED: 3 };

/** The input status a request feature reports (the worst of its inputs'), or undefined when every input is answered. */
export function worseStatus(a: ValueStatus | undefined, b: ValueStatus | undefined): ValueStatus | undefined {
  return (RANK[b!] ?? 0) > (RANK[a!] ?? 0) ? b : a;
}

/** A function that failed on one row: what the server counts and logs. */
export interface RequestFeatureError {
  readonly column: string;
  readonly row: number;
  /** Names the error's class, never its message or a value (see `USER_CODE_ERRORS`). */
  readonly reason: string;
  /** What the function threw, as text: only for a keyed-hash token (`userErrorReason`); never log or return it. */
  readonly thrown?: string;
}

/** A sink of one row's values, as `getOnlineFeatures` fills it. */
interface RowSink {
  readonly values: Scalar[];
  readonly status: ValueStatus[];
  readonly ageMs: (number | null)[];
}

const outcome: RequestOutcome = { value: null, error: undefined, thrown: undefined };

/**
 * Evaluates one request view for row `r`, after its input views' values are in `sink`: the
 * function gets the values as served (null where there is none), and each feature's status is
 * ERROR when its function failed, else the worst input status (`inputStatus`: NOT_MATERIALIZED,
 * STALE, NOT_FOUND), else NULL or PRESENT; its age is the youngest input's. Returns the number
 * of errors.
 */
export function evaluateRequestViewInto(plan: RequestViewPlan, fns: readonly RequestFeatureFunction[], columns: readonly (readonly Scalar[])[], r: number, inputStatus: ValueStatus | undefined, sink: RowSink, columnNames: readonly string[], onError: ((error: RequestFeatureError) => void) | undefined): number {
  const scratch = plan.scratch;
  const nFields = columns.length;
  for (let i = 0; i < nFields; i++) scratch[i] = columns[i]![r]!;
  let age: number | null = null;
  for (let i = 0; i < plan.inputPositions.length; i++) {
    const at = plan.inputPositions[i]!;
    scratch[nFields + i] = sink.values[at]!;
    const a = sink.ageMs[at]!;
    if (a !== null && (age === null || a < age)) age = a;
  }
  const input = plan.build(scratch);
  let errors = 0;
  for (let f = 0; f < fns.length; f++) {
    const at = plan.positions[f]!;
    callRequestFeature(fns[f]!, input, plan.types[f]!, outcome);
    sink.values[at] = outcome.value;
    sink.ageMs[at] = age;
    if (outcome.error !== undefined) {
      sink.status[at] = 'ERROR';
      errors++;
      onError?.({ column: columnNames[at]!, row: r, reason: outcome.error, ...(outcome.thrown === undefined ? {} : { thrown: outcome.thrown }) });
    } else sink.status[at] = inputStatus ?? (outcome.value === null ? 'NULL' : 'PRESENT');
  }
  return errors;
}
