import { sign, verify, type KeyObject } from 'node:crypto';
import { stableStringify } from '../../definitions/hash.js';
import { ValidationError } from '../../errors.js';
import type { AuditRecord, AuditTrail } from '../../storage/metadata/audit-store.js';
import { toIso } from '../../time/index.js';
import { appendCheckpoint, CHECKPOINT_FORMAT, type AuditCheckpoint, type CheckpointRequest } from './audit-checkpoint.js';
import { auditKeyId, type AuditSigningKey } from './audit-signing-key.js';
import { chainVerifier, type AuditProblem, type AuditVerification } from './verify-audit-chain.js';

/**
 * The export format. v2 signs the header's range (`fromSeq` with the hash before it, `toSeq`
 * with its hash), so records cut from either end are caught; v1 (before 2026-12) signed only the
 * closing checkpoint: its header can be written over a cut export, so it verifies only when the
 * operator accepts its unsigned range (`VerifyExportOptions.acceptUnsignedRange`).
 */
export const EXPORT_FORMAT = 'sluice-audit-export/v2';
const EXPORT_FORMAT_V1 = 'sluice-audit-export/v1';

/** The first line of an export: what it holds and the key its range and checkpoint are signed with. */
export interface AuditExportHeader {
  readonly type: 'export';
  readonly format: typeof EXPORT_FORMAT | typeof EXPORT_FORMAT_V1;
  readonly exportedAt: string;
  readonly since: string;
  readonly fromSeq: number;
  /** v2: the `prevHash` of record `fromSeq` (the hash of the record before the range, or the genesis hash). */
  readonly fromPrevHash?: string;
  readonly toSeq: number;
  /** v2: the hash of record `toSeq`, the export's own checkpoint record. */
  readonly toHash?: string;
  readonly keyId: string;
  readonly publicKey: string;
  /** v2: Ed25519 over the canonical JSON of `{ format, exportedAt, since, fromSeq, fromPrevHash, toSeq, toHash, keyId }`, base64. */
  readonly signature?: string;
}

const signedRange = (h: AuditExportHeader): Buffer => Buffer.from(stableStringify({
  format: h.format, exportedAt: h.exportedAt, since: h.since, fromSeq: h.fromSeq, fromPrevHash: h.fromPrevHash, toSeq: h.toSeq, toHash: h.toHash, keyId: h.keyId,
}));

/** A parsed export: its header, its records in chain order, and the checkpoint it ends with. */
export interface AuditExport {
  readonly header: AuditExportHeader;
  readonly records: readonly AuditRecord[];
  readonly checkpoint: AuditCheckpoint;
}

/**
 * Writes the audit trail from the first record at or after `since` to its head as JSON lines: a
 * header (its range signed: see {@link AuditExportHeader}), one `record` line per record (as stored, hashes included, plus an ISO `time`), and a
 * `checkpoint` line. The checkpoint is made for the export (and is itself the last record
 * exported), so the file verifies offline with only the public key: `sluice audit verify --export FILE`.
 * Returns the number of records written.
 */
export async function exportAuditTrail(
  trail: AuditTrail, key: AuditSigningKey, options: { readonly since: number; readonly at: number; readonly request: CheckpointRequest },
  write: (line: string) => Promise<void> | void,
): Promise<number> {
  const made = await appendCheckpoint(trail, key, options.at, options.request);
  if (!made) return 0;
  // From the first record at or after `since` on, whatever their times: a verifier needs the chain without gaps.
  const [start] = await trail.list({ since: options.since, limit: 1 });
  const first = start ?? made.record;
  const range = {
    type: 'export', format: EXPORT_FORMAT, exportedAt: toIso(options.at), since: toIso(options.since), fromSeq: first.seq, fromPrevHash: first.prevHash,
    toSeq: made.record.seq, toHash: made.record.hash, keyId: key.keyId, publicKey: key.publicKeyPem,
  } as const;
  const header: AuditExportHeader = { ...range, signature: sign(null, signedRange(range), key.privateKey).toString('base64') };
  await write(JSON.stringify(header));
  const fromSeq = first.seq;
  let written = 0;
  const page = 5000;
  for (let next = fromSeq; next <= made.record.seq;) {
    const records = await trail.list({ fromSeq: next, limit: Math.min(page, made.record.seq - next + 1) });
    if (records.length === 0) break;
    for (const r of records) await write(JSON.stringify({ type: 'record', ...r, time: toIso(r.at) }));
    written += records.length;
    next = records[records.length - 1]!.seq + 1;
  }
  await write(JSON.stringify({ type: 'checkpoint', ...made.checkpoint }));
  return written;
}

