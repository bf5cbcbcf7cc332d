import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { appendCheckpoint, CHECKPOINT_FORMAT, type AuditCheckpoint } from '../../compliance/audit/audit-checkpoint.js';
import { exportAuditTrail, parseAuditExport, verifyAuditExport, type AuditExportVerification } from '../../compliance/audit/audit-export.js';
import { auditPublicKey, auditSigningKey } from '../../compliance/audit/audit-signing-key.js';
import { auditedAction, type ActionEvidence, type AuditedActionSpec } from '../../compliance/audit/audited-action.js';
import { verifyAuditTrail, type AuditVerification } from '../../compliance/audit/verify-audit-chain.js';
import { authorizeCli, cliPrincipal } from '../../compliance/access/cli-principal.js';
import type { Principal } from '../../compliance/principal.js';
import type { Platform } from '../../platform.js';
import { ValidationError } from '../../errors.js';
import { publishFile } from '../../storage/lake/atomic-file.js';
import { toIso } from '../../time/index.js';
import { EXIT_FAILURE, UsageError } from '../exit.js';
import { integerIn, oneOf, resolveTime, timeOrAgo, type TimeOption } from '../options.js';
import { table, type Output } from '../output.js';
import type { CommandContext, RunArgs } from './command-context.js';

/**
 * Wraps a command's body so that it leaves one audit record under the CLI's principal (`cliPrincipal`:
 * the key of `SLUICE_API_KEY`, else `cli:<os user>`), `succeeded` with the evidence the
 * body returns or `failed` with the error code: the one call site each administrative command has.
 *
 * @example
 * .action(() => run.withPlatform(audited({ action: 'gc', target: 'lake' }, async ({ platform }) => ({ files: 3 }))))
 */
export function audited(spec: AuditedActionSpec, body: (args: RunArgs) => Promise<ActionEvidence | void>): (args: RunArgs) => Promise<void> {
  return async (args) => auditedAction(args.platform, await cliPrincipal(args.platform), spec, () => body(args));
}

/** The CLI's principal, authorized for the admin action `audit` (and that decision audited). */
async function auditOperator(platform: Platform): Promise<Principal> {
  const principal = await cliPrincipal(platform);
  await authorizeCli(platform, principal, 'admin', 'audit');
  return principal;
}

function readCheckpoint(file: string): AuditCheckpoint {
  let value: Partial<AuditCheckpoint>;
  try {
    value = JSON.parse(readFileSync(file, 'utf8')) as Partial<AuditCheckpoint>;
  } catch (cause) {
    throw new ValidationError('VALIDATION_FAILED', `--checkpoint ${file} cannot be read as JSON (${(cause as Error).message}); give a file written by "sluice audit checkpoint --out FILE"`);
  }
  if (value.format !== CHECKPOINT_FORMAT || typeof value.seq !== 'number' || typeof value.hash !== 'string' || typeof value.signature !== 'string' || typeof value.keyId !== 'string' || typeof value.at !== 'number') {
    throw new ValidationError('VALIDATION_FAILED', `--checkpoint ${file} is not a "${CHECKPOINT_FORMAT}" checkpoint; give a file written by "sluice audit checkpoint --out FILE"`);
  }
  return value as AuditCheckpoint;
}

/** Refuses an existing `--out` without `--force`, before the command does anything. */
function refuseExisting(path: string | undefined, force: boolean | undefined): void {
  if (path !== undefined && force !== true && existsSync(path)) throw new UsageError(`${path} already exists; pass --force to replace it`);
}

/**
 * Writes a file atomically (`publishFile`: a temporary name, fsync, then into place; a refusal
 * names `path`, not the temporary). An existing file is never replaced unless the user says
 * `--force` (`replace: false`: the final step fails atomically if the name exists): an export
 * aimed at the wrong path must not destroy what is there.
 */
