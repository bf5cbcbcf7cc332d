import { hostname } from 'node:os';
import { ConflictError } from '../../errors.js';
import { DEFAULT_LEASE_TTL_MS, describeHolder, heartbeat, holderIsGone, newLeaseHolder } from '../../orchestration/lease.js';
import type { Lease, MetadataStore } from '../../storage/metadata/metadata-store.js';

/**
 * What names a server in the conditions it reports (the serving log's drops: `serving_log:<name>`),
 * held for the server's life as the lease `server:<name>` in the metadata store (renewed every
 * third of a minute), so that several servers over one metadata store each report their own, and
 * one can tell whether the server of a condition still runs: it does while a live process holds
 * its name (see `holderIsGone`: no renewal for a minute, or a dead process on this host).
 */
const leaseName = (server: string) => `server:${server}`;

/** Names held by servers of this process: a holder on this host with this pid that holds none of them is an earlier process that had the same pid (a container's pid 1). */
const heldHere = new Set<string>();

/**
 * The default name of a server: `<host>:<port>` for one listening on a fixed port (stable across
 * restarts, and two servers on one host cannot share a port); otherwise `<host>:<pid>:<random>`,
 * unique to this server, whose conditions end once another server starts after it stopped.
 *
 * @example
 * defaultServerName(6566); // 'web-1:6566'
 */
export function defaultServerName(port?: number): string {
  return port !== undefined && port > 0 ? `${hostname()}:${port}` : newLeaseHolder().id;
}

/**
 * Holds `server` for this server's life; a live process holding it already is a ConflictError
 * naming the fix (two servers sharing a name would share, and clear, each other's conditions).
 * A holder that died (or the earlier process of a restarted server) is taken over at once.
 *
 * @example
 * const held = await holdServerName(platform.metadata, 'web-1:6566');
 * await held.release();
 */
export async function holdServerName(metadata: MetadataStore, server: string): Promise<{ release(): Promise<void> }> {
  const holder = newLeaseHolder();
  const name = leaseName(server);
  const gone = (lease: Lease) => holderIsGone(lease) || (lease.holder.host === hostname() && lease.holder.pid === process.pid && !heldHere.has(server));
  const attempt = await metadata.acquireLease(name, holder, DEFAULT_LEASE_TTL_MS, gone);
  if (!attempt.acquired) {
    throw new ConflictError('CONFLICT', `a server named "${server}" already runs in ${describeHolder(attempt.heldBy)}; give this one another name (sluice serve --server-name NAME, or $SLUICE_SERVER_NAME)`, {
      details: { server, holder: attempt.heldBy.holder },
    });
  }
  heldHere.add(server);
  const beat = heartbeat(metadata, name, holder.id, DEFAULT_LEASE_TTL_MS);
  return {
    async release() {
      beat.stop();
      heldHere.delete(server);
      await metadata.releaseLease(name, holder.id);
    },
  };
}

/**
 * Whether no live process holds `server`'s name (it stopped, or died and its lease lapsed).
 *
 * @example
 * if (await serverIsGone(platform.metadata, 'web-2:6566')) console.log('web-2 no longer runs');
 */
export async function serverIsGone(metadata: MetadataStore, server: string): Promise<boolean> {
  const lease = (await metadata.listLeases()).find((l) => l.name === leaseName(server));
  return lease === undefined || holderIsGone(lease);
}
