import { userInfo } from 'node:os';
import { LOCAL_OPERATOR_ROLE } from '../../definitions/index.js';
import type { Principal } from '../principal.js';

/**
 * The local operator of the CLI (`cli:<os user>`, role `local-operator`), until the access layer's
 * `cliPrincipal` names it: masked like any role (grant it clear data with a `local-operator` rule).
 */
export function localPrincipal(): Principal {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // A user id with no passwd entry (some containers): still the local operator.
  }
  return { name: `cli:${user}`, roles: [LOCAL_OPERATOR_ROLE], origin: 'local' };
}
