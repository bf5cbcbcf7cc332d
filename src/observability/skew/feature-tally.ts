import type { ColumnType } from '../../definitions/index.js';
import type { FeatureSkew, SkewExample, SkewSkipReason } from '../../storage/metadata/skew-store.js';
import type { ServedRow } from '../serving-log/served-row.js';
import { absoluteDifference, isNumeric, servedForm, servedJson } from './served-form.js';

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

  constructor(readonly service: string, readonly feature: string, private readonly valueType: ColumnType | undefined) {}

  skip(reason: SkewSkipReason): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  /** Compares one served value with its recomputation; `served`/`recomputed` name the snapshots each reflected. */
  compare(row: ServedRow, online: unknown, offline: unknown, snapshots: { readonly served: string; readonly recomputed: string; readonly servedBehind: boolean }): void {
    const type = this.valueType!;
    this.compared++;
    this.served.set(snapshots.served, (this.served.get(snapshots.served) ?? 0) + 1);
    this.recomputed.set(snapshots.recomputed, (this.recomputed.get(snapshots.recomputed) ?? 0) + 1);
    if (snapshots.servedBehind) this.servedBehind++;
    const onlineJson = servedJson(online, type);
    const offlineJson = servedJson(offline, type);
    if (onlineJson === null) this.onlineNulls++;
    if (offlineJson === null) this.offlineNulls++;
    if (isNumeric(type)) {
      const difference = absoluteDifference(online, offline, type);
      if (difference !== undefined) {
        this.differences++;
        this.differenceSum += difference;
        this.maxDifference = Math.max(this.maxDifference, difference);
      }
    }
    if (servedForm(online, type) === servedForm(offline, type)) return;
    this.mismatches++;
    if (this.examples.length < EXAMPLES_PER_FEATURE) this.examples.push({ keys: row.keys, entityKey: row.entityKey, asOf: row.asOf, online: onlineJson, offline: offlineJson });
  }

  result(latest: Readonly<Record<string, string | null>>): FeatureSkew {
    const rate = (n: number) => (this.compared === 0 ? 0 : n / this.compared);
    const numeric = this.valueType !== undefined && isNumeric(this.valueType) && this.differences > 0;
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
