import { auditErrorCode } from '../audit/audited-action.js';
import type { Project, Source } from '../../definitions/index.js';
import { didYouMean, rawMentions } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import { NotFoundError } from '../../errors.js';
import { withLease, withLeases } from '../../orchestration/lease.js';
import { testPause } from '../../orchestration/test-pause.js';
import { trackRun } from '../../orchestration/track-run.js';
import { keyedHash, projectSecret } from '../project-secret.js';
import { keyValuedFeatures, valueCarriesKey } from '../classification/key-valued-features.js';
import { entityColumnsIn, entityKeyParts, keyValueColumnsIn, matchSql } from './match-sql.js';
import { purgeLake } from './purge-lake.js';
import { purgeOnline } from './purge-online.js';
import { purgeDatasets } from './purge-datasets.js';
import { purgeCheckSamples, purgeQuarantine } from './purge-quarantine.js';
import { purgeServingLog, type ServedRowMatch } from './purge-serving-log.js';
import type { ServedRow } from '../../observability/serving-log/index.js';
import { purgeLog, textMatch } from './event-match.js';
import { finishPendingDeletions } from './pending-deletions.js';
import { purgeInterruption } from './purge-interruption.js';
import { reportUnfinishedPurges, stoppedStep } from './unfinished-purge-status.js';
import type { PurgeMatch, PurgeReport, PurgeRequest, PurgeStep, StorePurge } from './purge-types.js';

/** A source and every transform table derived from it (directly or through other transforms), source first. */
export function derivedTables(project: Project, source: string): Source[] {
  const names = [source];
  for (let i = 0; i < names.length; i++) {
    for (const t of project.transforms ?? []) if (t.inputs.includes(names[i]!) && !names.includes(t.name)) names.push(t.name);
  }
  return names.flatMap((n) => project.sources.filter((s) => s.name === n));
}

/**
 * The served rows a match selects: the entity's keys in any service (and, `value`, rows of any
 * entity where a feature of `match.valueColumns` served one of the keys), or (a cutoff) rows served
 * before it that reflect a view of the purged tables.
 */
function servedRowMatch(project: Project, tables: ReadonlySet<string>, match: PurgeMatch): ServedRowMatch {
  if (match.kind === 'before') {
    const views = new Set(project.featureViews.filter((v) => tables.has(v.source)).map((v) => v.name));
    return { row: (row) => row.servedAt < match.before && Object.keys(row.views).some((v) => views.has(v)), torn: () => false };
  }
  const columns = project.entities.find((e) => e.name === match.entity)?.joinKeys ?? [];
  const keys = new Set(match.keys);
  const parts = match.keys.map((k) => entityKeyParts(k, columns.length));
  const valueColumns = match.valueColumns ?? [];
  return {
    row: (row) => keys.has(row.entityKey) && columns.every((c) => c in row.keys),
    ...(valueColumns.length === 0 ? {} : { value: (row: ServedRow) => valueColumns.some((c) => match.keys.some((k) => valueCarriesKey(row.values[c], k))) }),
    torn: (line) => parts.some((p) => rawMentions(line, p)),
  };
}

/** The match as audit evidence: a cutoff as ISO time, keys only as keyed hashes. */
function matchEvidence(ctx: SluiceContext, match: PurgeMatch): Record<string, unknown> {
  if (match.kind === 'before') return { kind: 'before', before: new Date(match.before).toISOString() };
  const secret = projectSecret(ctx.dataDir);
  return { kind: 'keys', entity: match.entity, keys: match.keys.map((k) => keyedHash(secret, 'audit', k)) };
}

