import type { SluiceContext } from '../../context.js';
import { holderDiedHere, holderIsGone, newLeaseHolder, readerClock, type ReaderClock } from '../../orchestration/lease.js';
import type { Lease } from '../../storage/metadata/metadata-store.js';

/** The condition kind of a connector whose process stopped beating without a clean stop (killed, crashed, its machine lost). */
export const CONNECTOR_LOST = 'connector_lost';
/** How often a process running a connector records that it still does (its heartbeat). */
export const CONNECTOR_BEAT_EVERY_MS = 10_000;
/** A heartbeat that a reader sees unchanged for this long by its own clock (3 beats) says the process is gone; on its own host and boot a dead pid says so at once. */
export const CONNECTOR_LOST_AFTER_MS = 3 * CONNECTOR_BEAT_EVERY_MS;

const BEAT_PREFIX = 'connector-beat:';
/** The lease that is one process's heartbeat for one connector: `connector-beat:<source>:<holder id>`. */
const beatName = (source: string, holderId: string) => `${BEAT_PREFIX}${source}:${holderId}`;
const sourceOf = (lease: Lease) => lease.name.slice(BEAT_PREFIX.length, lease.name.length - lease.holder.id.length - 1);

/** One process's heartbeats for the connectors it runs (see `connectorBeats`). */
export interface ConnectorBeats {
  /** Records that this process runs `sources` now: at most every `CONNECTOR_BEAT_EVERY_MS` (of `now`), and at once for a source it did not run. */
  beat(sources: readonly string[], now: number): Promise<void>;
  /** Removes every heartbeat of this process: it stops running its connectors cleanly. */
  stop(): Promise<void>;
}

/**
 * The heartbeats of the connectors a process runs, as leases in the metadata store (one per
 * connector and process, holder = this process: pid, host and start), renewed on the process's
 * connector poll (once a second, written every `CONNECTOR_BEAT_EVERY_MS`, again on the next poll
 * after a failed write), never per event. A lease seen unchanged for `CONNECTOR_LOST_AFTER_MS` of
 * the reader's clock, or whose process is dead on its host and boot, is what
 * `reportLostConnectors` reports as `connector_lost`.
 *
 * @example
 * const beats = connectorBeats(platform);
 * await beats.beat(['payments'], platform.now());
 * await beats.stop();
 */
export function connectorBeats(ctx: SluiceContext): ConnectorBeats {
  const holder = newLeaseHolder();
  const held = new Set<string>();
  let beatAt = Number.NEGATIVE_INFINITY;
  return {
    async beat(sources, now) {
      const added = sources.filter((s) => !held.has(s));
      if (added.length === 0 && now - beatAt < CONNECTOR_BEAT_EVERY_MS) return;
      const renew = now - beatAt >= CONNECTOR_BEAT_EVERY_MS;
      for (const source of sources) {
        const name = beatName(source, holder.id);
        // A heartbeat taken as lost (this process stalled past the bound) is taken again: the connector beats again.
        const renewed = held.has(source) && (!renew || (await ctx.metadata.renewLease(name, holder.id, CONNECTOR_LOST_AFTER_MS)) !== undefined);
        if (!renewed) await ctx.metadata.acquireLease(name, holder, CONNECTOR_LOST_AFTER_MS, holderIsGone);
        held.add(source);
      }
      for (const source of [...held].filter((s) => !sources.includes(s))) {
        await ctx.metadata.releaseLease(beatName(source, holder.id), holder.id);
        held.delete(source);
      }
      // Only once every write succeeded: a failed beat is written again on the next poll, not a beat later.
      if (renew) beatAt = now;
    },
    async stop() {
      for (const source of held) await ctx.metadata.releaseLease(beatName(source, holder.id), holder.id);
      held.clear();
    },
  };
}

export interface LostConnectorOptions {
  /** The reader's clock (default `readerClock`): a beat is stale once two of its readings `CONNECTOR_LOST_AFTER_MS` apart saw it unchanged. */
  readonly clock?: () => ReaderClock;
  /** Whether a beat's process provably died (default `holderDiedHere`: a dead pid of this host and boot): lost at once. */
  readonly diedHere?: (lease: Lease) => boolean;
}

/**
 * Fires `connector_lost` (error, subject `connector:<source>`) for each connector whose every
 * heartbeat is gone, naming the process last seen running it (pid, host) and its last beat; the
 * gone heartbeats are removed (each only if not renewed since it was seen). A heartbeat is gone
 * when its process died on this host and boot, or when a look by this machine's clock saw it
 * unchanged (same renewal) since a look at least `CONNECTOR_LOST_AFTER_MS` before: each look is
 * recorded in the metadata store (`sightLease`), so `sluice status` and the monitoring loops of
 * the machine's processes share them, and the writer's clock is never compared with the reader's
 * (clocks need not agree). A process that runs the connector again ends it
 * (`connectorHealthWatch`), and so does a clean stop (`connector_stopped`). Run by `sluice
 * status` and the monitoring loop of every long-running process. The number fired.
 *
 * @example
 * await reportLostConnectors(platform);
 */
export async function reportLostConnectors(ctx: SluiceContext, options: LostConnectorOptions = {}): Promise<number> {
  const clock = (options.clock ?? readerClock)();
  const diedHere = options.diedHere ?? holderDiedHere;
  const beats: { lease: Lease; gone: boolean }[] = [];
  for (const listed of (await ctx.metadata.listLeases()).filter((l) => l.name.startsWith(BEAT_PREFIX))) {
    const seen = await ctx.metadata.sightLease(listed.name, clock.id, clock.now);
    if (seen !== undefined) beats.push({ lease: seen.lease, gone: diedHere(seen.lease) || clock.now - seen.unchangedSince >= CONNECTOR_LOST_AFTER_MS });
  }
  const live = new Set(beats.filter((b) => !b.gone).map((b) => sourceOf(b.lease)));
  const gone = beats.filter((b) => b.gone).map((b) => b.lease);
  let fired = 0;
  for (const lease of gone.sort((a, b) => b.renewedAt - a.renewedAt)) {
    const source = sourceOf(lease);
    const { pid, host } = lease.holder;
    const lastBeat = new Date(lease.renewedAt).toISOString();
    // The newest gone heartbeat of a source no live process beats for names the process last seen.
    if (!live.has(source)) {
      await ctx.metadata.health.report({
        kind: CONNECTOR_LOST, subject: `connector:${source}`, firing: true, severity: 'error', details: { source, pid, host, lastBeat },
        message: `source "${source}": its connector is lost: the process that ran it (pid ${pid} on ${host}) last beat at ${lastBeat} and did not stop cleanly (killed, crashed, or its machine is lost); nothing arrives from it until sluice serve or sluice worker runs it again`,
      }, ctx.now());
      live.add(source);
      fired++;
    }
    // A beat renewed since it was seen is a live process's: it stays.
    await ctx.metadata.releaseLease(lease.name, lease.holder.id, lease.renewedAt);
  }
  return fired;
}
