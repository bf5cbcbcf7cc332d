/**
 * Upper bounds (ms) of the freshness histogram buckets: ack to visible online. Every 10 ms up to
 * 50 ms (the target's range), so a p99 is reported as what it is rather than as the next coarse
 * bound; the exported Prometheus histogram uses the same bounds.
 */
export const FRESHNESS_BUCKETS_MS = [1, 2, 5, 10, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000, 10000, 30000, 60000] as const;

/** Per view, how long events took from acknowledgement to being visible online. */
export interface FreshnessSummary {
  readonly view: string;
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Cumulative counts per bucket upper bound (Prometheus style), `+Inf` last. */
  readonly buckets: readonly { readonly le: number | '+Inf'; readonly count: number }[];
}

/**
 * A histogram per view of the time from an event batch's acknowledgement to its effect being
 * visible online, in fixed buckets (the observability work exports it as a Prometheus histogram).
 * Quantiles are the bucket bounds they fall in: an upper bound, never an underestimate.
 */
export class FreshnessHistogram {
  private readonly views = new Map<string, { counts: number[]; count: number; max: number }>();

  observe(view: string, ackTime: number, visibleAt: number): void {
    const ms = Math.max(0, visibleAt - ackTime);
    let h = this.views.get(view);
    if (!h) this.views.set(view, (h = { counts: new Array<number>(FRESHNESS_BUCKETS_MS.length + 1).fill(0), count: 0, max: 0 }));
    let b = FRESHNESS_BUCKETS_MS.findIndex((le) => ms <= le);
    if (b < 0) b = FRESHNESS_BUCKETS_MS.length;
    h.counts[b]!++;
    h.count++;
    h.max = Math.max(h.max, ms);
  }

  summary(): FreshnessSummary[] {
    return [...this.views].map(([view, h]) => {
      let cumulative = 0;
      const buckets = h.counts.map((n, b) => ({ le: b < FRESHNESS_BUCKETS_MS.length ? FRESHNESS_BUCKETS_MS[b]! : ('+Inf' as const), count: (cumulative += n) }));
      const quantile = (q: number) => {
        const bucket = buckets.find((x) => x.count >= q * h.count);
        return bucket === undefined || bucket.le === '+Inf' ? h.max : Math.min(bucket.le, h.max);
      };
      return { view, count: h.count, p50Ms: quantile(0.5), p99Ms: quantile(0.99), maxMs: h.max, buckets };
    });
  }
}
