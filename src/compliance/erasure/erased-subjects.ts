import { projectSecret } from '../project-secret.js';
import type { ErasureCheck } from './erased-rows.js';
import { erasureHash } from './erasure-hash.js';

/** Keys whose answer is remembered per snapshot of the block list: past it, the memory is cleared. */
const REMEMBERED_KEYS = 100_000;

/**
 * The block list in memory, for a check on a hot path (the serving log's writer): `isErased` is
 * synchronous and reads the last snapshot `refresh` loaded (reloaded only when the store's
 * `blockListVersion` changed). Free while nothing is erased; else a keyed hash per key not seen
 * since the last change (each key's answer remembered, up to 100,000 keys).
 */
export interface ErasedSubjects {
  /** Whether the subject `<entity>:<key>` (the key as `entityKey` encodes it) is on the block list as last loaded. */
  isErased(entity: string, key: string): boolean;
  /** Loads the block list again when it changed since the last load. */
  refresh(): Promise<void>;
}

/**
 * The block list of `check`'s store as an {@link ErasedSubjects}, the same keyed hashes
 * (`erasureHash`) every way in checks; empty until the first `refresh`.
 *
 * @example
 * const erased = erasedSubjects({ erasure: platform.metadata.erasure, dataDir: platform.dataDir });
 * await erased.refresh();
 * erased.isErased('customer', 'c9'); // true once c9 was erased
 */
export function erasedSubjects(check: ErasureCheck): ErasedSubjects {
  let version = 0;
  let hashes = new Set<string>();
  let secret: Buffer | undefined;
  const answers = new Map<string, boolean>();
  return {
    isErased(entity, key) {
      if (hashes.size === 0) return false;
      const subject = `${entity}:${key}`;
      let erased = answers.get(subject);
      if (erased === undefined) {
        erased = hashes.has(erasureHash((secret ??= projectSecret(check.dataDir)), entity, key));
        if (answers.size >= REMEMBERED_KEYS) answers.clear();
        answers.set(subject, erased);
      }
      return erased;
    },
    async refresh() {
      if ((await check.erasure.blockListVersion()) === version) return;
      const list = await check.erasure.blockList();
      hashes = new Set(list.hashes);
      answers.clear();
      version = list.version;
    },
  };
}
