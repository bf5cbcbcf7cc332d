import type { KeyObject } from 'node:crypto';
import type { AuditRecord, AuditTrail } from '../../storage/metadata/audit-store.js';
import { toIso } from '../../time/index.js';
import { auditRecordHash, GENESIS_HASH } from '../audit-hash.js';
import { checkpointOf, checkpointSignatureValid, type AuditCheckpoint } from './audit-checkpoint.js';
import { auditKeyId } from './audit-signing-key.js';

/** The first thing wrong: which record (`seq`; none when the checkpoint itself is bad) and what. */
export interface AuditProblem {
  readonly seq?: number;
  readonly reason: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  /** Records read (up to the first problem). */
  readonly records: number;
  readonly firstSeq: number | null;
  readonly head: { readonly seq: number; readonly hash: string; readonly at: number } | null;
  /** Checkpoints stored in the chain whose signature and hash were checked. */
  readonly checkpoints: number;
  /** The witness checkpoint given, and whether the chain still holds its hash at its seq. */
  readonly witness: { readonly seq: number; readonly at: number; readonly keyId: string; readonly matched: boolean } | null;
  readonly problem: AuditProblem | null;
}

export interface ChainVerifierOptions {
  /** The public keys trusted to sign checkpoints (the installation's, or kept apart: `--public-key`). */
  readonly publicKeys: readonly KeyObject[];
  /** A checkpoint kept elsewhere: the chain must still hold its hash at its seq. */
  readonly witness?: AuditCheckpoint;
  /** The records start later than seq 1 (an export since a time): the first one's prevHash is taken as given. */
  readonly partial?: boolean;
}

/** How many recent hashes are kept to check the checkpoints stored in the chain (each vouches for a record just before it). */
const RECENT = 4096;

/**
 * Checks an audit chain record by record, in seq order, with constant memory: each record's hash
 * (`auditRecordHash`), each `prevHash` link, gapless seqs from 1, every checkpoint stored in the
 * chain (signature by a trusted key, and the hash it vouches for), then the witness checkpoint (its
 * signature, and that the chain still holds its hash at its seq: a truncated tail or a chain
 * rewritten and re-hashed from scratch fails here). Stops at the first problem and names its record.
 *
 * @example
 * const verifier = chainVerifier({ publicKeys: [key.publicKey] });
 * for (const r of await trail.list()) if (!verifier.add(r)) break;
 * const result = verifier.finish();
 */
export function chainVerifier(options: ChainVerifierOptions): { add(record: AuditRecord): boolean; finish(): AuditVerification } {
  const trusted = new Map(options.publicKeys.map((k) => [auditKeyId(k), k]));
  const recent = new Map<number, string>();
  let previous: AuditRecord | undefined;
  let first: AuditRecord | undefined;
  let records = 0;
  let checkpoints = 0;
  let problem: AuditProblem | null = null;

  const signatureProblem = (cp: AuditCheckpoint, what: string): string | undefined => {
    const key = trusted.get(cp.keyId);
    if (!key) return `${what} is signed by key ${cp.keyId}, which is not trusted (trusted: ${[...trusted.keys()].join(', ') || 'none'}); pass that key's public key with --public-key`;
    if (!checkpointSignatureValid(cp, key)) return `${what} has a signature that does not verify with key ${cp.keyId}: it was forged or altered`;
    return undefined;
  };

  const check = (r: AuditRecord): AuditProblem | null => {
    const expected = previous ? previous.seq + 1 : options.partial ? r.seq : 1;
    if (r.seq !== expected) return { seq: expected, reason: `record ${expected} is missing (the chain goes from ${previous ? `record ${previous.seq}` : 'its start'} to record ${r.seq}): records were deleted` };
    if (auditRecordHash(r) !== r.hash) return { seq: r.seq, reason: 'its content does not match its hash: the record was changed after it was written' };
    const expectedPrev = previous ? previous.hash : options.partial ? r.prevHash : GENESIS_HASH;
    if (r.prevHash !== expectedPrev) {
      return { seq: r.seq, reason: previous ? `its prevHash is not the hash of record ${previous.seq}: records were reordered, or one before it was replaced` : 'it is the first record but its prevHash is not the genesis hash: the records before it were removed' };
    }
    const cp = checkpointOf(r);
    if (r.action === 'audit.checkpoint' && !cp) return { seq: r.seq, reason: 'it is an audit.checkpoint record without a well-formed checkpoint in its details' };
    if (cp) {
      const bad = signatureProblem(cp, `the checkpoint it holds (for record ${cp.seq})`);
      if (bad) return { seq: r.seq, reason: bad };
      // A partial chain's first record may hold the checkpoint of the record just before it: its prevHash.
      const hash = recent.get(cp.seq) ?? (!previous && cp.seq === r.seq - 1 ? r.prevHash : undefined);
      if (hash !== undefined && hash !== cp.hash) return { seq: cp.seq, reason: `its hash differs from the one checkpoint record ${r.seq} signed at ${toIso(cp.at)}: the chain up to record ${cp.seq} was rewritten` };
      if (hash !== undefined) checkpoints++;
    }
    return null;
  };

  return {
    add(record) {
      if (problem) return false;
      problem = check(record);
      if (problem) return false;
      records++;
      first ??= record;
      previous = record;
      recent.set(record.seq, record.hash);
      if (recent.size > RECENT) recent.delete(record.seq - RECENT);
      return true;
    },
    finish() {
      const head = previous ? { seq: previous.seq, hash: previous.hash, at: previous.at } : null;
      const w = options.witness;
      let witness: AuditVerification['witness'] = null;
      if (!problem && w) {
        const bad = signatureProblem(w, `the checkpoint signed at ${toIso(w.at)}`);
        const at = toIso(w.at);
        const last = head?.seq ?? 0;
        const hashAt = (seq: number): string | undefined => (first && seq === first.seq - 1 ? first.prevHash : recent.get(seq));
        if (bad) problem = { reason: bad };
        else if (w.seq > last) problem = { seq: last + 1, reason: `record ${last + 1} is missing: the chain ends at ${last === 0 ? 'no record' : `record ${last}`} but the checkpoint signed at ${at} vouches for record ${w.seq}: its tail was removed` };
        else if (hashAt(w.seq) === undefined) problem = { seq: w.seq, reason: `the checkpoint signed at ${at} vouches for record ${w.seq}, which is not among the records read (from ${first?.seq ?? '-'}); export with an earlier --since, or use a newer checkpoint` };
        else if (hashAt(w.seq) !== w.hash) problem = { seq: w.seq, reason: `its hash differs from the one in the checkpoint signed at ${at}: the chain up to record ${w.seq} was rewritten` };
        witness = { seq: w.seq, at: w.at, keyId: w.keyId, matched: problem === null };
      }
      return { ok: problem === null, records, firstSeq: first?.seq ?? null, head, checkpoints, witness, problem };
    },
  };
}

/** Verifies the whole trail in the store, page by page (see `chainVerifier`). */
export async function verifyAuditTrail(trail: AuditTrail, options: Omit<ChainVerifierOptions, 'partial'>): Promise<AuditVerification> {
  const verifier = chainVerifier(options);
  const page = 5000;
  for (let fromSeq = 1; ;) {
    const records = await trail.list({ fromSeq, limit: page });
    for (const r of records) if (!verifier.add(r)) return verifier.finish();
    if (records.length < page) return verifier.finish();
    fromSeq = records[records.length - 1]!.seq + 1;
  }
}
