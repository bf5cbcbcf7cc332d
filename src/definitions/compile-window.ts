import { formatDuration, parseDuration } from '../time/index.js';
import type { Feature, FeatureSpec } from './types.js';
import { checkDurationText, fail } from './validate-names.js';

type CompiledWindow = Pick<Feature, 'window' | 'windowMs' | 'hop' | 'hopMs'>;

/** Units a suggested hop is made of, largest first. */
const UNITS = [86_400_000, 3_600_000, 60_000, 1_000, 1];

/**
 * A feature's window and hop, validated. A hop needs a window, and the window must be a whole
 * number of hops (so `hop <= window`): the window then always holds the current partial hop
 * plus `window / hop` whole hops, and its tail moves on hop boundaries (multiples of the hop
 * since the epoch), the tiles a bounded online state can pre-aggregate.
 *
 * @example
 * compileWindow('feature view "v", feature "f"', sum('amount', { window: '30d', hop: '1h' }));
 * // { window: '30d', windowMs: 2_592_000_000, hop: '1h', hopMs: 3_600_000 }
 */
export function compileWindow(where: string, spec: FeatureSpec): CompiledWindow {
  if (spec.window === undefined && spec.hop === undefined) return {};
  if (spec.fn === 'field') fail(`${where}: field() takes no window${spec.hop === undefined ? '' : ' or hop'}; set a ttl on the view instead`);
  if (spec.window === undefined) fail(`${where}: hop "${String(spec.hop)}" needs a window; give both, e.g. { window: '30d', hop: '1h' }`);
  checkDurationText(where, 'window', spec.window, '24h');
  const windowMs = parseDuration(spec.window);
  if (windowMs === undefined) fail(`${where}: window "${spec.window}" is not a duration; write a positive number and a unit (ms, s, m, h, d), e.g. "24h"`);
  if (spec.hop === undefined) return { window: spec.window, windowMs };
  checkDurationText(where, 'hop', spec.hop, '1h');
  const hopMs = parseDuration(spec.hop);
  if (hopMs === undefined) fail(`${where}: hop "${spec.hop}" is not a duration; write a positive number and a unit (ms, s, m, h, d), e.g. "1h"`);
  if (hopMs > windowMs) fail(`${where}: hop "${spec.hop}" is longer than window "${spec.window}"; use a hop of at most the window, e.g. "${suggestHop(windowMs, windowMs)}"`);
  if (windowMs % hopMs !== 0) {
    fail(`${where}: window "${spec.window}" is not a whole number of hops of "${spec.hop}"; use a hop that divides the window, e.g. "${suggestHop(windowMs, hopMs)}"`);
  }
  return { window: spec.window, windowMs, hop: spec.hop, hopMs };
}

/** The largest round hop (a whole number of days, hours, ... ) at most `hopMs` that divides the window. */
function suggestHop(windowMs: number, hopMs: number): string {
  for (const unit of UNITS) {
    for (let n = Math.floor(hopMs / unit); n >= 1; n--) if (windowMs % (n * unit) === 0 && n * unit < windowMs) return formatDuration(n * unit);
  }
  return formatDuration(windowMs);
}
