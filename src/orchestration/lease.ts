import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, InterruptedError, stoppedBy } from '../errors.js';
import type { Lease, LeaseHolder, MetadataStore } from '../storage/metadata/metadata-store.js';
import { machineBootId, ofAnotherBoot, ownProcessStart, processStillRuns } from './process-identity.js';
import { testPause } from './test-pause.js';

/** How long a lease lives without a heartbeat; a holder renews it every third of this. */
export const DEFAULT_LEASE_TTL_MS = 60_000;

/** A fresh holder for one acquisition by this process: pid + host + random, and the process's start where it can be told. */
export function newLeaseHolder(): LeaseHolder {
  const holder = { id: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`, host: hostname(), pid: process.pid };
  const started = ownProcessStart();
  return started === undefined ? holder : { ...holder, started };
}

/**
 * A lease's holder is provably gone when its lease expired (no heartbeat for its ttl), or when
 * it ran on this host and its process no longer runs (`processStillRuns`: its pid now names
 * another process, or none). A live holder on another host is only known gone by expiry.
 */
export function holderIsGone(lease: Lease): boolean {
  return lease.expiresAt <= Date.now() || (lease.holder.host === hostname() && !processStillRuns(lease.holder));
}

/**
 * Whether a lease's holder provably died on this machine: its host is this one's, it was recorded
 * in this boot (or its boot cannot be told), and its process no longer runs (`processStillRuns`).
 * A holder of another boot with this host name may be a live process on another machine of the
 * same name: that cannot be told here, so it is not dead by this rule.
 */
export function holderDiedHere(lease: Lease): boolean {
  return lease.holder.host === hostname() && !ofAnotherBoot(lease.holder) && !processStillRuns(lease.holder);
}

/** A clock whose readings a reader records in the store (`MetadataStore.sightLease`): `id` names it, so only its own readings are compared with `now`. */
export interface ReaderClock {
  readonly id: string;
  readonly now: number;
}

/**
 * This machine's clock for judging staleness: where the boot can be told, the monotonic clock of
 * this boot (shared by its processes, never stepped by NTP) named by the boot id; else the wall
 * clock named by the host. Other machines' clocks need not agree with it.
 *
 * @example
 * await metadata.sightLease(name, readerClock().id, readerClock().now);
 */
export function readerClock(): ReaderClock {
  const boot = machineBootId();
  return boot === undefined ? { id: `wall:${hostname()}`, now: Date.now() } : { id: `boot:${boot}`, now: Number(process.hrtime.bigint() / 1_000_000n) };
}

/** Describes who holds a lease, for messages. */
export function describeHolder(lease: Lease): string {
  return `process ${lease.holder.pid} on ${lease.holder.host} (holder ${lease.holder.id}, since ${new Date(lease.acquiredAt).toISOString()})`;
}

export interface LeaseOptions {
  /** Default `DEFAULT_LEASE_TTL_MS`. */
  readonly ttlMs?: number;
  /** How long to wait for a live holder to finish before failing with a ConflictError; default 0. */
  readonly waitMs?: number;
  /** What the lease protects, for the error message, e.g. `materialize of view "txn_stats"`. */
  readonly purpose?: string;
  /**
   * Stops the wait for a live holder at once (Ctrl-C, SIGTERM, a stopping scheduler): the wait
   * fails with an `InterruptedError` (see `leaseWaitStopped`) and `body` never runs. A lease
   * already taken is not given up: `body` meets the stop itself.
   */
  readonly signal?: AbortSignal;
}

/** The error of a wait for `name`'s holder that `signal` stopped: the stop's reason and details, the lease, its holder, and that nothing waiting for it started. */
function waitStopped(name: string, heldBy: Lease, options: LeaseOptions): InterruptedError {
  const waitedFor = `${options.purpose ?? `"${name}"`} in ${describeHolder(heldBy)}`;
  return stoppedBy(options.signal, (why) => `${why} while waiting for ${waitedFor} to finish: what waited had not started`, { lease: name, holder: heldBy.holder });
}

/**
 * Whether `error` is a stop met while waiting for a lease (`LeaseOptions.signal`): the work
 * that waited had not started, so it has nothing to undo or finish.
 */
export function leaseWaitStopped(error: unknown): error is InterruptedError {
  return error instanceof InterruptedError && typeof error.details?.lease === 'string';
}

export interface HeartbeatOptions {
  /**
   * Also counts the lease lost once no renewal succeeded for this long (a metadata store that
   * cannot be reached, renewals that hang): set it below the ttl (half of it, say), so a holder
   * stops what the lease protects before the lease expires and another holder could take it.
   */
  readonly lapseAfterMs?: number;
  /** Called once, when the lease is first counted lost, with why (taken over or released; not renewed for `lapseAfterMs`). */
  readonly onLost?: (why: string) => void;
}

/**
 * Renews a lease every third of its ttl until stopped; `lost()` says whether it was taken over
 * (or released by another), or, with `lapseAfterMs`, not renewed for that long; `expiresAt()`
 * when the lease expires as last renewed (wall clock, epoch ms; about a ttl from the start before). The lapse is
 * judged on every tick whether or not the last renewal answered, so a renewal that hangs does
 * not hide it.
 *
 * @example
 * const beat = heartbeat(metadata, 'connector:payments', holder.id, 60_000, { lapseAfterMs: 30_000, onLost: (why) => stopConnector(why) });
 */
export function heartbeat(metadata: MetadataStore, name: string, holderId: string, ttlMs: number, options: HeartbeatOptions = {}): { stop(): void; lost(): boolean; expiresAt(): number } {
  let lost = false;
  let renewedAt = Date.now();
  let expiresAt = renewedAt + ttlMs;
  let renewing = false;
  let lastError: string | undefined;
  const lose = (why: string) => {
    if (lost) return;
    lost = true;
    clearInterval(timer);
    options.onLost?.(why);
  };
  const timer = setInterval(() => {
    const since = Date.now() - renewedAt;
    if (options.lapseAfterMs !== undefined && since >= options.lapseAfterMs) {
      lose(`no renewal succeeded for ${since} ms${lastError === undefined ? '' : ` (last error: ${lastError})`}`);
      return;
    }
    if (renewing) return;
    renewing = true;
    const asked = Date.now();
    metadata.renewLease(name, holderId, ttlMs).then(
      (lease) => {
        if (lease === undefined) lose('another holder took it, or it was released');
        else {
          renewedAt = asked;
          expiresAt = lease.expiresAt;
        }
      },
      (error: unknown) => void (lastError = (error as Error).message),
    ).finally(() => (renewing = false));
  }, Math.max(10, Math.floor(ttlMs / 3)));
  timer.unref();
  return { stop: () => clearInterval(timer), lost: () => lost, expiresAt: () => expiresAt };
}

async function acquire(metadata: MetadataStore, name: string, holder: LeaseHolder, options: LeaseOptions): Promise<Lease> {
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (let attempt = 0; ; attempt++) {
    const result = await metadata.acquireLease(name, holder, ttlMs, holderIsGone);
    if (result.acquired) return result.lease;
    if (attempt === 0) await testPause(`lease.wait:${name}`);
    if (options.signal?.aborted) throw waitStopped(name, result.heldBy, options);
    if (Date.now() >= deadline) {
      throw new ConflictError('CONFLICT', `${options.purpose ?? `"${name}"`} is already running in ${describeHolder(result.heldBy)}; wait for it to finish and run again (a holder that died is taken over at once on this host, or when its lease expires at ${new Date(result.heldBy.expiresAt).toISOString()})`, {
        details: { lease: name, holder: result.heldBy.holder },
      });
    }
    // A stop wakes the wait (the sleep rejects) and fails it before another attempt could take the lease.
    await sleep(Math.min(50 * 2 ** Math.min(attempt, 4), Math.max(1, deadline - Date.now())), undefined, options.signal === undefined ? undefined : { signal: options.signal }).catch(() => undefined);
    if (options.signal?.aborted) throw waitStopped(name, result.heldBy, options);
  }
}

/**
 * Runs `body` while holding the lease `name` in the metadata store, so no other holder (in this
 * or any process) runs it at the same time: waits up to `waitMs` for a live holder, takes over
 * from a dead one, heartbeats while `body` runs, and always releases. A stop (`signal`) ends the
 * wait at once, as an `InterruptedError`, without running `body`. If the lease was lost
 * meanwhile (no renewal for its ttl), the result is a ConflictError, never a silent success.
 *
 * @example
 * await withLease(ctx.metadata, 'materialize:txn_stats', { waitMs: 60_000 }, () => writeView());
 */
export async function withLease<T>(metadata: MetadataStore, name: string, options: LeaseOptions, body: () => Promise<T>): Promise<T> {
  const holder = newLeaseHolder();
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  await acquire(metadata, name, holder, options);
  const beat = heartbeat(metadata, name, holder.id, ttlMs);
  let result: T;
  try {
    result = await body();
  } finally {
    beat.stop();
    await metadata.releaseLease(name, holder.id);
  }
  if (beat.lost()) {
    throw new ConflictError('CONFLICT', `${options.purpose ?? `"${name}"`} lost its lease while running (this process did not renew it for ${ttlMs} ms, so another one may have taken over); run it again`);
  }
  return result;
}

/**
 * Runs `body` while holding every lease of `names` (see `withLease`), taken one after the other
 * in sorted order, so two callers wanting overlapping sets cannot each hold one the other waits for.
 *
 * @example
 * await withLeases(ctx.metadata, [{ name: 'materialize:a', purpose: 'materialize of view "a"' }], { waitMs: 60_000 }, () => rewrite());
 */
export async function withLeases<T>(metadata: MetadataStore, leases: readonly { readonly name: string; readonly purpose: string }[], options: Omit<LeaseOptions, 'purpose'>, body: () => Promise<T>): Promise<T> {
  const sorted = [...new Map(leases.map((l) => [l.name, l])).values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const take = (i: number): Promise<T> => (i === sorted.length ? body() : withLease(metadata, sorted[i]!.name, { ...options, purpose: sorted[i]!.purpose }, () => take(i + 1)));
  return take(0);
}
