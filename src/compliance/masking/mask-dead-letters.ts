import type { MaskMethod, Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import type { DeadLetter } from '../../storage/metadata/metadata-store.js';
import { ERASED_REASON } from '../erasure/erased-rows.js';
import type { Principal } from '../principal.js';
import { projectSecret } from '../project-secret.js';
import { auditMaskedRead } from './audit-read.js';
import { maskerFor, type MaskedColumn, type Masker } from './masker.js';
import { maskingCatalog } from './masking-catalog.js';

/** Stands for a value a reason quoted, when its column is masked for the reader. */
export const REDACTED = '[masked]';

const JSON_TEXT = String.raw`"(?:[^"\\]|\\.)*"`;
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A rejection reason without the values it quotes of `columns` (`column "email": "ann@x" is not
 * ...` becomes `column "email": [masked] is not ...`; a list's `element 2 ("x")` likewise).
 */
export function redactReason(reason: string, columns: readonly string[]): string {
  let text = reason;
  for (const column of columns) {
    const prefix = `column ${escapeRegExp(JSON.stringify(column))}: `;
    text = text
      .replace(new RegExp(`(${prefix})(?:${JSON_TEXT}|[^ ;]+)( is )`, 'g'), `$1${REDACTED}$2`)
      .replace(new RegExp(`(${prefix}element \\d+ \\()(?:${JSON_TEXT}|[^)]*)(\\) is )`, 'g'), `$1${REDACTED}$2`);
  }
  return text;
}

/** Stands for a raw JSON member that is no column of the source: nothing says what it holds. */
export const NOT_A_COLUMN = '[not shown: no column of the source]';

/** The dead letter of an erased subject's row, which holds only the subject's keyed hash (`markErasedRows`): nothing to mask. */
const isErasedLetter = (row: DeadLetter): boolean => row.reason === ERASED_REASON && /^\{"erased": "[0-9a-f]{64}"\}$/.test(row.raw);

function maskRaw(masker: Masker, raw: string, source: string, masked: readonly MaskedColumn[], columns: readonly string[]): string {
  let row: unknown;
  try {
    row = JSON.parse(raw);
  } catch {
    row = undefined;
  }
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    // A CSV line (or text that is not a JSON object): its fields cannot be told apart safely, so none is shown.
    return `[masked: a row of source "${source}", whose columns ${masked.map((c) => `${c.name} (${c.method})`).join(', ')} are masked for you]`;
  }
  // Names are compared as the engine compares them (case-insensitively): a member "EMAIL" is shown
  // as the column email is. A member no column reads may hold anything (a copy of a classified
  // value, nested or not), so it is not shown either.
  const maskedBy = new Map(masked.map((c) => [c.name.toLowerCase(), c]));
  const known = new Set(columns.map((c) => c.toLowerCase()));
  const copy = Object.fromEntries(Object.entries(row as Record<string, unknown>).map(([name, value]) => {
    const column = maskedBy.get(name.toLowerCase());
    if (column !== undefined) return [name, masker.value(column, value)];
    return [name, known.has(name.toLowerCase()) ? value : NOT_A_COLUMN];
  }));
  return JSON.stringify(copy);
}

/**
 * Dead letters as `principal` may see them: in each raw row, the values of columns masked for it
 * (a JSON row value by value, members named in any case, members no column reads not shown; a CSV
 * line whole), and the values reasons quote of those columns. An erased subject's dead letter is
 * shown as it is: it holds only the keyed hash.
 * A listing that holds rows of a source with classified or masked columns is audited
 * (`classified.read`, path `dlq`, per source) before it is returned.
 *
 * @example
 * const shown = await maskDeadLetters(ctx, project, principal, await ctx.metadata.listDeadLetters({ limit: 100 }));
 */
export async function maskDeadLetters(ctx: Pick<SluiceContext, 'metadata' | 'dataDir' | 'now'>, project: Project, principal: Principal, rows: readonly DeadLetter[]): Promise<DeadLetter[]> {
  const masker = maskerFor(project, maskingCatalog(project), principal, { secret: () => projectSecret(ctx.dataDir) });
  const bySource = new Map<string, { names: string[]; masked: MaskedColumn[]; evidence: Record<string, MaskMethod>; rows: number }>();
  const columnsOf = (source: string) => {
    let known = bySource.get(source);
    if (!known) {
      const schema = project.sources.find((s) => s.name === source)?.schema ?? {};
      const columns = Object.keys(schema).flatMap((c) => masker.column(source, c) ?? []);
      known = { names: Object.keys(schema), masked: columns.filter((c) => c.method !== 'clear'), evidence: Object.fromEntries(columns.filter((c) => c.classified || c.method !== 'clear').map((c) => [c.name, c.method])), rows: 0 };
      bySource.set(source, known);
    }
    return known;
  };
  const shown = rows.map((row) => {
    const columns = columnsOf(row.source);
    columns.rows++;
    if (columns.masked.length === 0 || isErasedLetter(row)) return row;
    return { ...row, raw: maskRaw(masker, row.raw, row.source, columns.masked, columns.names), reason: redactReason(row.reason, columns.masked.map((c) => c.name)) };
  });
  for (const [source, columns] of bySource) {
    if (Object.keys(columns.evidence).length === 0) continue;
    await auditMaskedRead((e, at) => ctx.metadata.audit.append(e, at), principal, ctx.now(), { target: `source:${source}`, path: 'dlq', purpose: 'operations', columns: columns.evidence, rows: columns.rows });
  }
  return shown;
}
