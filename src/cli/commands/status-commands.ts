import type { Command } from 'commander';
import { authorizeCliStatus } from '../../compliance/access/cli-principal.js';
import { alertTargets, NEVER } from '../../observability/alerts/index.js';
import { healthStatus, type HealthStatus } from '../../observability/status/index.js';
import type { AlertRecord } from '../../storage/metadata/health-store.js';
import type { ConnectorLeaseHolder } from '../../streaming/connector-leases.js';
import { formatDuration, toIso } from '../../time/index.js';
import { EXIT_UNHEALTHY } from '../exit.js';
import { integerIn } from '../options.js';
import { table } from '../output.js';
import type { CommandContext } from './command-context.js';

/** Where an alert's delivery stands. */
function delivery(alert: AlertRecord): 'delivered' | 'failed' | 'skipped' | 'retrying' | 'pending' {
  if (alert.deliveredAt !== null) return 'delivered';
  if (alert.nextAttemptAt >= NEVER) return alert.lastError?.startsWith('skipped') ? 'skipped' : 'failed';
  return alert.attempts > 0 ? 'retrying' : 'pending';
}

const age = (seconds: number | null): string => (seconds === null ? '-' : seconds < 120 ? `${Math.round(seconds)}s` : seconds < 7_200 ? `${Math.round(seconds / 60)}m` : `${Math.round(seconds / 3_600)}h`);

/**
 * Who runs a connector: its lease's holder (`pid 4242 on web-1 since …, lease until …`), `NONE`
 * when no process does, `-` without a connector; then the processes standing by (`standby: pid 77 on web-2`).
 */
function runnerCell(runner: ConnectorLeaseHolder | null | undefined, standbys: readonly ConnectorLeaseHolder[] = []): string {
  if (runner === undefined) return '-';
  const active = runner === null ? 'NONE' : `pid ${runner.pid} on ${runner.host} since ${runner.since}, lease until ${runner.expiresAt}`;
  return standbys.length === 0 ? active : `${active}; standby: ${standbys.map((s) => `pid ${s.pid} on ${s.host}`).join(', ')}`;
}

function statusScreen(s: HealthStatus): string {
  const section = (title: string, body: string) => `\n${title}\n${body}`;
  const deadLetters = Object.entries(s.deadLetters);
  return [
    s.healthy ? `HEALTHY (checked ${s.checkedAt})` : `UNHEALTHY (checked ${s.checkedAt}): ${s.problems.length} problem(s)\n${s.problems.map((p) => `  ! ${p}`).join('\n')}`,
    section('Freshness', s.freshness.length === 0 ? '  no sources or views' : table(['kind', 'name', 'sla', 'lag', 'status', 'data at'], s.freshness.map((f) => [
      f.kind, f.name, f.slaSeconds === null ? '-' : formatDuration(f.slaSeconds * 1000), age(f.lagSeconds), f.stale ? 'STALE' : f.slaSeconds === null ? '-' : 'fresh', f.dataAt ?? '-',
    ]))),
    section(`Firing conditions (${s.conditions.length})`, s.conditions.length === 0 ? '  none' : table(['severity', 'kind', 'subject', 'since', 'message'], s.conditions.map((c) => [c.severity === 'error' ? 'ERROR' : 'warn', c.kind, c.subject, c.since, c.message]))),
    section(`Failing checks (${s.failingChecks.length})`, s.failingChecks.length === 0 ? '  none' : s.failingChecks.map((c) => `  ${c.subject}: ${c.message}`).join('\n')),
    section('Last run of each job', s.lastRuns.length === 0 ? '  no runs yet' : table(['job', 'status', 'started', 'ms', 'error'], s.lastRuns.map((r) => [r.job, r.status === 'failed' ? 'FAILED' : r.status, r.startedAt, r.durationMs, r.error]))),
    section('Recent runs', s.runs.length === 0 ? '  no runs yet' : table(['job', 'status', 'started', 'ms'], s.runs.map((r) => [r.job, r.status === 'failed' ? 'FAILED' : r.status, r.startedAt, r.durationMs]))),
    section('Dead letters', deadLetters.length === 0 ? '  no sources' : `  ${deadLetters.map(([source, n]) => `${source}: ${n}`).join(', ')}`),
    section('Streams', s.streams.length === 0 ? '  no stream or CDC sources' : table(['source', 'kind', 'offset', 'lake lag', 'last ack', 'events/s', 'connector', 'runners', 'online lag'], s.streams.map((r) => [
      r.source, r.kind, r.offset, r.lakeLag, r.lastAckAt ?? '-', r.eventsPerSecond, r.connectorPosition ?? '-', runnerCell(r.activeRunner, r.standbys), Object.entries(r.views).map(([v, lag]) => `${v}:${lag ?? 'none'}`).join(' '),
    ]))),
  ].join('\n');
}

