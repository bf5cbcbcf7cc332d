import { ValidationError } from '../../errors.js';
import type { AuditRecord, AuditTrail } from '../../storage/metadata/audit-store.js';
import { toIso } from '../../time/index.js';
import { appendCheckpoint, CHECKPOINT_FORMAT, type AuditCheckpoint, type CheckpointRequest } from './audit-checkpoint.js';
import type { AuditSigningKey } from './audit-signing-key.js';

export const EXPORT_FORMAT = 'sluice-audit-export/v1';

/** The first line of an export: what it holds and the key its checkpoint is signed with. */
export interface AuditExportHeader {
  readonly type: 'export';
  readonly format: typeof EXPORT_FORMAT;
  readonly exportedAt: string;
  readonly since: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly keyId: string;
  readonly publicKey: string;
}

/** A parsed export: its header, its records in chain order, and the checkpoint it ends with. */
export interface AuditExport {
  readonly header: AuditExportHeader;
  readonly records: readonly AuditRecord[];
  readonly checkpoint: AuditCheckpoint;
}

/**
 * Writes the audit trail from the first record at or after `since` to its head as JSON lines: a
 * header, one `record` line per record (as stored, hashes included, plus an ISO `time`), and a
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
  const fromSeq = start?.seq ?? made.record.seq;
  const header: AuditExportHeader = {
    type: 'export', format: EXPORT_FORMAT, exportedAt: toIso(options.at), since: toIso(options.since), fromSeq, toSeq: made.record.seq,
    keyId: key.keyId, publicKey: key.publicKeyPem,
  };
  await write(JSON.stringify(header));
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
    if (value.type === 'export' && value.format === EXPORT_FORMAT) header = value as unknown as AuditExportHeader;
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