/** Reads an export written by `exportAuditTrail`; a ValidationError naming the line when it is not one. */
export function parseAuditExport(text: string, file: string): AuditExport {
  let header: AuditExportHeader | undefined;
  let checkpoint: AuditCheckpoint | undefined;
  const records: AuditRecord[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let value: { type?: unknown } & Record<string, unknown>;
    try {
      value = JSON.parse(line) as typeof value;
    } catch {
      throw new ValidationError('VALIDATION_FAILED', `${file} line ${i + 1} is not JSON; give a file written by "sluice audit export"`);
    }
    if (value.type === 'export' && (value.format === EXPORT_FORMAT || value.format === EXPORT_FORMAT_V1)) header = value as unknown as AuditExportHeader;
    else if (value.type === 'checkpoint' && value.format === CHECKPOINT_FORMAT) checkpoint = value as unknown as AuditCheckpoint;
    else if (value.type === 'record') {
      const { type: _type, time: _time, ...record } = value;
      records.push(record as unknown as AuditRecord);
    } else throw new ValidationError('VALIDATION_FAILED', `${file} line ${i + 1} is not an export header, record or checkpoint; give a file written by "sluice audit export"`);
  }
  if (!header) throw new ValidationError('VALIDATION_FAILED', `${file} has no "${EXPORT_FORMAT}" header line; give a file written by "sluice audit export"`);
  if (!checkpoint) throw new ValidationError('VALIDATION_FAILED', `${file} has no checkpoint line: it is cut short; export it again`);
  return { header, records, checkpoint };
}

function rangeSignatureValid(header: AuditExportHeader, key: KeyObject): boolean {
  try {
    return typeof header.signature === 'string' && verify(null, signedRange(header), key, Buffer.from(header.signature, 'base64'));
  } catch {
    return false;
  }
}

/** The first thing wrong with the export's range: its signature, or records cut from its start or its end. */
function rangeProblem(header: AuditExportHeader, records: readonly AuditRecord[], trusted: ReadonlyMap<string, KeyObject>): AuditProblem | null {
  if (header.format === EXPORT_FORMAT) {
    const key = trusted.get(header.keyId);
    if (!key) return { reason: `the export's header is signed by key ${header.keyId}, which is not trusted (trusted: ${[...trusted.keys()].join(', ') || 'none'}); pass that key's public key with --public-key` };
    if (!rangeSignatureValid(header, key)) return { reason: `the export's header has a range signature that does not verify with key ${header.keyId}: its range (records ${header.fromSeq}..${header.toSeq}) was altered` };
  }
  const first = records[0];
  const last = records[records.length - 1];
  if (first === undefined || first.seq !== header.fromSeq) return { seq: header.fromSeq, reason: `record ${header.fromSeq} is missing: the export's range starts there but its first record is ${first === undefined ? 'none' : `record ${first.seq}`}: records were cut from its start` };
  if (header.fromPrevHash !== undefined && first.prevHash !== header.fromPrevHash) return { seq: first.seq, reason: 'its prevHash is not the one the export signed for the record before its range: the start of the export was replaced' };
  if (last!.seq !== header.toSeq) return { seq: last!.seq + 1, reason: `record ${last!.seq + 1} is missing: the export's range ends at record ${header.toSeq} but its last record is ${last!.seq}: its tail was removed` };
  if (header.toHash !== undefined && last!.hash !== header.toHash) return { seq: last!.seq, reason: 'its hash is not the one the export signed for the end of its range: the end of the export was replaced' };
  return null;
}

/** An export's verification: the chain's, plus its range and whether a signature covers it (v1 exports: not). */
export interface AuditExportVerification extends AuditVerification {
  /** `unsignedAccepted`: a v1 export's unsigned range was accepted by the operator (`acceptUnsignedRange`); false for a v2 export. */
  readonly range: { readonly fromSeq: number; readonly toSeq: number; readonly signed: boolean; readonly unsignedAccepted: boolean };
}

export interface VerifyExportOptions {
  /**
   * Accept a v1 export's range without a signature (`sluice audit verify --export FILE
   * --accept-unsigned-range`, which records the acceptance in the audit trail): its records are
   * still checked against its header's range. Without it a v1 export fails verification.
   */
  readonly acceptUnsignedRange?: boolean;
}

const unsignedRange = (h: AuditExportHeader): AuditProblem => ({
  reason: `the export's range (records ${h.fromSeq}..${h.toSeq}) is not signed (a v1 export, written before 2026-12-01): records cut from its start with its header edited to match would not be caught, and a v1 header can be written over any export; export the records again (sluice audit export) for a signed range, or pass --accept-unsigned-range to accept it as it is (recorded in the audit trail)`,
});

/**
 * Verifies a parsed export offline: the header's range signature (v2) by a trusted key, every
 * record, link and stored checkpoint (`chainVerifier`, partial), the closing checkpoint as
 * witness, and that the records are exactly the range the header states (`fromSeq`..`toSeq`,
 * with the signed hashes at both ends): records cut from the start or the end fail. A v1 export
 * (no range signature) fails unless `options.acceptUnsignedRange`.
 *
 * @example
 * const result = verifyAuditExport(parseAuditExport(text, 'audit.jsonl'), [publicKey]);
 */
export function verifyAuditExport(exported: AuditExport, publicKeys: readonly KeyObject[], options: VerifyExportOptions = {}): AuditExportVerification {
  const { header, records, checkpoint } = exported;
  const verifier = chainVerifier({ publicKeys, witness: checkpoint, partial: true });
  for (const r of records) if (!verifier.add(r)) break;
  const chain = verifier.finish();
  const signed = header.format === EXPORT_FORMAT;
  const range = { fromSeq: header.fromSeq, toSeq: header.toSeq, signed, unsignedAccepted: !signed && options.acceptUnsignedRange === true };
  const problem = chain.problem ?? rangeProblem(header, records, new Map(publicKeys.map((k) => [auditKeyId(k), k]))) ?? (signed || range.unsignedAccepted ? null : unsignedRange(header));
  return { ...chain, ok: problem === null, problem, range };
}
