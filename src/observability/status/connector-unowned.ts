import type { SluiceContext } from '../../context.js';
import type { ConnectorRunner } from '../../streaming/connector-leases.js';
import { connectorSubject } from './connector-health.js';

/** The condition kind of a connector that no process has been the active runner of for longer than its lease's ttl, while a runner that could run it is up. */
export const CONNECTOR_UNOWNED = 'connector_unowned';

/** What a process does with its standbys' view of their connectors (see `connectorUnownedWatch`). */
export interface ConnectorUnownedWatch {
  /** Called with where this process stands with each connector it could run, every second or so. */
  observe(runners: readonly { readonly source: string; readonly runner: ConnectorRunner }[]): Promise<void>;
}

/**
 * Fires `connector_unowned` (error, subject `connector:<source>`) when this process stands by
 * for a connector that nobody has held the lease of (`ConnectorRunner.unownedSince`: its claims
 * could not take a free lease, e.g. the metadata store refused them) for longer than the lease's
 * ttl: a standby takes over within a second (a third of the ttl when shorter), so past it nothing runs the connector and
 * nothing will by itself. It ends once this process holds the lease or sees another holding it
 * (at its first sight of each connector too, ending what a process before it left). The store is
 * written only when that changes.
 *
 * @example
 * const unowned = connectorUnownedWatch(platform);
 * await unowned.observe(runtime.status().flatMap((s) => (s.runner ? [{ source: s.source, runner: s.runner }] : [])));
 */
export function connectorUnownedWatch(ctx: SluiceContext): ConnectorUnownedWatch {
  /** What this process last reported per source; the first sight reports too, so a condition a process before it left ends. */
  const reported = new Map<string, boolean>();
  return {
    async observe(runners) {
      const now = Date.now();
      for (const { source, runner } of runners) {
        const since = runner.unownedSince === undefined ? undefined : Date.parse(runner.unownedSince);
        const unowned = since !== undefined && now - since > runner.ttlMs;
        if (reported.get(source) === unowned) continue;
        await ctx.metadata.health.report({
          kind: CONNECTOR_UNOWNED, subject: connectorSubject(source), firing: unowned, severity: 'error',
          details: { source, pid: process.pid, ...(runner.unownedSince === undefined ? {} : { unownedSince: runner.unownedSince }), ttlMs: runner.ttlMs },
          message: unowned
            ? `source "${source}": this process (pid ${process.pid}) stands by to run its connector but has not been able to take or read its lease since ${runner.unownedSince} (longer than the lease's ttl, ${runner.ttlMs} ms)${runner.lastError === undefined ? '' : `: ${runner.lastError}`}; unless another process holds it, nothing runs the connector. Make the metadata store reachable from this process`
            : `source "${source}": its connector has an active runner again`,
        }, ctx.now());
        reported.set(source, unowned);
      }
    },
  };
}
