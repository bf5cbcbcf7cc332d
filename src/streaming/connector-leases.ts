import { DEFAULT_LEASE_TTL_MS, heartbeat, holderIsGone, newLeaseHolder } from '../orchestration/lease.js';
import type { Lease, MetadataStore } from '../storage/metadata/metadata-store.js';

/** The lease whose holder is a connector's one active runner: `connector:<source>`. */
export const connectorLeaseName = (source: string): string => `connector:${source}`;

const STANDBY_PREFIX = 'connector-standby:';
/** The lease that records one process standing by for a connector: `connector-standby:<source>:<holder id>`. */
const standbyLeaseName = (source: string, holderId: string): string => `${STANDBY_PREFIX}${source}:${holderId}`;

/** Who holds a connector's lease, as a runner or `sluice status` last saw it. */
export interface ConnectorLeaseHolder {
  readonly host: string;
  readonly pid: number;
  /** ISO-8601: when it took the lease. */
  readonly since: string;
  /** ISO-8601: when the lease expires unless renewed (a holder renews it every third of its ttl). */
  readonly expiresAt: string;
}

/**
 * Where one process stands with one connector: `active` while it holds the connector's lease and
 * runs it (`holder` is this process); `standby` while another process holds it (`holder`), or
 * nobody holds it and this process could not take it (`unownedSince` then says since when, ISO-8601),
 * or its own connector is still stopping after it lost the lease.
 */
export interface ConnectorRunner {
  readonly role: 'active' | 'standby';
  readonly holder?: ConnectorLeaseHolder;
  readonly unownedSince?: string;
  /** Why the last claim could not take a free lease (the metadata store's error). */
  readonly lastError?: string;
  /** The lease's ttl in ms: how long a holder that stopped renewing keeps it. */
  readonly ttlMs: number;
}

export const describeLeaseHolder = (lease: Lease): ConnectorLeaseHolder => ({
  host: lease.holder.host, pid: lease.holder.pid, since: new Date(lease.acquiredAt).toISOString(), expiresAt: new Date(lease.expiresAt).toISOString(),
});

/**
 * The active runner of `source`'s connector among `leases` (`MetadataStore.listLeases`): the
 * holder of its lease, or null when none holds it or its holder is gone (expired, dead on this host).
 *
 * @example
 * activeRunnerOf(await metadata.listLeases(), 'payments'); // { host: 'web-1', pid: 4242, since: '…', expiresAt: '…' }
 */
export function activeRunnerOf(leases: readonly Lease[], source: string): ConnectorLeaseHolder | null {
  const lease = leases.find((l) => l.name === connectorLeaseName(source));
  return lease === undefined || holderIsGone(lease) ? null : describeLeaseHolder(lease);
}

/**
 * The processes standing by for `source`'s connector among `leases`: each records itself with a
 * lease of the connector's ttl, renewed every third of it; gone ones (expired, dead on this host) are left out.
 *
 * @example
 * standbysOf(await metadata.listLeases(), 'payments'); // [{ host: 'web-2', pid: 77, since: '…', expiresAt: '…' }]
 */
export function standbysOf(leases: readonly Lease[], source: string): ConnectorLeaseHolder[] {
  return leases.filter((l) => l.name === standbyLeaseName(source, l.holder.id) && !holderIsGone(l)).map(describeLeaseHolder);
}

export interface ConnectorLeasesOptions {
  /** The lease's ttl (default `DEFAULT_LEASE_TTL_MS`): a holder renews it every third of it, and stops its connector once it could not for half of it. */
  readonly ttlMs?: number;
  /** Called when a held lease is lost (taken over, or not renewed for half its ttl): stop the connector, then call `release`. */
  readonly onLost: (source: string, why: string) => void;
}

/** One process's claims on the connectors it could run (see `connectorLeases`). */
export interface ConnectorLeases {
  /** Takes the source's lease when it is free or its holder is gone: true when this process holds it (and must run the connector). */
  claim(source: string): Promise<boolean>;
  /** Gives the lease up, once the connector it protected has stopped (a clean stop, or after a loss): a standby takes over at its next claim. */
  release(source: string): Promise<void>;
  /** This process's role for `source`, or undefined before its first claim. */
  runner(source: string): ConnectorRunner | undefined;
  /** Gives every lease up (the connectors must have stopped). */
  releaseAll(): Promise<void>;
}

interface Held {
  readonly lease: Lease;
  readonly beat: { stop(): void; lost(): boolean; expiresAt(): number };
}

