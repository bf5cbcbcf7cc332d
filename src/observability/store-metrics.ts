import { isStreamed, type Project } from '../definitions/index.js';
import type { Platform } from '../platform.js';
import { streamStatus } from '../streaming/stream-status.js';
import { evaluateFreshness, type FreshnessStatus } from './freshness-status.js';
import type { GaugeSample, ScrapeSource } from './metrics.js';
import type { Condition } from '../storage/metadata/health-store.js';
import { CONNECTOR_LOST } from './status/connector-beats.js';
import { CONNECTOR_UNOWNED } from './status/connector-unowned.js';
import { activeRunnerOf } from '../streaming/connector-leases.js';
import { CONNECTOR_FAILED, CONNECTOR_RETRYING, CONNECTOR_STOPPED, DATA_LOST, connectorSources, connectorSubject } from './status/connector-health.js';

/** Per source with a connector: 0 while its connector's condition fires (failed, retrying, no process runs it, the one that ran it is lost, or a standby cannot take it) (see `connectorHealthWatch`, `connectorUnownedWatch`), else 1. */
function connectorUp(project: Project, conditions: readonly Condition[]): GaugeSample[] {
  const down = new Set(conditions.filter((c) => c.firing && (c.kind === CONNECTOR_FAILED || c.kind === CONNECTOR_RETRYING || c.kind === CONNECTOR_STOPPED || c.kind === CONNECTOR_LOST || c.kind === CONNECTOR_UNOWNED)).map((c) => c.subject));
  return connectorSources(project).map((source) => ({ labels: { source }, value: down.has(connectorSubject(source)) ? 0 : 1 }));
}

/**
 * Figures the stores hold, read at each scrape, so jobs run by other processes (`sluice ingest`,
 * `sluice materialize`) are visible: finished runs' counts and durations per job and status, runs
 * running per job, rows accepted
 * and rejected by file ingests, dead letters per source, and per stream source its log offset,
 * lake lag and each view's online lag, and whether each source's connector is up (its health conditions).
 *
 * @example
 * metrics.addScrapeSource(storeMetrics(platform, () => project));
 */
export function storeMetrics(platform: Platform, project: () => Promise<Project>): ScrapeSource {
  return async () => {
    const current = await project();
    const [totals, deadLetters] = await Promise.all([platform.metadata.runTotals(), platform.metadata.deadLetterCounts()]);
    const runs = new Map<string, { job: string; status: string; runs: number; ms: number }>();
    const lastFailure = new Map<string, number>();
    // Every job ever run, so its gauge drops to 0 when its last run ends instead of vanishing.
    const running = new Map<string, number>();
    const ingested: GaugeSample[] = [];
    const rejected: GaugeSample[] = [];
    for (const t of totals) {
      running.set(t.job, (running.get(t.job) ?? 0) + (t.status === 'running' ? t.runs : 0));
      // A counter counts final statuses only: a running run is counted once it ends.
      if (t.status === 'running') continue;
      const key = `${t.job}\u0000${t.status}`;
      const sum = runs.get(key) ?? { job: t.job, status: t.status, runs: 0, ms: 0 };
      sum.runs += t.runs;
      sum.ms += t.durationMs;
      runs.set(key, sum);
      if (t.status === 'failed') lastFailure.set(t.job, Math.max(lastFailure.get(t.job) ?? 0, t.lastStartedAt));
      if (t.job === 'ingest' && t.source !== null && t.status === 'succeeded') {
        ingested.push({ labels: { source: t.source }, value: t.accepted });
        rejected.push({ labels: { source: t.source }, value: t.rejected });
      }
    }
    const samples: Record<string, GaugeSample[]> = {
      sluice_job_runs_total: [...runs.values()].map((r) => ({ labels: { job: r.job, status: r.status }, value: r.runs })),
      sluice_job_duration_seconds_total: [...runs.values()].map((r) => ({ labels: { job: r.job, status: r.status }, value: r.ms / 1000 })),
      sluice_job_runs_running: [...running].map(([job, value]) => ({ labels: { job }, value })),
      sluice_job_last_failure_timestamp_seconds: [...lastFailure].map(([job, at]) => ({ labels: { job }, value: at / 1000 })),
      sluice_ingest_rows_total: ingested,
      sluice_ingest_rejected_rows_total: rejected,
      sluice_dead_letters: current.sources.map((s) => ({ labels: { source: s.name }, value: deadLetters[s.name] ?? 0 })),
    };
    if (current.sources.some(isStreamed)) {
      const streams = await streamStatus(current, await platform.log(), await platform.online(), platform.now());
      samples.sluice_stream_log_offset = streams.map((s) => ({ labels: { source: s.source }, value: s.offset }));
      samples.sluice_stream_lake_lag_entries = streams.map((s) => ({ labels: { source: s.source }, value: s.lakeLag }));
      samples.sluice_stream_online_lag_entries = streams.flatMap((s) => Object.entries(s.views).flatMap(([view, lag]) => (lag === null ? [] : [{ labels: { source: s.source, view }, value: lag }])));
    }
    const freshness = await evaluateFreshness(current, { metadata: platform.metadata, online: await platform.online(), log: () => platform.log(), now: platform.now() });
    const labels = (f: FreshnessStatus) => ({ kind: f.kind, name: f.name });
    samples.sluice_freshness_lag_seconds = freshness.flatMap((f) => (f.lagSeconds === null ? [] : [{ labels: labels(f), value: f.lagSeconds }]));
    samples.sluice_freshness_sla_seconds = freshness.flatMap((f) => (f.slaSeconds === null ? [] : [{ labels: labels(f), value: f.slaSeconds }]));
    // What `sluice status` says: a view is STALE behind its sources' committed data, SLA or not;
    // a source only past an SLA (without one it is never stale, and has no sample).
    samples.sluice_stale = freshness.flatMap((f) => (f.slaSeconds === null && f.kind === 'source' ? [] : [{ labels: labels(f), value: f.stale ? 1 : 0 }]));
    // Every kind and severity ever recorded, so a family drops to 0 when its last condition clears instead of vanishing.
    const firing = new Map<string, GaugeSample>();
    const conditions = await platform.metadata.health.list();
    for (const c of conditions) {
      const key = `${c.kind}\u0000${c.severity}`;
      firing.set(key, { labels: { kind: c.kind, severity: c.severity }, value: (firing.get(key)?.value ?? 0) + (c.firing ? 1 : 0) });
    }
    samples.sluice_condition_firing = [...firing.values()];
    samples.sluice_connector_up = connectorUp(current, conditions);
    const leases = await platform.metadata.listLeases();
    samples.sluice_connector_active_runners = connectorSources(current).map((source) => ({ labels: { source }, value: activeRunnerOf(leases, source) === null ? 0 : 1 }));
    samples.sluice_connector_lost_sequences_total = conditions.flatMap((c) => (c.kind === DATA_LOST && typeof c.details?.lostSequences === 'number' && typeof c.details.source === 'string' ? [{ labels: { source: c.details.source }, value: c.details.lostSequences }] : []));
    return samples;
  };
}