async function writeAtomically<T>(path: string, force: boolean | undefined, body: (write: (line: string) => void) => Promise<T>): Promise<T> {
  refuseExisting(path, force);
  let result: T | undefined;
  try {
    await publishFile(path, async (temporary) => {
      const fd = openSync(temporary, 'wx', 0o600);
      try {
        result = await body((line) => void writeSync(fd, `${line}\n`));
      } finally {
        closeSync(fd);
      }
    }, { replace: force === true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && (error as NodeJS.ErrnoException).syscall === 'link') throw new UsageError(`${path} already exists; pass --force to replace it`);
    throw error;
  }
  return result as T;
}

function report(out: Output, verification: AuditVerification | AuditExportVerification, keySource: string): void {
  const { problem, head, firstSeq, records, checkpoints, witness } = verification;
  const range = 'range' in verification ? verification.range : undefined;
  out.result({ ...verification, keySource }, () => {
    if (problem) return `audit trail verification FAILED${problem.seq === undefined ? '' : ` at record ${problem.seq}`}: ${problem.reason}`;
    if (!head) return 'audit trail verified: it is empty.';
    return [
      `audit trail verified: ${records} records (${firstSeq}..${head.seq}), head hash ${head.hash}`,
      `${checkpoints} checkpoint(s) stored in the chain checked, signatures by ${keySource}`,
      witness ? `the checkpoint signed at ${toIso(witness.at)} (record ${witness.seq}, key ${witness.keyId}) holds` : 'no witness checkpoint given (--checkpoint FILE): a truncated tail or a chain re-hashed from scratch would not be caught',
      ...(range === undefined ? [] : [range.signed
        ? `the export's signed range (records ${range.fromSeq}..${range.toSeq}) holds, both ends`
        : `the export's range (records ${range.fromSeq}..${range.toSeq}) matches its records but is NOT SIGNED (a v1 export), accepted by --accept-unsigned-range (recorded in the audit trail): records cut from its start together with its header would not be caught; export again for a signed range`]),
    ].join('\n');
  });
  if (problem) process.exitCode = EXIT_FAILURE;
}

/** `audit verify|checkpoint|export|list|public-key`: the audit trail's evidence. */
export function registerAuditCommands(program: Command, run: CommandContext): void {
  const audit = program.command('audit').description('the tamper-evident audit trail: verify it, sign checkpoints, export and list records');
  const keys = (value: string, previous: string[] = []) => [...previous, value];

  audit
    .command('verify')
    .option('--checkpoint <file>', 'a checkpoint kept elsewhere (sluice audit checkpoint --out FILE): the chain must still hold it')
    .option('--public-key <file>', "a public key trusted to sign checkpoints (repeat for keys used before a rotation); default this installation's", keys)
    .option('--export <file>', 'verify a file written by "sluice audit export" (offline: no project needed) instead of the metadata store')
    .option('--accept-unsigned-range', 'with --export: accept a v1 export (before 2026-12-01), whose record range is not signed; the acceptance is recorded in the audit trail of the project in the current directory')
    .description('check every record hash, link and seq, the checkpoints stored in the chain and a witness checkpoint; names the first bad record, exits 1 on failure (a v1 export too, unless --accept-unsigned-range)')
    .action((options: { checkpoint?: string; publicKey?: string[]; export?: string; acceptUnsignedRange?: boolean }) => {
      const trustedFiles = () => (options.publicKey ?? []).map((f) => auditPublicKey(readFileSync(f, 'utf8'), f));
      if (options.acceptUnsignedRange && options.export === undefined) throw new UsageError('--accept-unsigned-range accepts the unsigned range of a v1 export: give it with --export FILE');
      if (options.export !== undefined) {
        const file = options.export;
        if (options.checkpoint !== undefined) throw new UsageError('--export verifies against the checkpoint the export ends with; give --checkpoint only when verifying the metadata store');
        const verifyExport = () => {
          const exported = parseAuditExport(readFileSync(file, 'utf8'), file);
          const given = trustedFiles();
          const verification = verifyAuditExport(exported, given.length > 0 ? given : [auditPublicKey(exported.header.publicKey, `the public key in ${file}`)], { acceptUnsignedRange: options.acceptUnsignedRange === true });
          return { verification, keySource: given.length > 0 ? options.publicKey!.join(', ') : `the key in the export (${exported.header.keyId}; pass --public-key FILE to trust a key kept apart)` };
        };
        if (!options.acceptUnsignedRange) {
          return run.withOutput(async (out) => {
            const { verification, keySource } = verifyExport();
            report(out, verification, keySource);
          });
        }
        // Accepting an unsigned range is a decision about evidence: it goes into the project's audit trail, by whom.
        return run.withPlatform(async ({ platform, out }) => {
          // A directory without an applied project has no audit trail anyone reads: the acceptance must land in the project's.
          await platform.project();
          const operator = await auditOperator(platform);
          const { verification, keySource } = verifyExport();
          const { range, problem } = verification;
          await platform.metadata.audit.append({
            actor: operator.name, origin: operator.origin, action: 'audit.verify', target: 'audit-export', outcome: verification.ok ? 'succeeded' : 'failed',
            details: { export: file, records: verification.records, fromSeq: range.fromSeq, toSeq: range.toSeq, signed: range.signed, acceptedUnsignedRange: range.unsignedAccepted, problemSeq: problem?.seq ?? null },
          }, platform.now());
          report(out, verification, keySource);
        });
      }
      return run.withPlatform(async ({ platform, out }) => {
        const operator = await auditOperator(platform);
        const given = trustedFiles();
        const verification = await verifyAuditTrail(platform.metadata.audit, {
          publicKeys: given.length > 0 ? given : [auditSigningKey(platform.dataDir).publicKey],
          ...(options.checkpoint === undefined ? {} : { witness: readCheckpoint(options.checkpoint) }),
        });
        await platform.metadata.audit.append({
          actor: operator.name, origin: operator.origin, action: 'audit.verify', target: 'audit', outcome: verification.ok ? 'succeeded' : 'failed',
          details: { records: verification.records, head: verification.head?.seq ?? null, witness: verification.witness?.seq ?? null, problemSeq: verification.problem?.seq ?? null },
        }, platform.now());
        report(out, verification, given.length > 0 ? options.publicKey!.join(', ') : `this installation's key (${auditSigningKey(platform.dataDir).keyId})`);
      });
    });

  audit
    .command('checkpoint')
    .option('--out <file>', 'also write the signed checkpoint (JSON) here, to keep elsewhere as a witness')
    .option('--force', 'replace --out if it exists')
    .description('sign the chain head (Ed25519) and store the checkpoint in the chain; prints it')
    .action((options: { out?: string; force?: boolean }) =>
      run.withPlatform(async ({ platform, out }) => {
        refuseExisting(options.out, options.force);
        const operator = await auditOperator(platform);
        const made = await appendCheckpoint(platform.metadata.audit, auditSigningKey(platform.dataDir), platform.now(), { actor: operator.name, origin: operator.origin, reason: 'manual' });
        if (!made) throw new ValidationError('VALIDATION_FAILED', 'the audit trail is empty: there is no head to checkpoint yet');
        const text = JSON.stringify(made.checkpoint, null, 2);
        if (options.out !== undefined) await writeAtomically(options.out, options.force, async (write) => write(text));
        out.result(made.checkpoint, () => options.out === undefined ? text : `checkpoint of record ${made.checkpoint.seq} (hash ${made.checkpoint.hash}) signed with key ${made.checkpoint.keyId} -> ${options.out}`);
      }),
    );

  audit
    .command('public-key')
    .option('--out <file>', 'write it to this file')
    .option('--force', 'replace --out if it exists')
    .description("this installation's public key (PEM), to verify checkpoints and exports with --public-key")
    .action((options: { out?: string; force?: boolean }) =>
      run.withPlatform(async ({ platform, out }) => {
        const key = auditSigningKey(platform.dataDir);
        if (options.out !== undefined) await writeAtomically(options.out, options.force, async (write) => write(key.publicKeyPem.trimEnd()));
        out.result({ keyId: key.keyId, publicKey: key.publicKeyPem }, () => (options.out === undefined ? key.publicKeyPem.trimEnd() : `public key ${key.keyId} -> ${options.out}`));
      }),
    );

  audit
    .command('export')
    .requiredOption('--since <time>', 'from this time: ISO-8601 (2026-03-01T00:00:00Z) or a duration ago (30d)', timeOrAgo)
    .option('--format <format>', 'output format: jsonl (one JSON document a line)', oneOf(['jsonl']), 'jsonl')
    .option('--out <file>', 'write to this file (default: standard output)')
    .option('--force', 'replace --out if it exists')
    .description('write the records since a time, with their hashes and a fresh signed checkpoint, as JSON lines that verify offline')
    .action((options: { since: TimeOption; out?: string; force?: boolean }) =>
      run.withPlatform(async ({ platform, out }) => {
        const operator = await auditOperator(platform);
        const now = platform.now();
        const request = { since: resolveTime(options.since, now), at: now, request: { actor: operator.name, origin: operator.origin, reason: 'export' } };
        const key = auditSigningKey(platform.dataDir);
        if (options.out === undefined) {
          await exportAuditTrail(platform.metadata.audit, key, request, (line) => void process.stdout.write(`${line}\n`));
          return;
        }
        const written = await writeAtomically(options.out, options.force, (write) => exportAuditTrail(platform.metadata.audit, key, request, write));
        out.result({ file: options.out, records: written }, () => `exported ${String(written)} audit records since ${toIso(request.since)}, ending with a checkpoint signed by key ${key.keyId} -> ${options.out}\nverify it anywhere: sluice audit verify --export ${options.out} --public-key FILE`);
      }),
    );

  audit
    .command('list')
    .option('--action <action>', 'only this action (e.g. apply, ingest, audit.checkpoint)')
    .option('--actor <actor>', 'only this actor (e.g. cli:ana, key:fraud-service)')
    .option('--since <time>', 'from this time: ISO-8601 or a duration ago (24h)', timeOrAgo)
    .option('--limit <n>', 'at most this many records', integerIn(1, 1_000_000), 50)
    .description('recent audit records, newest first')
    .action((options: { action?: string; actor?: string; since?: TimeOption; limit: number }) =>
      run.withPlatform(async ({ platform, out }) => {
        await auditOperator(platform);
        const records = await platform.metadata.audit.list({
          newestFirst: true, limit: options.limit, ...(options.action === undefined ? {} : { action: options.action }), ...(options.actor === undefined ? {} : { actor: options.actor }),
          ...(options.since === undefined ? {} : { since: resolveTime(options.since, platform.now()) }),
        });
        out.result({ records: records.map((r) => ({ ...r, time: toIso(r.at) })) }, () =>
          records.length === 0 ? 'No audit records.' : table(['seq', 'time', 'actor', 'action', 'target', 'outcome', 'origin', 'purpose', 'details'],
            records.map((r) => [r.seq, toIso(r.at), r.actor, r.action, r.target, r.outcome, r.origin, r.purpose, r.details])));
      }),
    );
}
