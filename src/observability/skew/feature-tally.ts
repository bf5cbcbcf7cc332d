import type { ColumnType } from '../../definitions/index.js';
import type { FeatureSkew, SkewExample, SkewSkipReason } from '../../storage/metadata/skew-store.js';
import type { ServedRow } from '../serving-log/served-row.js';
import { absoluteDifference, isNumeric, servedJson } from './served-form.js';

/** Mismatches kept as examples per feature. */
export const EXAMPLES_PER_FEATURE = 5;

/**
 * Counts, for one feature of one service, how its served values compare with their offline
 * recomputation: compared and mismatched values, nulls on each side, numeric differences, values
 * skipped by reason, the snapshots each side reflected, and the first few mismatches.
 */
export class FeatureTally {
  private compared = 0;
  private mismatches = 0;
  private onlineNulls = 0;
  private offlineNulls = 0;
  private differences = 0;
  private differenceSum = 0;
  private maxDifference = 0;
  private servedBehind = 0;
  private readonly skipped: Partial<Record<SkewSkipReason, number>> = {};
  private readonly examples: SkewExample[] = [];
  private readonly served = new Map<string, number>();
  private readonly recomputed = new Map<string, number>();

  private readonly numeric: boolean;
  private readonly int64: boolean;

  constructor(readonly service: string, readonly feature: string, private readonly valueType: ColumnType | undefined) {
    this.numeric = valueType !== undefined && isNumeric(valueType);
    this.int64 = valueType === 'int64';
  }

  skip(reason: SkewSkipReason): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  /** Records that `count` compared values reflected the `served` snapshot and were recomputed over `recomputed`; `behind` of them were served behind a newer snapshot. */
  snapshots(served: string, recomputed: string, count: number, behind: number): void {
    this.served.set(served, (this.served.get(served) ?? 0) + count);
    this.recomputed.set(recomputed, (this.recomputed.get(recomputed) ?? 0) + count);
    this.servedBehind += behind;
  }

  /** Compares one served value with its recomputation. */
  compare(row: ServedRow, online: unknown, offline: unknown): void {
    this.compared++;
    // The common case, equal primitives (a float, a string, both null), needs no JSON form.
    if (online === offline && (online === null || typeof online !== 'object')) {
      if (online === null) {
        this.onlineNulls++;
        this.offlineNulls++;
      } else if (this.numeric) this.differences++;
      return;
    }
    // int64 logged as a decimal string, recomputed as a safe integer.
    if (this.int64 && typeof online === 'string' && typeof offline === 'number' && online === String(offline)) {
      this.differences++;
      return;
    }
    const type = this.valueType!;
    const onlineJson = servedJson(online, type);
    const offlineJson = servedJson(offline, type);
    if (onlineJson === null) this.onlineNulls++;
    if (offlineJson === null) this.offlineNulls++;
    if (this.numeric) {
      const difference = absoluteDifference(online, offline, type);
      if (difference !== undefined) {
        this.differences++;
        this.differenceSum += difference;
        this.maxDifference = Math.max(this.maxDifference, difference);
      }
    }
    if (JSON.stringify(onlineJson) === JSON.stringify(offlineJson)) return;
    this.mismatches++;
    if (this.examples.length < EXAMPLES_PER_FEATURE) this.examples.push({ keys: row.keys, entityKey: row.entityKey, asOf: row.asOf, online: onlineJson, offline: offlineJson });
  }

  result(latest: Readonly<Record<string, string | null>>): FeatureSkew {
    const rate = (n: number) => (this.compared === 0 ? 0 : n / this.compared);
    const numeric = this.numeric && this.differences > 0;
    return {
      service: this.service,
      feature: this.feature,
      compared: this.compared,
      mismatches: this.mismatches,
      mismatchRate: rate(this.mismatches),
      onlineNullRate: rate(this.onlineNulls),
      offlineNullRate: rate(this.offlineNulls),
      maxAbsDiff: numeric ? this.maxDifference : null,
      meanAbsDiff: numeric ? this.differenceSum / this.differences : null,
      skipped: { ...this.skipped },
      examples: [...this.examples],
      snapshots: { served: Object.fromEntries(this.served), recomputed: Object.fromEntries(this.recomputed), latest, servedBehind: this.servedBehind },
    };
  }
}