/** `status` (one screen of health, exit 3 when unhealthy) and `alerts` (recent alerts and their delivery). */
export function registerStatusCommands(program: Command, run: CommandContext): void {
  program
    .command('status')
    .alias('streams')
    .option('--runs <n>', 'recent runs to show', integerIn(1, 1_000), 10)
    .description(`one screen of health: freshness of every source and view, firing conditions (failed jobs and checks, stale, drift, skew, schema changes, serving-log drops), failing checks, last runs, dead letters, stream lag; exits ${EXIT_UNHEALTHY} when an error condition fires, an SLA is violated or a job's last run failed`)
    .action((options: { runs: number }) =>
      run.withPlatform(async ({ platform, out }) => {
        await authorizeCliStatus(platform);
        const status = await healthStatus(platform, await platform.project(), { runs: options.runs });
        out.result(status, () => statusScreen(status));
        if (!status.healthy) process.exitCode = EXIT_UNHEALTHY;
      }),
    );

  program
    .command('alerts')
    .option('--limit <n>', 'at most this many alerts', integerIn(1, 10_000), 50)
    .description('recent alerts (transitions of health conditions), newest first, and where their webhook delivery stands')
    .action((options: { limit: number }) =>
      run.withPlatform(async ({ platform, out }) => {
        await authorizeCliStatus(platform);
        const applied = await platform.metadata.latestRegistry();
        const channels = alertTargets(applied?.project).map((t) => ({
          name: t.name, where: t.where, kinds: t.kinds ? [...t.kinds] : null, minSeverity: t.minSeverity, ...('problem' in t.resolved ? { problem: t.resolved.problem } : {}),
        }));
        const alerts = (await platform.metadata.health.listAlerts(options.limit)).map((a) => ({
          id: a.id, at: toIso(a.createdAt), transition: a.transition, kind: a.condition.kind, subject: a.condition.subject, severity: a.condition.severity,
          message: a.condition.message, delivery: delivery(a), attempts: a.attempts, deliveredAt: a.deliveredAt === null ? null : toIso(a.deliveredAt),
          nextAttemptAt: a.deliveredAt !== null || a.nextAttemptAt >= NEVER ? null : toIso(a.nextAttemptAt), lastError: a.lastError,
        }));
        out.result({ channels, alerts }, () => [
          channels.length === 0 ? 'No alert channel: add alerts: [webhook({ url: env("ALERT_URL") })] to the project, or set SLUICE_ALERT_WEBHOOK_URL. Alerts wait in the outbox until then.' : `Channels: ${channels.map((c) => `${c.where}${c.problem ? ` (cannot send: ${c.problem})` : ''}`).join(', ')}`,
          alerts.length === 0 ? 'No alerts yet.' : table(['at', 'transition', 'severity', 'kind', 'subject', 'delivery', 'attempts', 'last error'], alerts.map((a) => [a.at, a.transition, a.severity, a.kind, a.subject, a.delivery, a.attempts, a.lastError])),
        ].join('\n'));
      }),
    );
}
