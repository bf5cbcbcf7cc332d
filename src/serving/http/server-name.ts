import { hostname } from 'node:os';
import { AdapterError, ConflictError } from '../../errors.js';
import { DEFAULT_LEASE_TTL_MS, describeHolder, heartbeat, holderIsGone, newLeaseHolder } from '../../orchestration/lease.js';
import type { Lease, MetadataStore } from '../../storage/metadata/metadata-store.js';

/**
 * What names a server in the conditions it reports (the serving log's drops: `serving_log:<name>`),
 * held for the server's life as the lease `server:<name>` in the metadata store (renewed every
 * third of a minute), so that several servers over one metadata store each report their own, and
 * one can tell whether the server of a condition still runs (see `nameHolderIsGone`).
 */
const leaseName = (server: string) => `server:${server}`;

/** Names taken or being taken by servers of this process: a second one is refused before any await. */
const reservedHere = new Set<string>();
/** Holder ids of the names this process holds. */
const holdersHere = new Set<string>();

/**
 * The one rule for "no live process holds this name": its lease lapsed (no renewal for a minute),
 * its process on this host died, or its holder has this host and this pid but is none this process
 * holds: an earlier process that had the same pid (a container's pid 1 after a restart).
 */
function nameHolderIsGone(lease: Lease): boolean {
  return holderIsGone(lease) || (lease.holder.host === hostname() && lease.holder.pid === process.pid && !holdersHere.has(lease.holder.id));
}

/** Where a server listens, when it is known before it starts: its default name comes from it. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * The default name of a server: `<hostname>:<host>:<port>` for one listening on a fixed port of
 * interface `host` (stable across restarts; only one server listens on one address, while servers
 * on other interfaces of this machine may share the port); otherwise `<hostname>:<pid>:<random>`,
 * unique to this server, whose conditions end once no process holds it (see `serverIsGone`).
 *
 * @example
 * defaultServerName({ host: '127.0.0.1', port: 6566 }); // 'web-1:127.0.0.1:6566'
 */
export function defaultServerName(address?: ListenAddress): string {
  return address !== undefined && address.port > 0 ? `${hostname()}:${address.host}:${address.port}` : newLeaseHolder().id;
}

/** The refusal of a name held by `holder`: for a default name (`address` given), that address is served, as the listen error would say. */
function nameTaken(server: string, holder: string, address: ListenAddress | undefined, details: Record<string, unknown>): Error {
  if (address) return new AdapterError('LISTEN_FAILED', `port ${address.port} on ${address.host} is already served by ${holder}; stop it or pass --port with a free port`, { details });
  return new ConflictError('CONFLICT', `a server named "${server}" already runs in ${holder}; give this one another name (sluice serve --server-name NAME, or $SLUICE_SERVER_NAME)`, { details });
}

/**
 * Holds `server` for this server's life; a live process holding it already is refused (two
 * servers sharing a name would share, and clear, each other's conditions): a ConflictError naming
 * `--server-name`, or, when the name is the default one of `address`, a LISTEN_FAILED error saying
 * the address is served. A holder that is gone (`nameHolderIsGone`) is taken over at once.
 *
 * @example
 * const held = await holdServerName(platform.metadata, 'web-1:127.0.0.1:6566');
 * await held.release();
 */
export async function holdServerName(metadata: MetadataStore, server: string, address?: ListenAddress): Promise<{ release(): Promise<void> }> {
  if (reservedHere.has(server)) throw nameTaken(server, `process ${process.pid} on ${hostname()} (this process)`, address, { server });
  // Reserved before the first await: a second server of this process starting at the same time is refused above.
  reservedHere.add(server);
  const holder = newLeaseHolder();
  holdersHere.add(holder.id);
  const name = leaseName(server);
  const forget = () => {
    holdersHere.delete(holder.id);
    reservedHere.delete(server);
  };
  try {
    const attempt = await metadata.acquireLease(name, holder, DEFAULT_LEASE_TTL_MS, nameHolderIsGone);
    if (!attempt.acquired) throw nameTaken(server, describeHolder(attempt.heldBy), address, { server, holder: attempt.heldBy.holder });
  } catch (error) {
    forget();
    throw error;
  }
  const beat = heartbeat(metadata, name, holder.id, DEFAULT_LEASE_TTL_MS);
  return {
    async release() {
      beat.stop();
      try {
        await metadata.releaseLease(name, holder.id);
      } finally {
        forget();
      }
    },
  };
}

/**
 * Whether no live process holds `server`'s name (it stopped, or died and its lease lapsed; see `nameHolderIsGone`).
 *
 * @example
 * if (await serverIsGone(platform.metadata, 'web-2:10.0.0.2:6566')) console.log('web-2 no longer runs');
 */
export async function serverIsGone(metadata: MetadataStore, server: string): Promise<boolean> {
  const lease = (await metadata.listLeases()).find((l) => l.name === leaseName(server));
  return lease === undefined || nameHolderIsGone(lease);
}
