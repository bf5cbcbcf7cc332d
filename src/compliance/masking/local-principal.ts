import { userInfo } from 'node:os';
import type { Principal } from '../principal.js';

/** The local operator of the CLI (`cli:<os user>`, no role), until the access layer's `cliPrincipal` names it. */
export function localPrincipal(): Principal {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // A user id with no passwd entry (some containers): still the local operator.
  }
  return { name: `cli:${user}`, roles: [], origin: 'local' };
}