/**
 * The one physical removal mechanism (retention and erasure both use it): removes the rows of
 * `request.source` that `request.match` selects from every store that holds them, and the rows
 * derived from them in transforms' tables:
 * - the lake, every snapshot including old ones (`purgeLake`: affected files rewritten, swapped
 *   in one metadata transaction, old files deleted; the rewrite recorded per snapshot),
 * - the online store (`purgeOnline`: keys removed, expired entities removed, other views
 *   materialized again from the purged lake),
 * - the dead-letter store (a dead letter mentioning every part of a key, or recorded before the cutoff),
 * - held quarantined batches, the durable log (stream and CDC sources: accepted and rejected
 *   events not yet trimmed), and the serving log (rows served for the entity's keys, or served
 *   before the cutoff from a view of the purged tables),
 * - training datasets built from those tables (`purgeDatasets`: rewritten without the rows, or flagged, by `request.datasets`).
 * Before its lake step it finishes the deletions a crashed purge of these tables left
 * (`finishPendingDeletions`: swapped-out files still holding removed rows), listed in `leftoverFiles`.
 * Purges of one source are serialized (lease `purge:<source>`); the run is tracked as job
 * `purge`. One audit record (action `purge.run`) carries the per-store report; keys appear in
 * it only as keyed hashes. A dry run counts and changes nothing (it still leaves its audit record).
 *
 * @example
 * await purgeRows(ctx, project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c42'] }, reason: 'erasure', principal });
 */
