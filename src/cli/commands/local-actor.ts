import { userInfo } from 'node:os';

/**
 * Who runs a CLI command, for the audit trail: `cli:<os user>`, from `local`.
 *
 * @example
 * await audit.append({ ...localActor(), action: 'residency.refused', ... }, now);
 */
export function localActor(): { actor: string; origin: string } {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container's arbitrary uid): keep $USER.
  }
  return { actor: `cli:${user}`, origin: 'local' };
}