/**
 * The leases that make one process the one active runner of each connector, Kafka Connect style:
 * a runner that takes `connector:<source>` runs the connector and renews the lease every third of
 * its ttl; the others stand by and take it over at a later claim once its holder is gone (the
 * lease expired, or its process is dead on this host: `holderIsGone`). A holder whose renewal
 * finds the lease taken, or that could not renew it for half its ttl (so before another runner
 * could take it), is told (`onLost`) to stop its connector; it releases the lease once stopped,
 * and does not claim it again for a ttl, so a standby that can renew it takes it first. A standby
 * records itself (`connector-standby:<source>:<holder>`, see `standbysOf`) for `sluice status`.
 * The lease saves the work of two runners undoing each other; it is not what keeps events once:
 * a connector's appends are conditional on the stored position (`ConnectorSink`), so a runner
 * that overlaps another (an event loop stalled past the ttl, clocks that disagree) stores nothing twice.
 *
 * @example
 * const leases = connectorLeases(platform.metadata, { onLost: (source) => void stopConnector(source) });
 * if (await leases.claim('payments')) startConnector('payments');
 */
export function connectorLeases(metadata: MetadataStore, options: ConnectorLeasesOptions): ConnectorLeases {
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const held = new Map<string, Held>();
  const runners = new Map<string, ConnectorRunner>();
  const lostAt = new Map<string, number>();
  const standbyHolder = newLeaseHolder();
  /** When this process last wrote its standby record per source. */
  const standing = new Map<string, number>();
  const standBy = async (source: string) => {
    const at = standing.get(source);
    if (at !== undefined && Date.now() - at < ttlMs / 3) return;
    const name = standbyLeaseName(source, standbyHolder.id);
    const renewed = at !== undefined && (await metadata.renewLease(name, standbyHolder.id, ttlMs)) !== undefined;
    if (!renewed) await metadata.acquireLease(name, standbyHolder, ttlMs, holderIsGone);
    standing.set(source, Date.now());
    // The records of standbys that died stay in the store: removed (each only if not renewed since it was read).
    for (const gone of (await metadata.listLeases()).filter((l) => l.name === standbyLeaseName(source, l.holder.id) && holderIsGone(l))) {
      await metadata.releaseLease(gone.name, gone.holder.id, gone.renewedAt);
    }
  };
  const standDown = async (source: string) => {
    if (standing.delete(source)) await metadata.releaseLease(standbyLeaseName(source, standbyHolder.id), standbyHolder.id);
  };
  // A standby record that cannot be written is tried again at the next claim; it only informs `sluice status`.
  const noteStandby = (source: string) => standBy(source).catch(() => undefined);
  return {
    async claim(source) {
      if (held.has(source)) return !held.get(source)!.beat.lost();
      // A runner that just lost the lease (it could not renew it) leaves it to the standbys for a ttl.
      if (Date.now() - (lostAt.get(source) ?? Number.NEGATIVE_INFINITY) < ttlMs) {
        await noteStandby(source);
        return false;
      }
      const name = connectorLeaseName(source);
      const holder = newLeaseHolder();
      let attempt;
      try {
        attempt = await metadata.acquireLease(name, holder, ttlMs, holderIsGone);
      } catch (error) {
        // The store could not be asked: standby, and unowned for all this process knows.
        const before = runners.get(source);
        const unownedSince = before?.role === 'standby' && before.unownedSince !== undefined ? before.unownedSince : new Date().toISOString();
        runners.set(source, { role: 'standby', ttlMs, unownedSince, lastError: (error as Error).message });
        return false;
      }
      if (!attempt.acquired) {
        runners.set(source, { role: 'standby', holder: describeLeaseHolder(attempt.heldBy), ttlMs });
        await noteStandby(source);
        return false;
      }
      await standDown(source).catch(() => undefined);
      const beat = heartbeat(metadata, name, holder.id, ttlMs, {
        lapseAfterMs: Math.floor(ttlMs / 2),
        onLost: (why) => {
          lostAt.set(source, Date.now());
          runners.set(source, { role: 'standby', ttlMs });
          options.onLost(source, why);
        },
      });
      held.set(source, { lease: attempt.lease, beat });
      runners.set(source, { role: 'active', holder: describeLeaseHolder(attempt.lease), ttlMs });
      return true;
    },
    async release(source) {
      const claim = held.get(source);
      if (claim === undefined) return;
      held.delete(source);
      claim.beat.stop();
      if (runners.get(source)?.role === 'active') runners.set(source, { role: 'standby', ttlMs });
      await metadata.releaseLease(connectorLeaseName(source), claim.lease.holder.id);
    },
    runner(source) {
      const runner = runners.get(source);
      const claim = held.get(source);
      // An active runner's lease moves on with each renewal.
      return runner?.role === 'active' && runner.holder !== undefined && claim !== undefined ? { ...runner, holder: { ...runner.holder, expiresAt: new Date(claim.beat.expiresAt()).toISOString() } } : runner;
    },
    async releaseAll() {
      for (const source of [...held.keys()]) await this.release(source);
      for (const source of [...standing.keys()]) await standDown(source);
    },
  };
}