export async function purgeRows(ctx: SluiceContext, project: Project, request: PurgeRequest): Promise<PurgeReport> {
  const source = project.sources.find((s) => s.name === request.source);
  if (source === undefined) {
    throw new NotFoundError('UNKNOWN_SOURCE', `source "${request.source}" is not in the registry${didYouMean(request.source, project.sources.map((s) => s.name))}; name a source or transform of the applied project`);
  }
  const dryRun = request.dryRun ?? false;
  const at = ctx.now();
  // Another entity's feature may serve the key as its value (a merchant's last customer): its served and dataset rows go too.
  const match: PurgeMatch = request.match.kind === 'keys' && request.match.valueColumns === undefined ? { ...request.match, valueColumns: keyValuedFeatures(project, request.match.entity).map((f) => f.column) } : request.match;
  const tables = derivedTables(project, source.name);
  const evidence = { actor: request.principal.name, action: 'purge.run', target: `source:${source.name}`, origin: request.principal.origin, ...(request.purpose === undefined ? {} : { purpose: request.purpose }) };
  const names = new Set(tables.map((t) => t.name));
  // A materialize of a view reading these tables must not read the lake before the swap and write
  // after the online step (it would serve a removed key again), nor read files the purge deletes:
  // the purge holds every such view's materialize lease from before its lake step to its end.
  const viewLeases = dryRun ? [] : project.featureViews.filter((v) => names.has(v.source)).map((v) => ({ name: `materialize:${v.name}`, purpose: `materialize (or a purge) of view "${v.name}"` }));
  const stop = purgeInterruption(ctx, source.name, request.signal);
  const purgeSteps = async (): Promise<{ result: PurgeReport; stats: Record<string, unknown> }> => {
    stop.step('lake');
    // A crashed earlier purge of these tables may have left swapped-out files (holding removed rows) undeleted.
    const leftovers = dryRun ? [] : await finishPendingDeletions(ctx, { sources: tables.map((t) => t.name) });
    // A run killed after its swap left its later steps undone: its tables count as changed here.
    const unfinished = dryRun ? [] : await ctx.metadata.purge.unfinishedPurges({ sources: tables.map((t) => t.name) });
    const stores: StorePurge[] = [];
    const changed = new Set<string>(unfinished.map((u) => u.source));
    const erasedIds = new Map<string, readonly string[]>();
    // What an earlier run of this purge (same source and owner) recorded before it stopped: its counts go on with this run's.
    const earlierRun = unfinished.find((u) => u.source === source.name && u.owner === (request.owner ?? null));
    const earlier = earlierRun?.stores ?? [];
    /**
     * Starts a step (the lake's only when this run finishes an earlier one), or (with `partial`:
     * what the step removed so far) meets a stop within it. What is removed so far (the previous
     * step ran to its end even if a stop arrived meanwhile) and the step are recorded before the
     * stop is checked, so the run that finishes this one counts them, and its error and
     * `purge_unfinished` name this step.
     */
    const progress = async (step: PurgeStep, partial?: StorePurge) => {
      if (!dryRun) {
        const counts = new Map(earlier.map((s) => [s.store, { ...s }]));
        for (const s of [...stores, ...(partial === undefined ? [] : [partial])].filter((x) => !x.store.startsWith('lake:'))) {
          const count = counts.get(s.store) ?? { store: s.store, rows: 0, bytes: 0 };
          counts.set(s.store, { store: s.store, rows: count.rows + s.rows, bytes: count.bytes + s.bytes });
        }
        await ctx.metadata.purge.recordPurgeProgress({ source: source.name, owner: request.owner ?? null, reason: request.reason, at, step, stores: [...counts.values()] });
      }
      stop.step(step);
    };
    // A run that finishes an earlier one records its own step at once: stopped in its lake step, it must
    // not leave the earlier run's later step on the record (its swaps remove rows no later step has seen).
    if (earlierRun !== undefined) await progress('lake');
    for (const table of tables) {
      const predicate = matchSql(project, table, match);
      if (predicate === undefined) continue;
      // Between tables too: a stop while a table's swap commits is met before the next table's scan.
      stop.step('lake');
      // Files of other key buckets are skipped only when the key columns alone select (a renamed key is not bucketed by).
      const columns = match.kind === 'keys' && keyValueColumnsIn(project, match.entity, table).length === 0 ? entityColumnsIn(project, match.entity, table) : undefined;
      const keys = columns === undefined || match.kind !== 'keys' ? {} : { keys: { columns, keys: match.keys } };
      // An erased subject's event ids go from the log's dedupe memory too (a trimmed entry's ids outlive it there).
      const idColumn = match.kind === 'keys' && (table.kind === 'stream' || table.kind === 'cdc') ? table.eventId : undefined;
      const { eventIds, ...lake } = await purgeLake(ctx, table, predicate, { reason: request.reason, at, dryRun, ...keys, ...(idColumn === undefined ? {} : { eventIdColumn: idColumn }), ...(request.owner === undefined ? {} : { owner: request.owner }) });
      stores.push(lake);
      if (lake.rows > 0) changed.add(table.name);
      if (eventIds !== undefined) erasedIds.set(table.name, eventIds);
    }
    await testPause('purge.lake-done');
    await progress('quarantine and log');
    for (const table of tables) {
      const predicate = matchSql(project, table, match);
      if (predicate !== undefined) stores.push(await purgeQuarantine(ctx, table.name, predicate, dryRun));
      if (table.kind !== 'stream' && table.kind !== 'cdc') continue;
      stores.push(await purgeLog(ctx, table.name, textMatch(project, table, match), dryRun));
      const ids = erasedIds.get(table.name) ?? [];
      if (ids.length > 0) stores.push({ store: `log-ids:${table.name}`, rows: dryRun ? ids.length : await (await ctx.log()).forgetIds(table.name, ids), bytes: 0, filesRewritten: [] });
    }
    await progress('dead-letter');
    for (const table of tables) {
      const parts = match.kind === 'keys' ? project.entities.find((e) => e.name === match.entity)?.joinKeys.length ?? 1 : 1;
      const letters = await ctx.metadata.purge.purgeDeadLetters(table.name, match.kind === 'before' ? { before: match.before } : { containing: match.keys.map((k) => entityKeyParts(k, parts)) }, dryRun);
      if (letters.rows > 0 || table === source) stores.push({ store: `dead-letters:${table.name}`, ...letters, filesRewritten: [] });
      if (match.kind === 'keys') stores.push(...(await purgeCheckSamples(ctx, table.name, match.keys.map((k) => entityKeyParts(k, parts)), dryRun)));
    }
    await progress('online');
    await testPause('purge.online');
    stop.step('online');
    stores.push(...(await purgeOnline(ctx, project, names, match, changed, dryRun)));
    await progress('serving-log');
    // Stop-checked per file: a stop records the rows removed so far (the run that finishes it counts them) and ends the step.
    const servedStop = async (soFar: StorePurge) => (request.signal?.aborted ? progress('serving-log', soFar) : undefined);
    stores.push(await purgeServingLog(ctx, servedRowMatch(project, names, match), dryRun, servedStop));
    await progress('dataset');
    stores.push(...(await purgeDatasets(ctx, project, names, changed, match, request.datasets ?? 'rewrite', request.reason, at, dryRun)));
    // The source's own record holds this run's progress even when its lake lost no row.
    if (!dryRun) await ctx.metadata.purge.clearUnfinishedPurges([...new Set([...changed, source.name])]);
    const result: PurgeReport = {
      source: source.name, reason: request.reason, dryRun, at, stores,
      rows: stores.reduce((n, s) => n + s.rows, 0), bytes: stores.reduce((n, s) => n + s.bytes, 0), leftoverFiles: leftovers.map((p) => p.file),
      resumed: unfinished.map((u) => {
        const step = stoppedStep(u, unfinished);
        // A lake swap counts its rows in its own transaction; a run stopped in its lake step may finish one stopped later, though.
        const uncounted = step === 'lake' ? 'what an earlier run stopped after its lake step removed in the step it stopped in (its lake swaps are counted in rows)' : `what its ${step} step removed before it stopped (this run removed what was left and counts that as its own)`;
        return { source: u.source, reason: u.reason, owner: u.owner, at: u.at, rows: u.rows, stores: u.stores, stoppedIn: step, uncounted };
      }),
    };
    return { result, stats: { rows: result.rows, bytes: result.bytes, stores: stores.length } };
  };
  // A stop while another purge or a materialize holds a lease ends the wait at once: nothing of this purge has started.
  const waitStop = request.signal === undefined ? {} : { signal: request.signal };
  const run = trackRun(ctx, 'purge', { source: source.name, tables: tables.map((t) => t.name), reason: request.reason, match: match.kind, dryRun }, () =>
    withLease(ctx.metadata, `purge:${source.name}`, { waitMs: 600_000, purpose: `a purge of source "${source.name}"`, ...waitStop }, () => withLeases(ctx.metadata, viewLeases, { waitMs: 600_000, ...waitStop }, () => purgeSteps().catch((error: unknown) => { throw stop.failure(error); }))), project);
  const report = await run.finally(() => stop.done()).catch(async (error: unknown) => {
    await ctx.metadata.audit.append({ ...evidence, outcome: 'failed', details: { reason: request.reason, dryRun, match: matchEvidence(ctx, match), error: auditErrorCode(error) } }, ctx.now());
    // What it left unfinished is a problem now, not at the next status; a failure to say so must not hide its own error.
    if (!dryRun) await reportUnfinishedPurges(ctx).catch(() => undefined);
    throw error;
  });
  await ctx.metadata.audit.append({
    ...evidence, outcome: 'succeeded',
    details: {
      reason: request.reason, dryRun, match: matchEvidence(ctx, match), rows: report.rows, bytes: report.bytes, leftoverFiles: report.leftoverFiles.length,
      ...(report.resumed.length === 0 ? {} : { resumed: report.resumed.map((u) => ({ ...u, at: new Date(u.at).toISOString() })) }),
      stores: report.stores.map((s) => ({ store: s.store, rows: s.rows, bytes: s.bytes, files: s.filesRewritten.length, ...(s.snapshots ? { snapshots: s.snapshots.length } : {}), ...(s.tainted ? { tainted: true } : {}), ...(s.byValue ? { byValue: s.byValue } : {}) })),
    },
  }, ctx.now());
  if (!dryRun) await reportUnfinishedPurges(ctx);
  return report;
}
