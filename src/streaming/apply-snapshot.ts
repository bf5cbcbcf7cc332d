import type { SluiceContext } from '../context.js';
import type { Project, Source } from '../definitions/index.js';
import { viewBlockingChecks } from '../quality/view-gate.js';
import type { Snapshot } from '../storage/metadata/metadata-store.js';
import { applyToTable, decodedFor } from './apply-online.js';
import { decodeLakeFiles } from './decode-events.js';
import { holdsSnapshot } from './reflected-snapshot.js';

/** The most rows of one snapshot applied to the online tables at once. */
export const MAX_APPLIED_ROWS = 1_000_000;

/** What applying a committed snapshot to the online store did, per view of its source. */
export interface SnapshotApplied {
  readonly applied: readonly string[];
  /** Views whose tables could not take it, and why (the fix: materialize them). */
  readonly skipped: readonly { readonly view: string; readonly reason: string }[];
}

/**
 * What a command says of a snapshot it applied online: the views updated, and each view left
 * STALE (for a reason other than not being materialized yet) with the materialize that repairs it.
 *
 * @example
 * out.result(result, () => `ingested ...${appliedNote(online)}`);
 */
export function appliedNote(online: SnapshotApplied): string {
  return (online.applied.length > 0 ? `\napplied to the online tables of ${online.applied.join(', ')}` : '') +
    online.skipped.filter((s) => s.reason !== 'not materialized').map((s) => `\nview "${s.view}" was not updated (${s.reason}); run "sluice materialize --views ${s.view}"`).join('');
}

/**
 * Applies the files a committed snapshot added (an ingested file: a backfill) to the online
 * tables of its source's views, so `materialize` is a rebuild and repair tool rather than a step
 * after every ingest. A table takes it only if it holds exactly the snapshot before (its marker, or
 * the log entries of the snapshots since: `holdsSnapshot`; checked in the same transaction as the
 * update); it then reflects `snapshot`. Other tables are skipped
 * with the reason (they say STALE until materialized), as are the tables of views with blocking
 * checks (`viewBlockingChecks`: only a materialize that passes them changes what they serve), and all tables for a snapshot of more
 * than `maxRows` rows (its rows are decoded in memory; `materialize` streams) and for a snapshot
 * that replaces its parent's files instead of adding to them (a transform's full refresh).
 *
 * @example
 * await applySnapshotOnline(platform, project, source, await platform.metadata.snapshot(result.snapshot));
 */
export async function applySnapshotOnline(ctx: SluiceContext, project: Project, source: Source, snapshot: Snapshot, maxRows = MAX_APPLIED_ROWS): Promise<SnapshotApplied> {
  const online = await ctx.online();
  const views = project.featureViews.filter((v) => v.source === source.name);
  const applied: string[] = [];
  const skipped: { view: string; reason: string }[] = [];
  const parent = snapshot.parentId === null ? undefined : await ctx.metadata.snapshot(snapshot.parentId);
  const added = snapshot.files.slice(parent?.files.length ?? 0).map((f) => ctx.lake.resolve(f));
  // A snapshot that replaces files (a transform's full refresh) is no set of added rows: materialize rebuilds from it.
  const appends = (parent?.files ?? []).every((f, i) => snapshot.files[i] === f);
  let decoded: Awaited<ReturnType<typeof decodeLakeFiles>> | undefined;
  for (const view of views) {
    const table = await online.viewInfo(view.name);
    if (table === undefined) {
      skipped.push({ view: view.name, reason: 'not materialized' });
      continue;
    }
    const gate = viewBlockingChecks(view);
    if (gate.length > 0) {
      // Its error checks judge the whole table materialize writes: rows applied here would serve unjudged.
      skipped.push({ view: view.name, reason: `its error ${gate.length === 1 ? 'check' : 'checks'} ${gate.map((c) => `"${c}"`).join(', ')} must pass before its values change, and only materialize runs them` });
      continue;
    }
    if (!appends) {
      skipped.push({ view: view.name, reason: 'the snapshot replaces the table\'s files rather than adding to them' });
      continue;
    }
    if (snapshot.addedRows > maxRows) {
      // The rows are decoded in memory to be applied: a large backfill is materialize's job (it streams).
      skipped.push({ view: view.name, reason: `the snapshot adds ${snapshot.addedRows} rows, more than the ${maxRows} applied online at once` });
      continue;
    }
    // A marker behind the parent is fine when the table holds the snapshots since (log commits).
    const reflected = table.snapshots[source.name]?.id ?? null;
    const holdsParent = parent !== undefined && (await holdsSnapshot(ctx.metadata, table, source.name, parent));
    const follows = (info: typeof table) => (info.snapshots[source.name]?.version ?? 0) === snapshot.version - 1 || (holdsParent && (info.snapshots[source.name]?.id ?? null) === reflected);
    if (!follows(table)) {
      skipped.push({ view: view.name, reason: `its table reflects snapshot version ${table.snapshots[source.name]?.version ?? 0}, not ${snapshot.version - 1}, and does not hold the snapshots in between` });
      continue;
    }
    // Decoded once for the views' row transforms; again for a table that serves another definition.
    if (decoded === undefined || !decodedFor(decoded, table.definition)) decoded = await decodeLakeFiles(await ctx.engine(), source, added, [...views, table.definition]);
    const ref = { id: snapshot.id, version: snapshot.version };
    const after = await applyToTable(online, table, source, decoded, ctx.now(), { snapshots: { [source.name]: ref } }, undefined, { precondition: follows });
    if (after === undefined) skipped.push({ view: view.name, reason: 'its table changed meanwhile' });
    else applied.push(view.name);
  }
  return { applied, skipped };
}
