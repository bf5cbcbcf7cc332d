import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { SluiceContext } from '../../context.js';
import { PolicyError } from '../../errors.js';

/** The real path of `path` (symbolic links followed), or of its nearest existing ancestor joined with the rest: an output not written yet. */
function realPath(path: string): string {
  let existing = resolve(path);
  const rest: string[] = [];
  while (!existsSync(existing)) {
    const parent = dirname(existing);
    if (parent === existing) break;
    rest.unshift(basename(existing));
    existing = parent;
  }
  return join(realpathSync(existing), ...rest);
}

/** Whether `path`, symbolic links followed, lies strictly inside `dir` (also followed). */
export function insideDirectory(dir: string, path: string): boolean {
  const rel = relative(realPath(dir), realPath(path));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${'/'}`) && !rel.startsWith('..\\') && !isAbsolute(rel);
}

/**
 * The run-time rule for a path that comes from the definitions (a source's `path` glob, a
 * dataset's `spine` and `out`) or from a file Sluice reads (a dataset manifest): resolved against
 * `projectDir`, it must stay inside it once symbolic links are followed, so a link in the project
 * (`data -> /etc`) cannot lead a job to read or overwrite files elsewhere. Paths the user types
 * on the command line are theirs to point anywhere and do not come here. Returns the absolute
 * path; a refusal is a `POLICY_DENIED` error naming the path, where it leads and the fix, and is
 * recorded in the audit trail with `action`.
 *
 * @example
 * const spine = await confineToProject(ctx, projectDir, 'data/spine.csv', { what: 'dataset "train": spine', action: 'dataset.build', actor: 'scheduler' });
 */
export async function confineToProject(
  ctx: Pick<SluiceContext, 'metadata' | 'now'>, projectDir: string, path: string,
  refusal: { readonly what: string; readonly action: string; readonly actor: string; readonly target?: string },
): Promise<string> {
  const absolute = resolve(projectDir, path);
  if (insideDirectory(projectDir, absolute)) return absolute;
  const leadsTo = realPath(absolute);
  await ctx.metadata.audit.append({
    actor: refusal.actor, action: refusal.action, target: refusal.target ?? `path:${path}`, outcome: 'denied', origin: 'local',
    details: { reason: 'path outside the project directory', path, resolved: leadsTo },
  }, ctx.now());
  throw new PolicyError('POLICY_DENIED', `${refusal.what} ${JSON.stringify(path)} leads to ${leadsTo}, outside the project directory ${realPath(projectDir)} (through a symbolic link or ".."); files named in definitions stay inside the project: move the file into it, or name it on the command line (--file, --spine, --out)`, {
    details: { path, resolved: leadsTo },
  });
}
