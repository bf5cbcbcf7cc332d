import type { StoreCount } from '../../storage/metadata/purge-store.js';
import type { Principal } from '../principal.js';

/**
 * Which rows of a source to remove:
 * - `before`: events whose event time is before `before` (UTC epoch ms): retention.
 * - `keys`: rows of entity `entity` whose key is one of `keys`, each in the entity key's text
 *   form (`entityKey(parts)`: the value for one join key, length-prefixed parts for several): erasure.
 *   Served rows and dataset rows of any entity where a feature in `valueColumns` (`<view>__<feature>`)
 *   holds one of the keys as its value (or in its list) go too; `purgeRows` sets them from column
 *   lineage (`keyValuedFeatures`).
 */
export type PurgeMatch =
  | { readonly kind: 'before'; readonly before: number }
  | { readonly kind: 'keys'; readonly entity: string; readonly keys: readonly string[]; readonly valueColumns?: readonly string[] };

/** One physical removal: the source's rows matching `match`, from every store that holds them. */
export interface PurgeRequest {
  readonly source: string;
  readonly match: PurgeMatch;
  /** Why (`retention`, `erasure`): recorded with each snapshot rewrite and in the audit trail. */
  readonly reason: string;
  /** Who asked, for the audit trail. */
  readonly principal: Principal;
  /** A declared purpose for the audit trail (`gdpr-art17`, `retention-policy`). */
  readonly purpose?: string;
  /** Count what would be removed, remove nothing. */
  readonly dryRun?: boolean;
  /**
   * Training datasets built from the source that hold matching rows: `rewrite` (default) writes
   * them again without the rows; `flag` leaves them and lists them as tainted in the report.
   */
  readonly datasets?: 'rewrite' | 'flag';
  /** The work the purge is part of (an erasure request id): the lake files it swaps out are pending deletions under it until deleted. */
  readonly owner?: string;
  /**
   * Stops the purge (a signal, a stopping scheduler): the statement running is interrupted and no
   * further step starts; the purge fails with an `InterruptedError` naming the reason and the step,
   * and the next purge of the source finishes it. Its reason should be an `InterruptedError`.
   */
  readonly signal?: AbortSignal;
}

/** What one store gave up. */
export interface StorePurge {
  /** `lake:<source>`, `online:<view>`, `dead-letters:<source>`, `log:<source>`, `serving-log`, `quarantine:<source>`, `dataset:<id>`. */
  readonly store: string;
  readonly rows: number;
  readonly bytes: number;
  /** Files rewritten (old name), or removed when nothing of them was kept. */
  readonly filesRewritten: readonly string[];
  /** Snapshots whose file lists were rewritten. */
  readonly snapshots?: readonly string[];
  /** A dataset left as it is under the `flag` policy: it still holds the rows. */
  readonly tainted?: boolean;
  /** Of `rows`, those selected only because a feature's value held a key (`PurgeMatch.valueColumns`); absent when none. */
  readonly byValue?: number;
}

/** What one `purgeRows` removed, per store. */
export interface PurgeReport {
  readonly source: string;
  readonly reason: string;
  readonly dryRun: boolean;
  readonly at: number;
  readonly stores: readonly StorePurge[];
  readonly rows: number;
  readonly bytes: number;
  /**
   * Lake files a crashed earlier purge of these tables had swapped out of every snapshot but not
   * deleted (they held removed rows), deleted by this purge before its own lake step; none in a dry run.
   */
  readonly leftoverFiles: readonly string[];
  /**
   * Earlier purges of these tables stopped or killed after their lake swap or a later step
   * (`UnfinishedPurge`), whose remaining steps this purge did: the lake rows they removed (`rows`)
   * and what they removed from each other store (`stores`, as recorded after each step), counted
   * here, not in this purge's `rows` (they left no `purge.run` record that counts them), with the
   * step they had started (`stoppedIn`) and what no count holds (`uncounted`).
   */
  readonly resumed: readonly ResumedPurge[];
}

/** An earlier purge this one finished (see `PurgeReport.resumed`). */
export interface ResumedPurge {
  readonly source: string;
  readonly reason: string;
  readonly owner: string | null;
  readonly at: number;
  /** Lake rows its swaps removed. */
  readonly rows: number;
  readonly stores: readonly StoreCount[];
  /** The step it had started when it stopped (`lake` when it recorded none after its swap). */
  readonly stoppedIn: string;
  /** What its counts cannot hold: the rows the step it stopped in removed before it stopped. */
  readonly uncounted: string;
}

/**
 * A purge's steps in the order `purgeRows` runs them, each with what it removes rows from: the
 * step an unfinished purge stopped at and the ones after it are what it left undone.
 *
 * @example
 * PURGE_STEPS.map((s) => s.name); // ['lake', 'quarantine and log', 'dead-letter', 'online', 'serving-log', 'dataset']
 */
export const PURGE_STEPS = [
  { name: 'lake', removesFrom: 'the lake' },
  { name: 'quarantine and log', removesFrom: 'held quarantined batches and the durable log' },
  { name: 'dead-letter', removesFrom: 'dead letters and check samples' },
  { name: 'online', removesFrom: 'online views' },
  { name: 'serving-log', removesFrom: 'the serving log' },
  { name: 'dataset', removesFrom: 'training datasets' },
] as const;

/** The name of a purge step (`PURGE_STEPS`). */
export type PurgeStep = (typeof PURGE_STEPS)[number]['name'];
